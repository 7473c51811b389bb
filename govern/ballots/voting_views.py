"""Voting: by the mailed link or its code without signing in, or signed in; then confirm,
cast, and the receipt.

The token travels in form fields only, never in an address, a redirect, a log line or a
flash message: the link puts it after "#", where the browser keeps it, and the page's
script posts it.
"""

from flask import abort, current_app, make_response, render_template, request
from flask_babel import gettext
from flask_login import current_user

from govern.ballots import services as ballots
from govern.ballots.forms import CHOICE_LABELS, ChoiceForm, VotingCodeForm
from govern.ballots.models import Ballot, Choice, RollEntry
from govern.ballots.views import (
    ballot_page,
    bp,
    load_ballot,
    not_on_roll_message,
    refused,
)
from govern.extensions import db, limiter
from govern.forms import ActionForm


def _token_rate_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


# Only a token that finds no roll entry counts against the client: many members voting from
# one office network share an address and are never blocked, while guessing is.
_failed_token_limit = limiter.shared_limit(
    _token_rate_limit,
    scope="ballot-token",
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 404,
)


def link_not_working():
    return render_template("ballots/link_not_working.html"), 404


@bp.route("/ballots/vote", methods=["GET", "POST"])
@_failed_token_limit
def vote():
    """The page the mailed link opens; posted, the ballot of the token's member."""
    form = VotingCodeForm()
    if request.method == "GET":
        return render_template("ballots/vote_link.html", form=form)
    if not form.validate_on_submit():
        return render_template("ballots/vote_link.html", form=form), 400
    token = form.token.data
    entry = ballots.entry_for_token(token)
    if entry is None:
        return link_not_working()
    try:
        ballots.check_may_vote(entry)
    except ballots.BallotError as error:
        return refused(entry.ballot, 409, str(error))
    # Back from the confirmation with "Change my choice": the choice stays ticked.
    choice = request.form.get("choice")
    form = ChoiceForm(formdata=None, data={"token": token, "choice": choice})
    return ballot_page(entry.ballot, entry, token=token, form=form)


@bp.route("/ballots/<id:ballot_id>/confirm", methods=["POST"])
@_failed_token_limit
def confirm(ballot_id: int):
    """A vote cannot be changed: the voter sees their choice once more before casting."""
    ballot = load_ballot(ballot_id)
    form = ChoiceForm()
    entry, token = _voter(ballot, form)
    try:
        ballots.check_may_vote(entry)
    except ballots.BallotError as error:
        return refused(ballot, 409, str(error))
    choice = _checked_choice(ballot, entry, token, form)
    return render_template(
        "ballots/confirm.html",
        ballot=ballot,
        amendment=ballot.amendment,
        choice=choice,
        choice_label=CHOICE_LABELS[choice],
        token=token,
        form=ActionForm(),
    )


@bp.route("/ballots/<id:ballot_id>/cast", methods=["POST"])
@_failed_token_limit
def cast(ballot_id: int):
    ballot = load_ballot(ballot_id)
    form = ChoiceForm()
    entry, token = _voter(ballot, form)
    try:
        ballots.check_may_vote(entry)
        vote = ballots.cast(entry, _checked_choice(ballot, entry, token, form))
        db.session.commit()
    except ballots.BallotError as error:
        # Voted already, or the ballot closed while the page was open: nothing was counted.
        db.session.rollback()
        return refused(ballot, 409, str(error))
    # From what the vote gave back: nothing expired by the commit is loaded again.
    return render_template("ballots/receipt.html", vote=vote)


def _voter(ballot: Ballot, form: ChoiceForm) -> tuple[RollEntry, str | None]:
    """Who votes: the member of the token, on this ballot; else the signed-in member.
    Anyone else gets the page that says why (404, 403, or signing in)."""
    token = (form.token.data or "").strip()
    if token:
        entry = ballots.entry_for_token(token)
        if entry is None or entry.ballot_id != ballot.id:
            abort(make_response(link_not_working()))
        return entry, token
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())
    entry = ballots.entry_for_member(ballot, current_user)
    if entry is None:
        abort(make_response(refused(ballot, 403, not_on_roll_message())))
    return entry, None


def _checked_choice(
    ballot: Ballot, entry: RollEntry, token: str | None, form: ChoiceForm
) -> Choice:
    """The choice posted, if it is one on the ballot; else the ballot again, with 400."""
    if form.validate():
        return Choice(form.choice.data)
    form.choice.errors = [gettext("Choose yes, no or abstain.")]
    form.token.data = token
    page = ballot_page(ballot, entry, token=token, form=form, error=form.choice.errors[0])
    abort(make_response(page, 400))
