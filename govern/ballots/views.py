"""The ballot pages: opening, the ballot page with turnout and result, reminders, new links.

Voting itself, by the mailed link or signed in, is in `voting_views`.
"""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from govern import clock
from govern.amendments import services as amendments
from govern.amendments.errors import AmendmentError
from govern.amendments.models import Amendment
from govern.amendments.views import load_amendment
from govern.ballots import closing, running
from govern.ballots import services as ballots
from govern.ballots.charts import result_chart, turnout_chart
from govern.ballots.forms import CHOICE_LABELS, ChoiceForm
from govern.ballots.mail import ballot_mail
from govern.ballots.models import Ballot, Choice, RollEntry
from govern.documents.diff import diff_texts
from govern.extensions import db, limiter
from govern.forms import ActionForm
from govern.procedures.stages import Event, StageKind
from govern.procedures.states import STATE_LABELS, IllegalTransition, State, describe_stage
from govern.procedures.thresholds import get_threshold

bp = Blueprint("ballots", __name__)

REFUSED = (ballots.BallotError, AmendmentError, IllegalTransition)


@bp.after_request
def _keep_private(response: Response) -> Response:
    # A voting page can carry its voter's token: no other site learns where the voter came
    # from, and no cache or back button keeps the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def load_ballot(ballot_id: int) -> Ballot:
    return db.session.get(Ballot, ballot_id) or abort(404)


def refused(ballot: Ballot | None, code: int, message: str):
    """Why nothing was done, with the way back to the ballot."""
    return render_template("ballots/refused.html", ballot=ballot, message=message), code


# Opening ----------------------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>/ballot/open", methods=["GET", "POST"])
@login_required
def open_ballot(amendment_id: int):
    """Opening freezes the roll and mails every member: the page shows all of it first."""
    amendment = load_amendment(amendment_id)
    if not amendments.may_act(amendment, current_user, Event.OPEN_BALLOT):
        if amendments.is_named(amendment, current_user, Event.OPEN_BALLOT):
            return refused(None, 403, str(amendments.NOT_ON_OWN_PROPOSAL[Event.OPEN_BALLOT]))
        abort(403)
    if not ballots.is_waiting_for_ballot(amendment):
        existing = ballots.ballot_of(amendment)
        message = gettext(
            "This amendment is not waiting for its ballot: it is %(state)s.",
            state=STATE_LABELS[State(amendment.state)],
        )
        return refused(existing, 409, message)
    form = ActionForm()
    if request.method == "GET":
        return _opening_page(amendment, form)
    try:
        ballot = ballots.open_ballot(amendment, current_user)
        db.session.commit()
    except REFUSED as error:
        db.session.rollback()
        return _opening_page(amendment, form, str(error)), 409
    except IntegrityError:
        db.session.rollback()
        message = gettext("Someone else opened this ballot at the same moment; nothing changed.")
        return refused(ballots.ballot_of(amendment), 409, message)
    flash(
        gettext(
            "The ballot is open: %(size)s members are on the roll, and each gets a personal "
            "link by mail.",
            size=ballot.roll_size,
        ),
        "success",
    )
    return redirect(url_for(".show", ballot_id=ballot.id))


def _opening_page(amendment: Amendment, form: ActionForm, error: str | None = None):
    try:
        opening = ballots.preview_opening(amendment)
    except ballots.BallotError as refusal:
        return refused(None, 409, str(refusal))
    # Never added to the session: nothing is written by looking.
    preview = Ballot(amendment=amendment, closes_at=opening.closes_at, roll_call=opening.roll_call)
    subject, body = ballot_mail(preview, None, None)
    procedure = amendment.procedure
    return render_template(
        "ballots/open.html",
        amendment=amendment,
        opening=opening,
        subject=subject,
        body=body,
        rule=describe_stage(procedure, procedure.stage(StageKind.BALLOT)),
        form=form,
        error=error,
    )


# The ballot page ---------------------------------------------------------------------------


@bp.route("/ballots/<id:ballot_id>")
def show(ballot_id: int):
    if not current_app.config["DOCUMENTS_PUBLIC"] and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    ballot = load_ballot(ballot_id)
    # Opened after the closing time, before the worker came by: the page shows the result.
    closing.close_if_due(ballot)
    entry = None
    if current_user.is_authenticated:
        entry = ballots.entry_for_member(ballot, current_user)
    return ballot_page(ballot, entry)


