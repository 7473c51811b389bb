"""Attendance at a meeting: the chair's attendance page, members' self check-in with the
meeting's code, and the live count of members present."""

from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from govern.extensions import db, limiter
from govern.forms import ActionForm
from govern.meetings import attendance, services
from govern.meetings.models import Meeting
from govern.members.forms import STANDING_LABELS
from govern.members.models import Member
from govern.web import MAX_ID, get_by_id, page_number

bp = Blueprint("attendance", __name__)

QUERY_MAX = 200


class MemberForm(FlaskForm):
    member_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    q = HiddenField()


class BulkCheckInForm(FlaskForm):
    member_ids = SelectMultipleField(coerce=int, validate_choice=False)
    q = HiddenField()


class CheckInCodeForm(FlaskForm):
    code = StringField(
        _l("Check-in code"),
        description=_l("The six characters shown at the meeting; capitals or not, as you like."),
        validators=[
            DataRequired(message=_l("Enter the code shown at the meeting.")),
            Length(max=20, message=_l("The code has six characters.")),
        ],
    )


@bp.before_request
def _members_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


# For the meeting page's attendance partial ------------------------------------------------


@bp.app_template_global()
def can_run_meetings(member) -> bool:
    return bool(member.is_authenticated) and services.can_run_meetings(member)


@bp.app_template_global()
def meeting_presence(meeting: Meeting) -> attendance.Presence:
    return attendance.presence(meeting)


@bp.app_template_global()
def is_checked_in(meeting: Meeting, member) -> bool:
    return bool(member.is_authenticated) and attendance.is_present(meeting, member)


# The chair's attendance page ----------------------------------------------------------------


def _load_meeting(meeting_id: int) -> Meeting:
    return db.session.get(Meeting, meeting_id) or abort(404)


def _load_for_chair(meeting_id: int) -> Meeting:
    meeting = _load_meeting(meeting_id)
    if not services.can_run_meetings(current_user):
        abort(403)
    return meeting


def _query() -> str:
    return " ".join(request.values.get("q", "").split())[:QUERY_MAX]


@bp.route("/meetings/<id:meeting_id>/attendance")
def manage(meeting_id: int):
    return _attendance_page(_load_for_chair(meeting_id))


