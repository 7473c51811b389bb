"""Named threshold rules: whether a vote passes, and the arithmetic that shows why.

Every comparison uses exact fractions, never floats, so a tie at exactly half
always fails and two-thirds of 30 is exactly 20.
"""

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


class TallyError(ValueError):
    """The counts of a vote are impossible or incomplete; the message says which."""


@dataclass(frozen=True)
class Tally:
    """The counts of one vote.

    `eligible_present` is the attendance recorded before an in-meeting vote;
    `members` the number of voting-eligible members on the roll. Either is
    None where the vote has none.
    """

    yes: int
    no: int
    abstain: int
    eligible_present: int | None = None
    members: int | None = None
    abstentions_count_as_cast: bool = False

    def __post_init__(self) -> None:
        for name in ("yes", "no", "abstain", "eligible_present", "members"):
            value = getattr(self, name)
            if value is None and name in ("eligible_present", "members"):
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise TallyError(gettext("%(name)s must be a whole number.", name=name))
            if value < 0:
                raise TallyError(gettext("%(name)s cannot be negative.", name=name))
        if not isinstance(self.abstentions_count_as_cast, bool):
            raise TallyError(gettext("abstentions_count_as_cast must be true or false."))
        voted = self.yes + self.no + self.abstain
        for base, label in (
            (self.eligible_present, gettext("eligible members present")),
            (self.members, gettext("voting-eligible members")),
        ):
            if base is not None and voted > base:
                raise TallyError(
                    gettext(
                        "%(yes)s yes, %(no)s no and %(abstain)s abstain make %(voted)s votes, "
                        "more than the %(base)s %(label)s.",
                        yes=self.yes,
                        no=self.no,
                        abstain=self.abstain,
                        voted=voted,
                        base=base,
                        label=label,
                    )
                )
        present, members = self.eligible_present, self.members
        if present is not None and members is not None and present > members:
            raise TallyError(gettext("More eligible members present than voting-eligible members."))

    @property
    def cast(self) -> int:
        return self.yes + self.no + (self.abstain if self.abstentions_count_as_cast else 0)


@dataclass(frozen=True)
class Decision:
    passed: bool
    rule: str
    arithmetic: str


@dataclass(frozen=True)
class Threshold:
    name: str
    description: LazyString
    decide_tally: Callable[[Tally], Decision]
    # Stage kinds this rule can decide: attendance exists only at a meeting.
    stage_kinds: frozenset[str]
    # Whether the procedure's abstention setting changes the result.
    counts_votes_cast: bool

    def decide(self, tally: Tally) -> Decision:
        return self.decide_tally(tally)


def format_number(value: Fraction) -> str:
    """12, 12.5, 20 2/3: halves as decimals, other fractions as a mixed number."""
    if value.denominator == 1:
        return str(value.numerator)
    if value.denominator == 2:
        return f"{value.numerator // 2}.5"
    whole, rest = divmod(value.numerator, value.denominator)
    return f"{whole} {rest}/{value.denominator}" if whole else f"{rest}/{value.denominator}"


def _more_than_half(yes: int, base: int, counted: str) -> tuple[bool, str]:
    half = Fraction(base, 2)
    if yes > half:
        return True, gettext(
            "%(counted)s: %(yes)s > %(half)s, passes",
            counted=counted,
            yes=yes,
            half=format_number(half),
        )
    return False, gettext(
        "%(counted)s: %(yes)s is not more than %(half)s, fails",
        counted=counted,
        yes=yes,
        half=format_number(half),
    )


def _majority_of_present(tally: Tally) -> Decision:
    present = tally.eligible_present
    if present is None:
        raise TallyError(gettext("This rule needs the number of eligible members present."))
    if present == 0:
        return Decision(False, "majority_of_present", gettext("No eligible members present: fails"))
    counted = ngettext(
        "%(yes)s yes of %(num)s eligible member present",
        "%(yes)s yes of %(num)s eligible members present",
        present,
        yes=tally.yes,
    )
    passed, arithmetic = _more_than_half(tally.yes, present, counted)
    return Decision(passed, "majority_of_present", arithmetic)


