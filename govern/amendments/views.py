"""The amendment pages: the list, the inbox, the amendment page and its actions, comments."""

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
from sqlalchemy import or_, select

from govern.amendments import rebasing, services
from govern.amendments.comments import add_comment, render_comment, why_comments_are_closed
from govern.amendments.errors import AmendmentError
from govern.amendments.forms import (
    ALL_RECEIVERS,
    CommentForm,
    ResolveConflictsForm,
    SubmitAmendmentForm,
)
from govern.amendments.models import Amendment, TimelineEntry
from govern.ballots import services as ballots
from govern.documents import services as documents
from govern.documents.diff import diff_texts
from govern.documents.models import Document
from govern.extensions import db
from govern.forms import ActionForm
from govern.members.models import Member, Role
from govern.members.permissions import role_required
from govern.procedures.stages import Event
from govern.procedures.states import (
    EVENT_LABELS,
    STATE_LABELS,
    IllegalTransition,
    State,
    allowed_events,
    can_be_revised,
    has_voting_started,
    is_final,
    what_happens_next,
)
from govern.web import get_by_id, page_number

bp = Blueprint("amendments", __name__)

PAGE_SIZE = 25
TIMELINE_LABELS = {
    **EVENT_LABELS,
    TimelineEntry.STARTED: _l("Draft started"),
    TimelineEntry.UPDATED: _l("Draft edited"),
    TimelineEntry.REBASED: _l("Rebased"),
    TimelineEntry.REVISED: _l("Revised"),
}
REFUSED = (AmendmentError, IllegalTransition)
# Where a procedure can open the ballot from: after acknowledgement (a vote of the membership
# alone) or after the meeting vote passed; the procedure of each decides.
STATES_BEFORE_BALLOT = [State.ACKNOWLEDGED, State.DISCUSSION_SCHEDULED, State.MEETING_VOTE_PASSED]


@bp.before_request
def _members_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def load_amendment(amendment_id: int) -> Amendment:
    """The amendment, if the member may see it: a draft only its proposer sees."""
    amendment = db.session.get(Amendment, amendment_id) or abort(404)
    if amendment.state == State.DRAFT and amendment.proposer_id != current_user.id:
        abort(404)
    return amendment


# The list and the inbox -------------------------------------------------------------------


@bp.route("/amendments/")
def index():
    state = request.args.get("state", "")
    slug = request.args.get("document", "")
    query = request.args.get("q", "").strip()[:200]
    statement = select(Amendment).where(
        or_(Amendment.state != State.DRAFT, Amendment.proposer_id == current_user.id)
    )
    if state in STATE_LABELS:
        statement = statement.where(Amendment.state == state)
    if slug:
        statement = statement.join(Document).where(Document.slug == slug)
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Amendment.title.ilike(f"%{escaped}%", escape="\\"))
    statement = statement.order_by(Amendment.updated_at.desc(), Amendment.id.desc())
    page = db.paginate(statement, page=page_number(), per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "amendments/index.html",
        page=page,
        state=state,
        document_slug=slug,
        query=query,
        documents=documents.all_documents(),
        state_labels=STATE_LABELS,
    )


@bp.route("/amendments/inbox")
@role_required(Role.RECEIVER)
def inbox():
    """What waits for a receiver: submissions to acknowledge, then discussions to schedule."""
    to_acknowledge = (
        select(Amendment)
        .where(
            Amendment.state == State.SUBMITTED,
            Amendment.proposer_id != current_user.id,
            or_(Amendment.addressed_to_id.is_(None), Amendment.addressed_to_id == current_user.id),
        )
        .order_by(Amendment.submitted_at, Amendment.id)
    )
    # Any receiver may schedule; whether the procedure has a discussion shows in the state.
    to_schedule = (
        select(Amendment)
        .where(Amendment.state.in_([State.ACKNOWLEDGED, State.DISCUSSION_SCHEDULED]))
        .order_by(Amendment.updated_at, Amendment.id)
    )
    return render_template(
        "amendments/inbox.html",
        amendments=db.session.scalars(to_acknowledge).all(),
        to_schedule=[
            amendment
            for amendment in db.session.scalars(to_schedule)
            if Event.SCHEDULE_DISCUSSION in allowed_events(amendment.procedure, amendment.state)
            # Scheduled already, unless its meeting was cancelled or ended without a vote.
            and services.discussion_meeting(amendment) is None
        ],
        to_open=_waiting_for_ballot(),
        state_labels=STATE_LABELS,
        action_form=ActionForm(),
    )


