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

from govern.amendments import services as amendments
from govern.amendments.errors import AmendmentError
from govern.amendments.views import load_amendment
from govern.extensions import db
from govern.meetings import services
from govern.meetings.calendar import meeting_ics
from govern.meetings.forms import EXISTING, ScheduleDiscussionForm
from govern.meetings.models import MEETING_TITLE_MAX, Meeting, MeetingKind
from govern.procedures.stages import Event
from govern.procedures.states import IllegalTransition, next_state

bp = Blueprint("meetings", __name__)

KIND_LABELS = {
    MeetingKind.REGULAR: _l("Regular meeting"),
    MeetingKind.STANDALONE: _l("Standalone meeting"),
}
REFUSED = (AmendmentError, services.MeetingError, IllegalTransition)


@bp.before_request
def _members_only():
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
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        kind_label=KIND_LABELS.get(meeting.kind, meeting.kind),
        has_web_link=services.is_web_link(meeting.online_link),
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