def _majority_of_members(tally: Tally) -> Decision:
    members = tally.members
    if members is None:
        raise TallyError(gettext("This rule needs the number of voting-eligible members."))
    if members == 0:
        return Decision(False, "majority_of_members", gettext("No voting-eligible members: fails"))
    counted = ngettext(
        "%(yes)s yes of %(num)s voting-eligible member",
        "%(yes)s yes of %(num)s voting-eligible members",
        members,
        yes=tally.yes,
    )
    passed, arithmetic = _more_than_half(tally.yes, members, counted)
    return Decision(passed, "majority_of_members", arithmetic)


def _counts(tally: Tally) -> str:
    """'31 yes, 20 no' and, when anyone abstained, how abstentions were counted."""
    if not tally.abstain:
        return gettext("%(yes)s yes, %(no)s no", yes=tally.yes, no=tally.no)
    if tally.abstentions_count_as_cast:
        policy = gettext("abstentions counted as votes cast")
    else:
        policy = gettext("abstentions not counted as votes cast")
    return gettext(
        "%(yes)s yes, %(no)s no, %(abstain)s abstain; %(policy)s",
        yes=tally.yes,
        no=tally.no,
        abstain=tally.abstain,
        policy=policy,
    )


def _cast(tally: Tally) -> str:
    if tally.cast == 0:
        return gettext("%(counts)s; no votes cast: fails", counts=_counts(tally))
    return ngettext(
        "%(counts)s; %(num)s vote cast",
        "%(counts)s; %(num)s votes cast",
        tally.cast,
        counts=_counts(tally),
    )


def _majority_of_cast(tally: Tally) -> Decision:
    if tally.cast == 0:
        return Decision(False, "majority_of_cast", _cast(tally))
    passed, arithmetic = _more_than_half(tally.yes, tally.cast, _cast(tally))
    return Decision(passed, "majority_of_cast", arithmetic)


def _two_thirds_of_cast(tally: Tally) -> Decision:
    # Robert's Rules: at least two-thirds of the votes cast, so exactly 2/3 passes.
    if tally.cast == 0:
        return Decision(False, "two_thirds_of_cast", _cast(tally))
    needed = Fraction(tally.cast * 2, 3)
    passed = tally.yes >= needed
    values = {
        "counted": _cast(tally),
        "cast": tally.cast,
        "needed": format_number(needed),
        "yes": tally.yes,
    }
    if passed:
        text = gettext(
            "%(counted)s; 2/3 of %(cast)s = %(needed)s: %(yes)s ≥ %(needed)s, passes", **values
        )
    else:
        text = gettext(
            "%(counted)s; 2/3 of %(cast)s = %(needed)s: %(yes)s is less than %(needed)s, fails",
            **values,
        )
    return Decision(passed, "two_thirds_of_cast", text)


MEETING_ONLY = frozenset({"meeting_vote"})
ANY_VOTE = frozenset({"meeting_vote", "ballot"})

THRESHOLDS: dict[str, Threshold] = {
    rule.name: rule
    for rule in (
        Threshold(
            "majority_of_present",
            _l(
                "The vote passes if more than half of the voting-eligible members present "
                "vote yes. Members present who abstain or do not vote count against; a tie fails."
            ),
            _majority_of_present,
            MEETING_ONLY,
            counts_votes_cast=False,
        ),
        Threshold(
            "majority_of_cast",
            _l("The vote passes if more than half of the votes cast are yes; a tie fails."),
            _majority_of_cast,
            ANY_VOTE,
            counts_votes_cast=True,
        ),
        Threshold(
            "two_thirds_of_cast",
            _l("The vote passes if at least two-thirds of the votes cast are yes."),
            _two_thirds_of_cast,
            ANY_VOTE,
            counts_votes_cast=True,
        ),
        Threshold(
            "majority_of_members",
            _l(
                "The vote passes if more than half of all voting-eligible members vote yes, "
                "whether or not the others vote; a tie fails."
            ),
            _majority_of_members,
            ANY_VOTE,
            counts_votes_cast=False,
        ),
    )
}


def get_threshold(name: str) -> Threshold:
    try:
        return THRESHOLDS[name]
    except (KeyError, TypeError):
        raise ValueError(
            gettext(
                'There is no threshold rule named "%(name)s"; the rules are: %(rules)s.',
                name=name,
                rules=", ".join(THRESHOLDS),
            )
        ) from None


def decide(rule: str, tally: Tally) -> Decision:
    return get_threshold(rule).decide(tally)
