"""The speakers queue page of an agenda item, and the ouch and oops buttons."""

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField

from govern.extensions import db
from govern.forms import ActionForm
from govern.meetings import queue
from govern.meetings.models import NOTE_MAX, AgendaItem, OuchNote, SpeakerRequest, SpeakerStatus
from govern.meetings.services import MeetingError, can_run_meetings
from govern.members.models import Member
from govern.web import get_by_id

bp = Blueprint("speakers", __name__)


class AddSpeakerForm(FlaskForm):
    member_id = IntegerField()


class OuchForm(FlaskForm):
    note = StringField(
        _l("Note for the minutes (optional)"),
        description=_l("What happened, briefly; never who was hurt or who said it."),
        render_kw={"maxlength": NOTE_MAX},
    )


@bp.before_request
def _members_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


@bp.app_template_global("speakers_waiting")
def speakers_waiting(item: AgendaItem) -> int:
    return queue.waiting_count(item)


@bp.app_template_filter("speaking_time")
def speaking_time(length: timedelta) -> str:
    """A speaking time as minutes and seconds: "4:05"."""
    seconds = int(length.total_seconds())
    # Translated once per locale and request: the statistics tables have hundreds of rows.
    formats = g.setdefault("speaking_time_formats", {})
    locale = str(get_locale())
    if locale not in formats:
        formats[locale] = gettext("%(minutes)d:%(seconds)02d")
    return formats[locale] % {"minutes": seconds // 60, "seconds": seconds % 60}


def load_item(meeting_id: int, item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        abort(404)
    return item


def load_turn(item: AgendaItem, request_id: int) -> SpeakerRequest:
    turn = db.session.get(SpeakerRequest, request_id)
    if turn is None or turn.agenda_item_id != item.id:
        abort(404)
    return turn


# The page ---------------------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/queue")
def show(meeting_id: int, item_id: int):
    return queue_page(load_item(meeting_id, item_id))


def queue_page(item: AgendaItem, error: str | None = None, status: int = 200, ouch_form=None):
    facilitating = can_run_meetings(current_user)
    requests = queue.open_requests(item)
    order = queue.speaking_order(requests, queue.spoken_on(item))
    mine = next((turn for turn in order if turn.member_id == current_user.id), None)
    speaker = next((turn for turn in requests if turn.status == SpeakerStatus.SPEAKING), None)
    name = (request.args.get("name") or "").strip() if facilitating else ""
    page = render_template(
        "meetings/queue.html",
        item=item,
        meeting=item.meeting,
        error=error,
        facilitating=facilitating,
        order=order,
        mine=mine,
        my_place=order.index(mine) + 1 if mine else None,
        speaker=speaker,
        name=name,
        found=queue.members_named(name) if name else [],
        item_statistics=queue.item_statistics(item) if facilitating else [],
        meeting_statistics=queue.meeting_statistics(item.meeting) if facilitating else [],
        ouches=queue.ouches_of(item.meeting),
        action_form=ActionForm(),
        ouch_form=ouch_form or OuchForm(formdata=None),
    )
    return page, status


# Changing the queue -----------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/queue/ask", methods=["POST"])
def ask(meeting_id: int, item_id: int):
    item = load_item(meeting_id, item_id)
    return _act(
        item, lambda: queue.ask_to_speak(item, current_user), gettext("You are on the queue.")
    )


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/queue/add", methods=["POST"])
def add(meeting_id: int, item_id: int):
    item = load_item(meeting_id, item_id)
    if not can_run_meetings(current_user):
        return _refused(item)
    form = AddSpeakerForm()
    member = get_by_id(Member, form.member_id.data if form.validate_on_submit() else None)
    if member is None:
        return queue_page(item, gettext("Choose a member from the list."), 400)
    return _act(
        item,
        lambda: queue.add_speaker(item, current_user, member),
        gettext("%(name)s is on the queue.", name=member.name),
    )


TURN = "/meetings/<id:meeting_id>/items/<id:item_id>/queue/<id:request_id>"


@bp.route(TURN + "/withdraw", methods=["POST"])
def withdraw(meeting_id: int, item_id: int, request_id: int):
    item = load_item(meeting_id, item_id)
    turn = load_turn(item, request_id)
    if turn.member_id != current_user.id and not can_run_meetings(current_user):
        message = gettext("Only the member who asked can withdraw the request.")
        return queue_page(item, message, 403)
    return _act(
        item, lambda: queue.withdraw(turn, current_user), gettext("The request is withdrawn.")
    )


@bp.route(TURN + "/move-up", methods=["POST"])
def move_up(meeting_id: int, item_id: int, request_id: int):
    return _facilitate(meeting_id, item_id, request_id, queue.move_up, _l("%(name)s is moved up."))


@bp.route(TURN + "/speaking", methods=["POST"])
def start_speaking(meeting_id: int, item_id: int, request_id: int):
    done = _l("%(name)s has the floor.")
    return _facilitate(meeting_id, item_id, request_id, queue.start_speaking, done)


@bp.route(TURN + "/done", methods=["POST"])
def finish_speaking(meeting_id: int, item_id: int, request_id: int):
    done = _l("%(name)s is done.")
    return _facilitate(meeting_id, item_id, request_id, queue.finish_speaking, done)


def _facilitate(meeting_id: int, item_id: int, request_id: int, step, done):
    item = load_item(meeting_id, item_id)
    turn = load_turn(item, request_id)
    if not can_run_meetings(current_user):
        return _refused(item)
    return _act(item, lambda: step(turn, current_user), done % {"name": turn.member.name})


# Ouch and oops ----------------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/ouch", methods=["POST"])
def ouch(meeting_id: int, item_id: int):
    item = load_item(meeting_id, item_id)
    form = OuchForm()
    if not form.validate_on_submit():
        return queue_page(item, gettext("The form expired; try again."), 400, form)
    try:
        queue.note_ouch(item, current_user, form.note.data or "")
    except MeetingError as error:
        db.session.rollback()
        return queue_page(item, str(error), 400, form)
    db.session.commit()
    flash(gettext("The ouch is noted for the minutes."), "success")
    return redirect(url_for(".show", meeting_id=item.meeting_id, item_id=item.id))


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/ouches/<id:ouch_id>/oops", methods=["POST"])
def oops(meeting_id: int, item_id: int, ouch_id: int):
    item = load_item(meeting_id, item_id)
    noted = db.session.get(OuchNote, ouch_id)
    if noted is None or noted.meeting_id != item.meeting_id:
        abort(404)
    if not can_run_meetings(current_user):
        return _refused(item)
    return _act(
        item,
        lambda: queue.acknowledge_oops(noted, current_user),
        gettext("The oops is noted for the minutes."),
    )


def _refused(item: AgendaItem):
    message = gettext("Only a chair or a receiver in good standing runs the queue.")
    return queue_page(item, message, 403)


def _act(item: AgendaItem, action, done: str):
    """Run one service; commit and go back to the queue, or show why nothing changed."""
    if not ActionForm().validate_on_submit():
        return queue_page(item, gettext("The form expired; try again."), 400)
    try:
        action()
    except MeetingError as error:
        db.session.rollback()
        return queue_page(item, str(error), 400)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".show", meeting_id=item.meeting_id, item_id=item.id))