def ballot_page(
    ballot: Ballot,
    entry: RollEntry | None,
    token: str | None = None,
    form: ChoiceForm | None = None,
    error: str | None = None,
):
    """The ballot, for anyone who may read it; with the choice form for `entry` while it may
    vote, turnout for receivers while open, the result once closed."""
    amendment = ballot.amendment
    procedure = amendment.procedure
    is_open = ballot.is_open_at(clock.now())
    # A voter who came by link sees the ballot as a voter, whoever is signed in.
    may_run = token is None and current_user.is_authenticated
    may_run = may_run and running.may_run_ballot(ballot, current_user)
    context = {
        "ballot": ballot,
        "amendment": amendment,
        "diff": diff_texts(amendment.frozen_base_text, amendment.frozen_text),
        "rule": describe_stage(procedure, procedure.stage(StageKind.BALLOT)),
        "is_open": is_open,
        "entry": entry,
        "voter": entry.member if entry else None,
        "token": token,
        "form": form or ChoiceForm(formdata=None, data={"token": token}),
        "action_form": ActionForm(),
        "may_run": may_run,
        "error": error,
        "choice_labels": CHOICE_LABELS,
    }
    if is_open and may_run:
        turnout = running.turnout(ballot)
        context.update(
            turnout=turnout,
            chart=turnout_chart(running.turnout_over_time(ballot), ballot.roll_size),
            mail=running.mail_status_counts(ballot),
            undelivered=running.undelivered_count(ballot),
            not_voted=ballot.roll_size - turnout.voted,
        )
    if ballot.is_closed:
        counts = [(choice, getattr(ballot, choice.value)) for choice in Choice]
        context.update(
            result=result_chart(counts),
            threshold=get_threshold(ballot.rule) if ballot.rule else None,
            receipts=closing.receipt_codes(ballot),
            roll_call=closing.roll_call(ballot) if ballot.roll_call else None,
        )
    return render_template("ballots/show.html", **context)


# During the ballot: new links, reminders -------------------------------------------------------


def _link_rate_limit() -> str:
    return current_app.config["BALLOT_LINK_RATE_LIMIT"]


def _signed_in_member() -> str:
    return f"member:{current_user.get_id() or request.remote_addr}"


@bp.route("/ballots/<id:ballot_id>/new-link", methods=["POST"])
@login_required
@limiter.limit(_link_rate_limit, key_func=_signed_in_member)
def new_link(ballot_id: int):
    ballot = load_ballot(ballot_id)
    entry = ballots.entry_for_member(ballot, current_user)
    if entry is None:
        return refused(ballot, 403, not_on_roll_message())
    try:
        running.request_new_link(entry)
        db.session.commit()
    except ballots.BallotError as error:
        db.session.rollback()
        return refused(ballot, 409, str(error))
    flash(gettext("A new link is on its way; the old one no longer works."), "success")
    return redirect(url_for(".show", ballot_id=ballot.id))


def not_on_roll_message() -> str:
    return gettext(
        "You are not on this ballot's roll: it holds the members who were in good standing "
        "when the ballot opened, and only they vote."
    )


@bp.route("/ballots/<id:ballot_id>/remind", methods=["GET", "POST"])
@login_required
def remind(ballot_id: int):
    ballot = _running_ballot(ballot_id)
    form = ActionForm()
    if request.method == "GET":
        return render_template(
            "ballots/remind.html",
            ballot=ballot,
            not_voted=running.not_voted_count(ballot),
            form=form,
        )
    try:
        running.remind(ballot, current_user)
        db.session.commit()
    except ballots.BallotError as error:
        db.session.rollback()
        return refused(ballot, 409, str(error))
    flash(gettext("The reminder is on its way to the members who have not voted."), "success")
    return redirect(url_for(".show", ballot_id=ballot.id))


@bp.route("/ballots/<id:ballot_id>/resend", methods=["POST"])
@login_required
def resend(ballot_id: int):
    ballot = _running_ballot(ballot_id)
    try:
        count = running.resend_undelivered(ballot, current_user)
        db.session.commit()
    except ballots.BallotError as error:
        db.session.rollback()
        return refused(ballot, 409, str(error))
    flash(
        gettext("New links are on their way to %(count)s members.", count=count),
        "success",
    )
    return redirect(url_for(".show", ballot_id=ballot.id))


def _running_ballot(ballot_id: int) -> Ballot:
    """The ballot, if the signed-in member is one of its receivers and it is still open."""
    ballot = load_ballot(ballot_id)
    if not running.may_run_ballot(ballot, current_user):
        abort(403)
    if not ballot.is_open_at(clock.now()):
        abort(make_response(refused(ballot, 409, ballots.closed_message(ballot))))
    return ballot


from govern.ballots import voting_views  # noqa: E402, F401  (registers its routes on bp)