def _waiting_for_ballot() -> list[Amendment]:
    """Amendments whose next step is their electronic ballot, which this receiver may open."""
    statement = (
        select(Amendment)
        .where(Amendment.state.in_(STATES_BEFORE_BALLOT))
        .order_by(Amendment.updated_at, Amendment.id)
    )
    return [
        amendment
        for amendment in db.session.scalars(statement)
        if ballots.is_waiting_for_ballot(amendment)
        and services.may_act(amendment, current_user, Event.OPEN_BALLOT)
    ]


# The amendment page -----------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>")
def show(amendment_id: int):
    return amendment_page(load_amendment(amendment_id))


def amendment_page(
    amendment: Amendment, error: str | None = None, submit_form=None, comment_form=None
):
    if amendment.is_frozen:
        diff = diff_texts(amendment.frozen_base_text, amendment.frozen_text)
    else:
        diff = diff_texts(amendment.base_version.text, amendment.proposed_text)
    status = rebasing.base_status(amendment)
    if submit_form is None:
        submit_form = SubmitAmendmentForm(formdata=None)
    submit_form.set_receivers(amendment.proposer)
    return render_template(
        "amendments/show.html",
        amendment=amendment,
        diff=diff,
        status=status,
        state_label=STATE_LABELS[State(amendment.state)],
        next_sentence=what_happens_next(amendment.procedure, amendment.state),
        timeline_labels=TIMELINE_LABELS,
        state_labels=STATE_LABELS,
        can=_permitted_actions(amendment, status),
        submit_form=submit_form,
        resolve_form=ResolveConflictsForm(
            formdata=None, data={"resolved_text": status.in_force.text}
        ),
        action_form=ActionForm(),
        comments=[(comment, render_comment(comment.body)) for comment in amendment.comments],
        comments_closed=why_comments_are_closed(amendment),
        comment_form=comment_form or CommentForm(formdata=None),
        ballot=ballots.ballot_of(amendment),
        error=error,
    )


def _permitted_actions(amendment: Amendment, status: rebasing.BaseStatus) -> set[str]:
    """The buttons to show; the services still decide, these only spare useless buttons."""
    events = allowed_events(amendment.procedure, amendment.state)
    me = current_user
    is_proposer = amendment.proposer_id == me.id
    can = set()
    if is_proposer:
        if amendment.state == State.DRAFT:
            can.add("edit")
        if Event.SUBMIT in events and me.is_eligible:
            can.add("submit")
        if Event.WITHDRAW in events:
            can.add("withdraw")
        if can_be_revised(amendment.state) and amendment.revised_by is None and me.is_eligible:
            can.add("revise")
        is_open = not (is_final(amendment.state) or has_voting_started(amendment.state))
        if status.is_stale and is_open and not amendment.is_frozen:
            can.add("resolve" if status.has_conflicts else "rebase")
    addressee = amendment.addressed_to
    if (
        Event.ACKNOWLEDGE in events
        and not is_proposer
        and me.has_role(Role.RECEIVER)
        and me.is_eligible
        and (addressee is None or addressee.id == me.id or not addressee.is_eligible)
    ):
        can.add("acknowledge")
    if (
        Event.SCHEDULE_DISCUSSION in events
        and services.may_act(amendment, me, Event.SCHEDULE_DISCUSSION)
        and services.discussion_meeting(amendment) is None
    ):
        can.add("schedule")
    if ballots.is_waiting_for_ballot(amendment) and services.may_act(
        amendment, me, Event.OPEN_BALLOT
    ):
        can.add("open_ballot")
    return can


