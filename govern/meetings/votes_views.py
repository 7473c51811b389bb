"""The pages of an in-meeting vote: the chair's, the member's ballot, and the result."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField
from wtforms.validators import InputRequired, NumberRange

from govern.amendments.errors import AmendmentError
from govern.extensions import db
from govern.forms import ActionForm
from govern.meetings import votes
from govern.meetings.attendance import eligible_present_count
from govern.meetings.models import AgendaItem, MeetingVote, VoteMode
from govern.procedures.states import IllegalTransition, State
from govern.procedures.thresholds import get_threshold

bp = Blueprint("meeting_votes", __name__)

REFUSED = (votes.MeetingVoteError, AmendmentError, IllegalTransition)


class OpenVoteForm(FlaskForm):
    mode = RadioField(
        _l("How the meeting votes"),
        choices=[(mode.value, label) for mode, label in votes.MODE_LABELS.items()],
        default=VoteMode.HAND_COUNT.value,
        validators=[InputRequired(_l("Choose how the meeting votes."))],
    )


def _count_field(label):
    return IntegerField(
        label,
        validators=[
            InputRequired(_l("Give a number, 0 if nobody.")),
            NumberRange(min=0, message=_l("A count cannot be negative.")),
        ],
    )


class HandCountForm(FlaskForm):
    yes = _count_field(_l("Yes"))
    no = _count_field(_l("No"))
    abstain = _count_field(_l("Abstain"))


class CastVoteForm(FlaskForm):
    choice = RadioField(
        _l("Your vote"),
        choices=[(choice.value, label) for choice, label in votes.CHOICE_LABELS.items()],
        validators=[InputRequired(_l("Choose yes, no or abstain."))],
    )


@bp.before_request
def _members_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


@bp.app_template_global()
def item_vote(item: AgendaItem) -> MeetingVote | None:
    return votes.latest_vote(item) if item.amendment_id else None


@bp.app_template_global()
def may_run_item_vote(item: AgendaItem) -> bool:
    return current_user.is_authenticated and votes.may_run_vote(item, current_user)


# The chair's pages -------------------------------------------------------------------------


@bp.route("/meetings/items/<id:item_id>/vote")
def run(item_id: int):
    item = _chair_item(item_id)
    return _run_page(item)


@bp.route("/meetings/items/<id:item_id>/vote/open", methods=["POST"])
def open_vote(item_id: int):
    item = _chair_item(item_id)
    form = OpenVoteForm()
    if not form.validate_on_submit():
        return _run_page(item, open_form=form), 400
    try:
        votes.open_vote(item, current_user, form.mode.data)
    except REFUSED as error:
        db.session.rollback()
        return _run_page(item, error=str(error)), 400
    db.session.commit()
    flash(gettext("The vote is open."), "success")
    return redirect(url_for(".run", item_id=item.id))


@bp.route("/meeting-votes/<id:vote_id>/hand-count", methods=["POST"])
def record_hand_count(vote_id: int):
    vote = _chair_vote(vote_id)
    form = HandCountForm()
    if not form.validate_on_submit():
        return _run_page(vote.agenda_item, count_form=form), 400
    try:
        votes.record_hand_count(vote, current_user, form.yes.data, form.no.data, form.abstain.data)
    except REFUSED as error:
        db.session.rollback()
        return _run_page(vote.agenda_item, count_form=form, error=str(error)), 400
    db.session.commit()
    return redirect(url_for(".result", vote_id=vote.id))


@bp.route("/meeting-votes/<id:vote_id>/close", methods=["GET", "POST"])
def close(vote_id: int):
    """Closing is irreversible, so the button on the chair's page leads here to confirm."""
    vote = _chair_vote(vote_id)
    if vote.closed_at is not None:
        return redirect(url_for(".result", vote_id=vote.id))
    if vote.mode != VoteMode.ELECTRONIC:
        return _refused(400, gettext("A hand count closes when the chair records it."))
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template(
            "meetings/vote_close.html",
            vote=vote,
            form=form,
            voted=votes.voter_count(vote),
        )
    try:
        votes.close_vote(vote, current_user)
    except REFUSED as error:
        db.session.rollback()
        return _refused(400, str(error))
    db.session.commit()
    return redirect(url_for(".result", vote_id=vote.id))


# The member's ballot and the result ---------------------------------------------------------


@bp.route("/meeting-votes/<id:vote_id>/ballot", methods=["GET", "POST"])
def ballot(vote_id: int):
    vote = db.session.get(MeetingVote, vote_id) or abort(404)
    if vote.closed_at is not None:
        return redirect(url_for(".result", vote_id=vote.id))
    if vote.mode != VoteMode.ELECTRONIC:
        return _refused(400, gettext("This vote is a hand count: raise your hand in the room."))
    if votes.has_voted(vote, current_user):
        status = 400 if _is_post() else 200
        return render_template("meetings/vote_ballot.html", vote=vote, has_voted=True), status
    try:
        votes.check_may_vote(vote, current_user)
    except votes.MeetingVoteError as error:
        return _refused(403, str(error))
    form = CastVoteForm()
    if not form.validate_on_submit():
        status = 400 if _is_post() else 200
        return render_template("meetings/vote_ballot.html", vote=vote, form=form), status
    try:
        votes.cast_vote(vote, current_user, form.choice.data)
    except REFUSED as error:
        db.session.rollback()
        return render_template(
            "meetings/vote_ballot.html", vote=vote, has_voted=True, error=str(error)
        ), 400
    db.session.commit()
    flash(gettext("Your vote was recorded."), "success")
    return redirect(url_for(".ballot", vote_id=vote.id))


@bp.route("/meeting-votes/<id:vote_id>")
def result(vote_id: int):
    vote = db.session.get(MeetingVote, vote_id) or abort(404)
    threshold = get_threshold(vote.rule) if vote.rule else None
    return render_template(
        "meetings/vote_result.html",
        vote=vote,
        threshold=threshold,
        mode_label=votes.MODE_LABELS[VoteMode(vote.mode)],
        voted=votes.voter_count(vote) if vote.closed_at is None else None,
    )


# Helpers ------------------------------------------------------------------------------------


def _chair_item(item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id) or abort(404)
    if item.amendment is None:
        abort(404)
    if not votes.may_run_vote(item, current_user):
        abort(403)
    return item


def _chair_vote(vote_id: int) -> MeetingVote:
    vote = db.session.get(MeetingVote, vote_id) or abort(404)
    if not votes.may_run_vote(vote.agenda_item, current_user):
        abort(403)
    return vote


def _run_page(item: AgendaItem, open_form=None, count_form=None, error: str | None = None):
    vote = votes.latest_vote(item)
    is_open = vote is not None and vote.closed_at is None
    can_open = not is_open and item.amendment.state == State.DISCUSSION_SCHEDULED
    return render_template(
        "meetings/vote_run.html",
        item=item,
        vote=vote,
        is_open=is_open,
        open_form=(open_form or OpenVoteForm()) if can_open else None,
        count_form=count_form or HandCountForm(formdata=None),
        action_form=ActionForm(),
        voted=votes.voter_count(vote) if is_open else None,
        present=eligible_present_count(item.meeting),
        error=error,
        mode_labels=votes.MODE_LABELS,
    )


def _refused(code: int, message: str):
    return render_template("error.html", code=code, message=message), code


def _is_post() -> bool:
    return request.method == "POST"
