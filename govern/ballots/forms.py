"""The ballot's forms: the voting code from the mail, and the choice."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired

from govern.ballots.models import Choice

CHOICE_LABELS = {
    Choice.YES: _l("Yes"),
    Choice.NO: _l("No"),
    Choice.ABSTAIN: _l("Abstain"),
}


class VotingCodeForm(FlaskForm):
    """The code from the ballot mail: the page's script fills it in from the link."""

    token = StringField(
        _l("Voting code"),
        description=_l("The voting code is in your ballot mail, below your personal link."),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(_l("Enter the voting code from your ballot mail."))],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
    )


class ChoiceForm(FlaskForm):
    """A choice on the ballot; `token` is carried along when the voter came by link."""

    token = HiddenField()
    choice = RadioField(
        _l("Your vote"),
        choices=[(choice.value, label) for choice, label in CHOICE_LABELS.items()],
        validators=[InputRequired(_l("Choose yes, no or abstain."))],
    )
