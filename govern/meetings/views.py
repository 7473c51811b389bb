"""Scheduling an amendment's discussion, and the meeting pages."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from govern.amendments import services as amendments
from govern.amendments.errors import AmendmentError
from govern.amendments.views import load_amendment
from govern.extensions import db
from govern.forms import ActionForm
from govern.meetings import minutes as minutes_services
from govern.meetings import services
from govern.meetings.calendar import meeting_ics, meetings_feed_ics
from govern.meetings.forms import (
    EXISTING,
    AgendaItemForm,
    MeetingForm,
    MinutesForm,
    ScheduleDiscussionForm,
)
from govern.meetings.minutes import may_read_minutes, minutes_of
from govern.meetings.models import MEETING_TITLE_MAX, AgendaItem, Meeting, MeetingKind
from govern.procedures.stages import Event
from govern.procedures.states import IllegalTransition, next_state
from govern.web import page_number

bp = Blueprint("meetings", __name__)

KIND_LABELS = {
    MeetingKind.REGULAR: _l("Regular meeting"),
    MeetingKind.STANDALONE: _l("Standalone meeting"),
}
REFUSED = (AmendmentError, services.MeetingError, IllegalTransition)
PAST_PAGE_SIZE = 20


@bp.before_request
def _members_only():
    # Calendar apps subscribe to the feed without cookies: it is as public as the documents,
    # or read with a member's own key.
    if request.endpoint == "meetings.feed" and (
        current_app.config["DOCUMENTS_PUBLIC"]
        or services.member_of_feed_key(
            request.args.get("member", type=int), request.args.get("key", "")
        )
    ):
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


# Scheduling a discussion ------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>/schedule", methods=["GET", "POST"])
def schedule(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if not amendments.may_act(amendment, current_user, Event.SCHEDULE_DISCUSSION):
        abort(403)
    try:
        next_state(amendment.procedure, amendment.state, Event.SCHEDULE_DISCUSSION)
    except IllegalTransition as error:
        return _schedule_page(amendment, None, [], str(error)), 400
    meetings = services.upcoming_meetings()
    title = services.shortened(
        gettext("Discussion: %(title)s", title=amendment.title), MEETING_TITLE_MAX
    )
    form = ScheduleDiscussionForm(data={"title": title} if request.method == "GET" else None)
    form.set_meetings(meetings)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return _schedule_page(amendment, form, meetings), status
    try:
        meeting = _chosen_meeting(form, meetings)
        amendments.schedule_discussion(amendment, current_user, meeting)
    except REFUSED as error:
        db.session.rollback()
        return _schedule_page(amendment, form, meetings, form.show_error(error)), 400
    db.session.commit()
    flash(gettext("The discussion is scheduled and the members are told by mail."), "success")
    return redirect(url_for("amendments.show", amendment_id=amendment.id))


def _chosen_meeting(form: ScheduleDiscussionForm, meetings: list[Meeting]) -> Meeting:
    if form.where.data == EXISTING:
        meeting = next((m for m in meetings if m.id == form.meeting.data), None)
        if meeting is None and not meetings:
            raise services.MeetingError(
                gettext(
                    "No meeting to come is planned any more: schedule the discussion at a "
                    "new standalone meeting."
                )
            )
        if meeting is None:
            raise services.MeetingError(gettext("Choose a meeting from the list."), "meeting")
        return meeting
    return services.create_meeting(
        current_user,
        form.title.data or "",
        MeetingKind.STANDALONE,
        services.organization_datetime(form.day.data, form.start_time.data, "start_time"),
        services.organization_datetime(form.day.data, form.end_time.data, "end_time"),
        form.place.data or "",
        form.online_link.data or "",
    )


def _schedule_page(amendment, form, meetings, error=None):
    notified = services.count_members_in_good_standing()
    return render_template(
        "meetings/schedule.html",
        amendment=amendment,
        form=form,
        meetings=meetings,
        error=error,
        notified=notified,
        notified_sentence=ngettext(
            "%(num)s member in good standing will be told by mail, with the meeting "
            "attached for their calendar.",
            "%(num)s members in good standing will be told by mail, with the meeting "
            "attached for their calendar.",
            notified,
        ),
        time_zone=current_app.config["ORGANIZATION_TIMEZONE"],
    )


# The meeting pages ------------------------------------------------------------------------


@bp.app_template_filter("meeting_when")
def meeting_when(meeting: Meeting) -> str:
    """When the meeting runs, in the organization's time zone, which it names."""
    zone = services.organization_zone()
    times = services.describe_times(meeting, zone)
    return gettext("%(times)s (%(zone)s time)", times=times, zone=str(zone))


@bp.route("/meetings/<id:meeting_id>")
def show(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id) or abort(404)
    return _show_page(meeting)


