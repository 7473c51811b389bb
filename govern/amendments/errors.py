"""The refusal every amendment service raises, naming the form field it belongs to."""


class AmendmentError(ValueError):
    """An action the actor may not take, or input that cannot be accepted.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