# Actions ----------------------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>/submit", methods=["POST"])
def submit(amendment_id: int):
    amendment = load_amendment(amendment_id)
    form = SubmitAmendmentForm()
    choose = gettext("Choose a receiver from the list, or all receivers.")
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            return amendment_page(amendment, gettext("The form expired; try again.")), 400
        return amendment_page(amendment, choose, form), 400
    addressed_to = None
    if form.addressed_to.data != ALL_RECEIVERS:
        addressed_to = get_by_id(Member, form.addressed_to.data)
        if addressed_to is None:
            return amendment_page(amendment, choose, form), 400
    return _act(
        amendment,
        lambda: services.submit(amendment, current_user, addressed_to),
        gettext("Your proposal is submitted."),
        form,
    )


@bp.route("/amendments/<id:amendment_id>/withdraw", methods=["GET", "POST"])
def withdraw(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if request.method == "GET":
        if amendment.proposer_id != current_user.id:
            abort(403)
        if Event.WITHDRAW not in allowed_events(amendment.procedure, amendment.state):
            refused = IllegalTransition(
                State(amendment.state),
                Event.WITHDRAW,
                allowed_events(amendment.procedure, amendment.state),
            )
            return amendment_page(amendment, str(refused)), 400
        return render_template(
            "amendments/withdraw.html", amendment=amendment, action_form=ActionForm()
        )
    return _act(
        amendment,
        lambda: services.withdraw(amendment, current_user),
        gettext("Your proposal is withdrawn."),
    )


@bp.route("/amendments/<id:amendment_id>/acknowledge", methods=["POST"])
def acknowledge(amendment_id: int):
    amendment = load_amendment(amendment_id)
    return _act(
        amendment,
        lambda: services.acknowledge(amendment, current_user),
        gettext("You acknowledged the proposal; its proposer and the receivers are told."),
    )


@bp.route("/amendments/<id:amendment_id>/rebase", methods=["POST"])
def rebase(amendment_id: int):
    amendment = load_amendment(amendment_id)
    # With conflicts, the proposer sends the whole text resolved against the new version.
    resolved_text = ResolveConflictsForm().resolved_text.data or None
    return _act(
        amendment,
        lambda: rebasing.rebase(amendment, current_user, resolved_text),
        gettext("Your proposal is now based on the version in force."),
    )


@bp.route("/amendments/<id:amendment_id>/revise", methods=["POST"])
def revise(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if not ActionForm().validate_on_submit():
        return amendment_page(amendment, gettext("The form expired; try again.")), 400
    try:
        draft = services.revise(amendment, current_user)
    except REFUSED as error:
        db.session.rollback()
        return amendment_page(amendment, str(error)), 400
    db.session.commit()
    flash(gettext("A new draft revises #%(number)s; edit it, then submit it.", number=amendment.id))
    return redirect(url_for(".edit", amendment_id=draft.id))


def _act(amendment: Amendment, action, done: str, submit_form=None):
    """Run one service; commit and go back to the page, or show why nothing changed."""
    if submit_form is None and not ActionForm().validate_on_submit():
        return amendment_page(amendment, gettext("The form expired; try again.")), 400
    try:
        action()
    except REFUSED as error:
        db.session.rollback()
        return amendment_page(amendment, str(error), submit_form), 400
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".show", amendment_id=amendment.id))


# The written discussion -------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>/comments", methods=["POST"])
def comment(amendment_id: int):
    amendment = load_amendment(amendment_id)
    # CSRF is checked app-wide before this; the service checks the body.
    form = CommentForm()
    try:
        posted = add_comment(amendment, current_user, form.body.data or "", form.form_token.data)
    except AmendmentError as error:
        db.session.rollback()
        if error.field == "body":
            form.body.errors = [*form.body.errors, str(error)]
            return amendment_page(amendment, comment_form=form), 400
        return amendment_page(amendment, str(error), comment_form=form), 400
    db.session.commit()
    flash(gettext("Your comment is posted."), "success")
    return redirect(url_for(".show", amendment_id=amendment.id, _anchor=f"comment-{posted.id}"))


from govern.amendments import drafting_views  # noqa: E402, F401  (registers its routes on bp)