def _show_page(meeting: Meeting, item_form: AgendaItemForm | None = None, error=None) -> str:
    minutes = minutes_of(meeting)
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        kind_label=KIND_LABELS.get(meeting.kind, meeting.kind),
        has_web_link=services.is_web_link(meeting.online_link),
        may_plan=services.can_run_meetings(current_user),
        not_changeable=services.why_not_changeable(meeting),
        minutes=minutes,
        may_read_minutes=may_read_minutes(minutes, current_user),
        item_form=item_form or AgendaItemForm(formdata=None),
        action_form=ActionForm(),
        agenda_error=error,
    )


@bp.route("/meetings/<id:meeting_id>/calendar.ics")
def calendar(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id) or abort(404)
    text = meeting_ics(meeting, current_app.config["PUBLIC_URL"])
    return Response(
        text,
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )


@bp.route("/meetings/")
def index():
    upcoming = list(db.session.scalars(services.upcoming_statement()))
    past = db.paginate(
        services.past_statement(), page=page_number(), per_page=PAST_PAGE_SIZE, error_out=False
    )
    return render_template(
        "meetings/index.html",
        upcoming=upcoming,
        past=past,
        may_plan=services.can_run_meetings(current_user),
        kind_labels=KIND_LABELS,
        feed_url=_feed_url(),
    )


def _feed_url() -> str:
    """The feed's address: the same for all when meetings are public, else the member's own."""
    public_url = current_app.config["PUBLIC_URL"].rstrip("/")
    if current_app.config["DOCUMENTS_PUBLIC"]:
        return public_url + url_for("meetings.feed")
    key = services.feed_key(current_user)
    return public_url + url_for("meetings.feed", member=current_user.id, key=key)


@bp.route("/meetings/calendar.ics")
def feed():
    statement = select(Meeting).options(selectinload(Meeting.items)).order_by(Meeting.starts_at)
    text = meetings_feed_ics(
        db.session.scalars(statement),
        current_app.config["PUBLIC_URL"],
        current_app.config["ORGANIZATION_NAME"],
    )
    return Response(
        text,
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="meetings.ics"'},
    )


# Planning ----------------------------------------------------------------------------------


def _planner_only() -> None:
    if not services.can_run_meetings(current_user):
        abort(403)


def _load(meeting_id: int) -> Meeting:
    return db.session.get(Meeting, meeting_id) or abort(404)