def _attendance_page(meeting: Meeting, error: str | None = None):
    query = _query()
    found = attendance.find_members(query)
    counts = attendance.presence(meeting)
    per_page = attendance.PRESENT_PAGE_SIZE
    pages = max(1, -(-counts.present // per_page))
    present_page = min(page_number(), pages)
    return render_template(
        "meetings/attendance.html",
        meeting=meeting,
        query=query,
        found=found,
        found_present=attendance.present_member_ids(meeting, [member.id for member in found]),
        present=attendance.present_members(meeting, present_page, per_page),
        present_page=present_page,
        present_pages=pages,
        present_page_size=per_page,
        counts=counts,
        standing_labels=STANDING_LABELS,
        action_form=ActionForm(),
        search_limit=attendance.SEARCH_LIMIT,
        error=error,
    )


def _back_to_attendance(meeting: Meeting):
    # The page of the present list the chair acted on rides in the form's address.
    page = page_number() if page_number() > 1 else None
    return redirect(url_for(".manage", meeting_id=meeting.id, q=_query() or None, page=page))


def _chair_action(meeting_id: int, form_class: type[FlaskForm], act: Callable) -> object:
    """Load, check the chair, validate, act, commit and go back; a refusal is a 400 page."""
    meeting = _load_for_chair(meeting_id)
    form = form_class()
    if not form.validate_on_submit():
        return _attendance_page(meeting, gettext("The form expired; try again.")), 400
    try:
        message = act(meeting, form)
    except services.MeetingError as error:
        db.session.rollback()
        return _attendance_page(meeting, str(error)), 400
    db.session.commit()
    flash(message, "success")
    return _back_to_attendance(meeting)


def _member_from(form: MemberForm) -> Member:
    member = get_by_id(Member, form.member_id.data)
    if member is None:
        raise services.MeetingError(gettext("There is no such member."))
    return member


@bp.route("/meetings/<id:meeting_id>/attendance/check-in", methods=["POST"])
def check_in(meeting_id: int):
    def act(meeting: Meeting, form: MemberForm) -> str:
        member = _member_from(form)
        if attendance.check_in(meeting, member, current_user):
            return gettext("%(name)s is checked in.", name=member.name)
        return gettext("%(name)s was already checked in.", name=member.name)

    return _chair_action(meeting_id, MemberForm, act)


@bp.route("/meetings/<id:meeting_id>/attendance/check-out", methods=["POST"])
def check_out(meeting_id: int):
    def act(meeting: Meeting, form: MemberForm) -> str:
        member = _member_from(form)
        attendance.check_out(meeting, member, current_user)
        return gettext("%(name)s is checked out.", name=member.name)

    return _chair_action(meeting_id, MemberForm, act)


@bp.route("/meetings/<id:meeting_id>/attendance/bulk", methods=["POST"])
def check_in_many(meeting_id: int):
    def act(meeting: Meeting, form: BulkCheckInForm) -> str:
        ids = {number for number in form.member_ids.data or [] if 1 <= number <= MAX_ID}
        if not ids:
            raise services.MeetingError(gettext("Select the members to check in."))
        members = list(db.session.scalars(select(Member).where(Member.id.in_(ids))))
        if len(members) != len(ids):
            raise services.MeetingError(gettext("There is no such member."))
        added = attendance.check_in_many(meeting, members, current_user)
        return ngettext(
            "%(num)s member checked in.", "%(num)s members checked in.", added
        ) + _already_present(len(members) - added)

    return _chair_action(meeting_id, BulkCheckInForm, act)


def _already_present(count: int) -> str:
    if not count:
        return ""
    return " " + ngettext("%(num)s was already present.", "%(num)s were already present.", count)


@bp.route("/meetings/<id:meeting_id>/check-in/open", methods=["POST"])
def open_check_in(meeting_id: int):
    def act(meeting: Meeting, form: ActionForm) -> str:
        code = attendance.open_check_in(meeting, current_user)
        return gettext("Check-in is open. Members check in with the code %(code)s.", code=code)

    return _chair_action(meeting_id, ActionForm, act)


@bp.route("/meetings/<id:meeting_id>/check-in/close", methods=["POST"])
def close_check_in(meeting_id: int):
    def act(meeting: Meeting, form: ActionForm) -> str:
        attendance.close_check_in(meeting, current_user)
        return gettext("Check-in is closed. You can still check members in and out here.")

    return _chair_action(meeting_id, ActionForm, act)


# Self check-in ------------------------------------------------------------------------------


def _check_in_rate_limit() -> str:
    """Counted per member, and only for refused attempts: enough for typos, far too few
    to guess one of 31**6 codes."""
    return current_app.config["CHECK_IN_RATE_LIMIT"]


def _signed_in_member() -> str:
    return f"member:{current_user.get_id() or request.remote_addr}"


@bp.route("/meetings/<id:meeting_id>/check-in", methods=["GET", "POST"])
@limiter.limit(
    _check_in_rate_limit,
    methods=["POST"],
    key_func=_signed_in_member,
    deduct_when=lambda response: response.status_code >= 400,
)
def check_in_self(meeting_id: int):
    meeting = _load_meeting(meeting_id)
    form = CheckInCodeForm()
    if request.method == "GET":
        return _check_in_page(meeting, form)
    if not form.validate_on_submit():
        return _check_in_page(meeting, form), 400
    try:
        attendance.check_in_with_code(meeting, current_user, form.code.data)
    except services.MeetingError as error:
        db.session.rollback()
        if error.field == "code":
            form.code.errors = [str(error)]
            return _check_in_page(meeting, form), 400
        return _check_in_page(meeting, form, str(error)), 400
    db.session.commit()
    flash(gettext("You are checked in. Welcome!"), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


def _check_in_page(meeting: Meeting, form: CheckInCodeForm, error: str | None = None):
    return render_template(
        "meetings/check_in.html",
        meeting=meeting,
        form=form,
        error=error,
        is_present=attendance.is_present(meeting, current_user),
    )


# The live count -----------------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/presence.json")
def presence_json(meeting_id: int):
    counts = attendance.presence(_load_meeting(meeting_id))
    response = jsonify(eligible_present=counts.eligible_present, present=counts.present)
    response.headers["Cache-Control"] = "no-store"
    return response