@bp.route("/meetings/new", methods=["GET", "POST"])
def new():
    _planner_only()
    form = MeetingForm()
    if not form.validate_on_submit():
        return _form_page(form, None), 400 if request.method == "POST" else 200
    try:
        meeting = services.create_meeting(current_user, *_meeting_fields(form))
    except services.MeetingError as error:
        db.session.rollback()
        return _form_page(form, None, form.show_error(error)), 400
    db.session.commit()
    flash(gettext("The meeting is planned."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.route("/meetings/<id:meeting_id>/edit", methods=["GET", "POST"])
def edit(meeting_id: int):
    meeting = _load(meeting_id)
    _planner_only()
    reason = services.why_not_changeable(meeting)
    if reason is not None:
        return _form_page(None, meeting, reason), 400
    if request.method == "GET":
        zone = services.organization_zone()
        starts, ends = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
        form = MeetingForm(
            data={
                "title": meeting.title,
                "kind": meeting.kind,
                "day": starts.date(),
                "start_time": starts.time(),
                "end_time": ends.time(),
                "place": meeting.place,
                "online_link": meeting.online_link,
            }
        )
        return _form_page(form, meeting)
    form = MeetingForm()
    if not form.validate_on_submit():
        return _form_page(form, meeting), 400
    try:
        told = services.update_meeting(meeting, current_user, *_meeting_fields(form))
    except services.MeetingError as error:
        db.session.rollback()
        return _form_page(form, meeting, form.show_error(error)), 400
    db.session.commit()
    if told:
        flash(gettext("The meeting is changed and the members are told by mail."), "success")
    else:
        flash(gettext("The meeting is changed."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


def _meeting_fields(form: MeetingForm) -> tuple:
    """Title, kind, start, end, place and link, as create_meeting and update_meeting take them;
    the date and times are read in the organization's time zone."""
    starts_at = services.organization_datetime(form.day.data, form.start_time.data, "start_time")
    ends_at = services.organization_datetime(form.day.data, form.end_time.data, "end_time")
    return (
        form.title.data or "",
        form.kind.data,
        starts_at,
        ends_at,
        form.place.data or "",
        form.online_link.data or "",
    )


def _form_page(form, meeting, error=None):
    return render_template(
        "meetings/form.html",
        form=form,
        meeting=meeting,
        error=error,
        time_zone=current_app.config["ORGANIZATION_TIMEZONE"],
        notified=services.count_members_in_good_standing(),
    )


@bp.route("/meetings/<id:meeting_id>/cancel", methods=["GET", "POST"])
def cancel(meeting_id: int):
    meeting = _load(meeting_id)
    _planner_only()
    form = ActionForm()
    reason = services.why_not_changeable(meeting)
    if reason is None and form.validate_on_submit():
        try:
            services.cancel_meeting(meeting, current_user)
        except services.MeetingError as error:
            db.session.rollback()
            reason = str(error)
        else:
            db.session.commit()
            flash(gettext("The meeting is cancelled and the members are told by mail."), "success")
            return redirect(url_for("meetings.show", meeting_id=meeting.id))
    status = 400 if reason or request.method == "POST" else 200
    page = render_template(
        "meetings/cancel.html",
        meeting=meeting,
        form=form,
        error=reason,
        notified=services.count_members_in_good_standing(),
    )
    return page, status


# The agenda --------------------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/agenda", methods=["POST"])
def add_item(meeting_id: int):
    meeting = _load(meeting_id)
    _planner_only()
    form = AgendaItemForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.add_plain_item(meeting, current_user, form.title.data or "")
    except services.MeetingError as error:
        db.session.rollback()
        form.title.errors = [str(error)]
        return _show_page(meeting, form), 400
    return _agenda_changed(meeting, gettext("The item is added to the agenda."))


@bp.route("/meetings/<id:meeting_id>/agenda/<id:item_id>/remove", methods=["POST"])
def remove_item(meeting_id: int, item_id: int):
    meeting, item = _load_item(meeting_id, item_id)
    return _agenda_change(
        meeting,
        lambda: services.remove_item(item, current_user),
        gettext("The item is taken off the agenda."),
    )


@bp.route("/meetings/<id:meeting_id>/agenda/<id:item_id>/move", methods=["POST"])
def move_item(meeting_id: int, item_id: int):
    meeting, item = _load_item(meeting_id, item_id)
    direction = request.form.get("direction", "")
    return _agenda_change(
        meeting,
        lambda: services.move_item(item, current_user, direction),
        gettext("The agenda's order is changed."),
    )


def _load_item(meeting_id: int, item_id: int) -> tuple[Meeting, AgendaItem]:
    meeting = _load(meeting_id)
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        abort(404)
    _planner_only()
    if not ActionForm().validate_on_submit():
        abort(400)
    return meeting, item


def _agenda_change(meeting: Meeting, change, done: str):
    try:
        change()
    except services.MeetingError as error:
        db.session.rollback()
        return _show_page(meeting, error=str(error)), 400
    return _agenda_changed(meeting, done)


def _agenda_changed(meeting: Meeting, done: str):
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id, _anchor="agenda-heading"))


# Minutes -----------------------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/minutes", methods=["GET", "POST"])
def minutes(meeting_id: int):
    meeting = _load(meeting_id)
    record = minutes_of(meeting)
    if not may_read_minutes(record, current_user):
        abort(404 if record is None else 403)
    writable = record is None or record.approved_at is None
    form = MinutesForm(data={"body": record.body if record else ""})
    if request.method == "GET":
        return _minutes_page(meeting, record, form if writable else None)
    _planner_only()
    if not form.validate_on_submit():
        abort(400)
    preview = None
    try:
        if form.preview.data:
            preview = minutes_services.render_minutes(minutes_services.checked_body(form.body.data))
        else:
            minutes_services.save_minutes(meeting, current_user, form.body.data or "")
    except services.MeetingError as error:
        db.session.rollback()
        form.body.errors = [str(error)]
        return _minutes_page(meeting, minutes_of(meeting), form), 400
    if preview is not None:
        return _minutes_page(meeting, record, form, preview)
    db.session.commit()
    flash(gettext("The draft minutes are saved."), "success")
    return redirect(url_for("meetings.minutes", meeting_id=meeting.id))


@bp.route("/meetings/<id:meeting_id>/minutes/approve", methods=["GET", "POST"])
def approve_minutes(meeting_id: int):
    meeting = _load(meeting_id)
    _planner_only()
    record = minutes_of(meeting) or abort(404)
    form = ActionForm()
    error = None
    if record.approved_at is not None:
        error = gettext("These minutes are approved already.")
    elif form.validate_on_submit():
        try:
            minutes_services.approve_minutes(meeting, current_user)
        except services.MeetingError as refused:
            db.session.rollback()
            error = str(refused)
        else:
            db.session.commit()
            flash(gettext("The minutes are approved; every member can read them."), "success")
            return redirect(url_for("meetings.minutes", meeting_id=meeting.id))
    status = 400 if error or request.method == "POST" else 200
    page = render_template("meetings/approve_minutes.html", meeting=meeting, form=form, error=error)
    return page, status


def _minutes_page(meeting, record, form, preview=None):
    return render_template(
        "meetings/minutes.html",
        meeting=meeting,
        minutes=record,
        form=form,
        preview=preview,
        body_html=minutes_services.render_minutes(record.body) if record else None,
        may_write=services.can_run_meetings(current_user),
        figures=minutes_services.attendance_figures(meeting),
        votes=minutes_services.meeting_votes(meeting),
        ouches=minutes_services.ouch_notes(meeting),
        action_form=ActionForm(),
    )
