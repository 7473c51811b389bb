"""Attendance: chairs check members in and out, members check themselves in with the code,
and the meeting shows how many voting-eligible members are present."""

import pytest
from sqlalchemy import select

from govern.extensions import db
from govern.meetings import attendance
from govern.meetings.attendance import CODE_ALPHABET, WrongCode
from govern.meetings.models import CHECK_IN_CODE_LENGTH, Attendance, Meeting
from govern.meetings.services import MeetingError
from govern.members.models import Member
from tests.conftest import PASSWORD
from tests.governance import at_once


@pytest.fixture
def app_config(request, tmp_path) -> dict:
    """A test may add settings with `indirect` parametrization."""
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), **getattr(request, "param", {})}


@pytest.fixture
def chair(make_member):
    return make_member(name="Chiara Chair", email="chiara@example.org", roles=["chair"])


@pytest.fixture
def meeting(make_meeting) -> Meeting:
    return make_meeting()


@pytest.fixture
def open_meeting(meeting, chair) -> Meeting:
    attendance.open_check_in(meeting, chair)
    db.session.commit()
    return meeting


def rows(meeting: Meeting) -> list[Attendance]:
    db.session.expire_all()
    statement = select(Attendance).where(Attendance.meeting_id == meeting.id)
    return list(db.session.scalars(statement.order_by(Attendance.id)))


def counts(meeting: Meeting) -> tuple[int, int]:
    db.session.expire_all()
    return tuple(attendance.presence(meeting))


# Services ---------------------------------------------------------------------------------


def test_opening_check_in_makes_a_short_unambiguous_code_new_each_time(meeting, chair):
    codes = set()
    for _ in range(5):
        code = attendance.open_check_in(meeting, chair)
        assert len(code) == CHECK_IN_CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
        assert not set(code) & set("01OIL")
        assert meeting.check_in_open and meeting.check_in_code == code
        codes.add(code)
        attendance.close_check_in(meeting, chair)
        assert not meeting.check_in_open and meeting.check_in_code is None
    assert len(codes) == 5


def test_only_chairs_and_receivers_in_good_standing_run_check_in(meeting, make_member, receiver):
    attendance.open_check_in(meeting, receiver)
    for member in (
        make_member(),
        make_member(roles=["admin"]),
        make_member(roles=["chair"], standing="suspended"),
    ):
        with pytest.raises(MeetingError, match="Only a chair or a receiver"):
            attendance.open_check_in(meeting, member)
        with pytest.raises(MeetingError, match="Only a chair or a receiver"):
            attendance.check_in(meeting, member, member)
    assert rows(meeting) == []


def test_a_chair_checks_a_member_in_and_out_and_in_again(meeting, chair, make_member, clock):
    member = make_member()
    assert attendance.check_in(meeting, member, chair) is True
    assert attendance.check_in(meeting, member, chair) is False
    [row] = rows(meeting)
    assert row.recorded_by_id == chair.id and row.checked_out_at is None
    assert counts(meeting) == (1, 1)
    clock.advance(minutes=30)
    assert attendance.check_out(meeting, member, chair) is True
    assert attendance.check_out(meeting, member, chair) is False
    [row] = rows(meeting)
    assert row.checked_out_at == clock()
    assert counts(meeting) == (0, 0)
    clock.advance(minutes=5)
    assert attendance.check_in(meeting, member, chair) is True
    [row] = rows(meeting)
    assert row.checked_out_at is None and row.checked_in_at == clock()
    assert counts(meeting) == (1, 1)


def test_checking_out_someone_never_checked_in_is_refused(meeting, chair, make_member):
    with pytest.raises(MeetingError, match="is not checked in"):
        attendance.check_out(meeting, make_member(name="Nora"), chair)


@pytest.mark.parametrize("standing", ["suspended", "lapsed"])
def test_suspended_and_lapsed_members_are_present_but_not_eligible(
    meeting, chair, make_member, standing
):
    attendance.check_in_many(meeting, [make_member(), make_member(standing=standing)], chair)
    assert counts(meeting) == (1, 2)
    assert attendance.eligible_present_count(meeting) == 1


def test_bulk_check_in_counts_only_those_not_yet_present(meeting, chair, make_member):
    first, second, third = make_member(), make_member(), make_member()
    attendance.check_in(meeting, first, chair)
    assert attendance.check_in_many(meeting, [first, second, third], chair) == 2
    assert len(rows(meeting)) == 3


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {lower} ", "{half}-{rest}"])
def test_self_check_in_reads_the_code_without_regard_to_case(open_meeting, make_member, typed):
    code = open_meeting.check_in_code
    member = make_member()
    entered = typed.format(code=code, lower=code.lower(), half=code[:3], rest=code[3:])
    assert attendance.check_in_with_code(open_meeting, member, entered) is True
    [row] = rows(open_meeting)
    assert row.member_id == member.id and row.recorded_by_id is None


def test_self_check_in_with_a_wrong_code_is_refused(open_meeting, make_member):
    wrong = "222222" if open_meeting.check_in_code != "222222" else "333333"
    for code in (wrong, "", open_meeting.check_in_code + "X"):
        with pytest.raises(WrongCode, match="not this meeting's check-in code"):
            attendance.check_in_with_code(open_meeting, make_member(), code)
    assert rows(open_meeting) == []


def test_self_check_in_needs_check_in_open_and_an_old_code_stops_working(
    open_meeting, chair, make_member
):
    member = make_member()
    old = open_meeting.check_in_code
    attendance.close_check_in(open_meeting, chair)
    with pytest.raises(MeetingError, match="not open"):
        attendance.check_in_with_code(open_meeting, member, old)
    attendance.open_check_in(open_meeting, chair)
    with pytest.raises(WrongCode):
        attendance.check_in_with_code(open_meeting, member, old)
    assert rows(open_meeting) == []


def test_a_cancelled_meeting_refuses_check_ins(open_meeting, chair, make_member, clock):
    member = make_member()
    open_meeting.cancelled_at = clock()
    db.session.commit()
    with pytest.raises(MeetingError, match="cancelled"):
        attendance.check_in(open_meeting, member, chair)
    with pytest.raises(MeetingError, match="cancelled"):
        attendance.check_in_many(open_meeting, [member], chair)
    with pytest.raises(MeetingError, match="cancelled"):
        attendance.check_in_with_code(open_meeting, member, open_meeting.check_in_code)
    with pytest.raises(MeetingError, match="cancelled"):
        attendance.open_check_in(open_meeting, chair)
    assert rows(open_meeting) == []


# Pages ------------------------------------------------------------------------------------


@pytest.fixture
def as_chair(client, chair, sign_in):
    sign_in(chair)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client, meeting):
    base = f"/meetings/{meeting.id}"
    for url in (f"{base}/attendance", f"{base}/check-in", f"{base}/presence.json"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/sign-in" in response.location
    for url in (
        f"{base}/attendance/check-in",
        f"{base}/attendance/check-out",
        f"{base}/attendance/bulk",
        f"{base}/check-in/open",
        f"{base}/check-in/close",
        f"{base}/check-in",
    ):
        response = client.post(url, data={"member_id": 1, "code": "ABCDEF"})
        assert response.status_code == 302 and "/auth/sign-in" in response.location
    assert rows(meeting) == []


def test_unknown_meetings_are_404(as_chair):
    for url in (
        "/meetings/999/attendance",
        "/meetings/999/check-in",
        "/meetings/999/presence.json",
    ):
        assert as_chair.get(url).status_code == 404
    assert (
        as_chair.post("/meetings/999/attendance/check-in", data={"member_id": 1}).status_code == 404
    )


@pytest.mark.parametrize(
    ("roles", "standing"),
    [((), "active"), (("admin",), "active"), (("chair",), "suspended")],
)
def test_members_cannot_check_in_others(client, meeting, make_member, sign_in, roles, standing):
    other = make_member(name="Otto Other")
    sign_in(make_member(roles=roles, standing=standing))
    base = f"/meetings/{meeting.id}"
    assert client.get(f"{base}/attendance").status_code == 403
    for url, data in (
        (f"{base}/attendance/check-in", {"member_id": other.id}),
        (f"{base}/attendance/bulk", {"member_ids": [other.id]}),
        (f"{base}/attendance/check-out", {"member_id": other.id}),
        (f"{base}/check-in/open", {}),
        (f"{base}/check-in/close", {}),
    ):
        assert client.post(url, data=data).status_code == 403, url
    assert rows(meeting) == []
    page = client.get(base).get_data(as_text=True)
    assert f"{base}/attendance" not in page


def test_the_chair_searches_checks_in_and_out_on_the_attendance_page(
    as_chair, meeting, make_member
):
    nora = make_member(name="Nora Nakamura")
    make_member(name="Omar Okafor")
    page = as_chair.get(f"/meetings/{meeting.id}/attendance?q=naka").get_data(as_text=True)
    assert "Nora Nakamura" in page and "Omar Okafor" not in page
    assert "Check in Nora Nakamura" in page
    response = as_chair.post(
        f"/meetings/{meeting.id}/attendance/check-in", data={"member_id": nora.id, "q": "naka"}
    )
    assert response.status_code == 302 and response.location.endswith("attendance?q=naka")
    page = as_chair.get(response.location).get_data(as_text=True)
    assert "Nora Nakamura is checked in." in page
    assert "1 voting-eligible member present" in page
    assert "Check out Nora Nakamura" in page
    response = as_chair.post(
        f"/meetings/{meeting.id}/attendance/check-out", data={"member_id": nora.id}
    )
    assert response.status_code == 302
    assert "Nora Nakamura is checked out." in as_chair.get(response.location).get_data(True)
    assert counts(meeting) == (0, 0)


def test_the_attendance_page_lists_those_present_a_page_at_a_time(
    as_chair, meeting, chair, make_member, monkeypatch
):
    monkeypatch.setattr(attendance, "PRESENT_PAGE_SIZE", 2)
    names = ["Ada Present", "Ben Present", "Cy Present"]
    attendance.check_in_many(meeting, [make_member(name=name) for name in names], chair)
    db.session.commit()
    base = f"/meetings/{meeting.id}/attendance"
    first = as_chair.get(f"{base}?q=Present").get_data(as_text=True)
    assert "3 members present" in first and "Page 1 of 2" in first
    assert "Check out Ada Present" in first and "Check out Cy Present" in first  # the search
    listed = first.split('id="present-heading"')[1]
    assert "Ada Present" in listed and "Ben Present" in listed and "Cy Present" not in listed
    second = as_chair.get(f"{base}?q=Present&page=2").get_data(as_text=True)
    listed = second.split('id="present-heading"')[1]
    assert "Cy Present" in listed and "Ada Present" not in listed and "Page 2 of 2" in listed
    cy = db.session.scalar(select(Member).where(Member.name == "Cy Present"))
    response = as_chair.post(f"{base}/check-out?page=2", data={"member_id": cy.id})
    assert response.status_code == 302 and response.location.endswith("attendance?page=2")
    back = as_chair.get(response.location).get_data(as_text=True)  # page 2 is gone: page 1
    assert "2 members present" in back and "Page 1 of" not in back
    assert counts(meeting) == (2, 2)


def test_the_chair_checks_in_several_members_at_once(as_chair, meeting, make_member):
    members = [make_member() for _ in range(3)]
    suspended = make_member(standing="suspended")
    ids = [member.id for member in [*members, suspended]]
    response = as_chair.post(f"/meetings/{meeting.id}/attendance/bulk", data={"member_ids": ids})
    assert response.status_code == 302
    assert "4 members checked in." in as_chair.get(response.location).get_data(as_text=True)
    assert counts(meeting) == (3, 4)
    response = as_chair.post(
        f"/meetings/{meeting.id}/attendance/bulk", data={"member_ids": ids[:2]}
    )
    page = as_chair.get(response.location).get_data(as_text=True)
    assert "0 members checked in. 2 were already present." in page


@pytest.mark.parametrize(
    ("url_end", "data", "message"),
    [
        ("bulk", {}, "Select the members to check in."),
        ("bulk", {"member_ids": ["x"]}, "The form expired"),
        ("bulk", {"member_ids": [999_999]}, "There is no such member."),
        ("check-in", {"member_id": 999_999}, "There is no such member."),
        ("check-in", {"member_id": "abc"}, "The form expired"),
        ("check-out", {"member_id": 999_999}, "There is no such member."),
    ],
)
def test_bad_attendance_forms_are_400_with_a_message(as_chair, meeting, url_end, data, message):
    response = as_chair.post(f"/meetings/{meeting.id}/attendance/{url_end}", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert rows(meeting) == []


def test_checking_out_someone_absent_is_400(as_chair, meeting, make_member):
    member = make_member(name="Abe Absent")
    response = as_chair.post(
        f"/meetings/{meeting.id}/attendance/check-out", data={"member_id": member.id}
    )
    assert response.status_code == 400
    assert "Abe Absent is not checked in." in response.get_data(as_text=True)


def test_a_double_click_on_check_in_makes_one_row(
    app, client, chair, sign_in, meeting, make_member
):
    sign_in(chair)
    member = make_member()
    url = f"/meetings/{meeting.id}/attendance/check-in"
    responses = at_once(app, client, url, {"member_id": member.id})
    assert {response.status_code for response in responses} == {302}
    assert len(rows(meeting)) == 1
    assert counts(meeting) == (1, 1)


def test_the_chair_opens_and_closes_self_check_in(as_chair, meeting):
    response = as_chair.post(f"/meetings/{meeting.id}/check-in/open")
    assert response.status_code == 302
    db.session.expire_all()
    code = db.session.get(Meeting, meeting.id).check_in_code
    page = as_chair.get(response.location).get_data(as_text=True)
    assert '<p class="check-in-code check-in-code-large"' in page and code in page
    assert "Close self check-in" in page
    assert code in as_chair.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    as_chair.post(f"/meetings/{meeting.id}/check-in/close")
    db.session.expire_all()
    assert not db.session.get(Meeting, meeting.id).check_in_open
    assert "Open self check-in" in as_chair.get(f"/meetings/{meeting.id}/attendance").text


def test_a_member_checks_in_with_the_code(client, open_meeting, make_member, sign_in):
    member = make_member(name="Mina Member")
    sign_in(member)
    page = client.get(f"/meetings/{open_meeting.id}").get_data(as_text=True)
    assert f'href="/meetings/{open_meeting.id}/check-in"' in page
    # Members never see the code on the meeting page: they read it in the room.
    assert open_meeting.check_in_code not in page
    assert "Check-in code" in client.get(f"/meetings/{open_meeting.id}/check-in").text
    response = client.post(
        f"/meetings/{open_meeting.id}/check-in", data={"code": open_meeting.check_in_code.lower()}
    )
    assert response.status_code == 302 and response.location == f"/meetings/{open_meeting.id}"
    page = client.get(response.location).get_data(as_text=True)
    assert "You are checked in" in page and "1 voting-eligible member present" in page
    assert f'href="/meetings/{open_meeting.id}/check-in"' not in page
    [row] = rows(open_meeting)
    assert row.member_id == member.id and row.recorded_by_id is None


def test_a_wrong_code_is_a_clear_error(client, open_meeting, make_member, sign_in):
    sign_in(make_member())
    response = client.post(f"/meetings/{open_meeting.id}/check-in", data={"code": "WRONG1"})
    assert response.status_code == 400
    assert "not this meeting&#39;s check-in code" in response.get_data(as_text=True)
    response = client.post(f"/meetings/{open_meeting.id}/check-in", data={"code": ""})
    assert response.status_code == 400
    assert "Enter the code shown at the meeting." in response.get_data(as_text=True)
    assert rows(open_meeting) == []


def test_self_check_in_while_closed_is_refused(client, meeting, make_member, sign_in):
    sign_in(make_member())
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f"/meetings/{meeting.id}/check-in" not in page
    assert "not open" in client.get(f"/meetings/{meeting.id}/check-in").text
    response = client.post(f"/meetings/{meeting.id}/check-in", data={"code": "ABCDEF"})
    assert response.status_code == 400 and "not open" in response.get_data(as_text=True)
    assert rows(meeting) == []


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "CHECK_IN_RATE_LIMIT": "3 per minute"}],
    indirect=True,
)
def test_wrong_codes_are_limited_per_member(app, client, open_meeting, make_member, sign_in):
    sign_in(make_member())
    url = f"/meetings/{open_meeting.id}/check-in"
    statuses = [client.post(url, data={"code": "WRONG1"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert client.post(url, data={"code": open_meeting.check_in_code}).status_code == 429
    assert rows(open_meeting) == []
    other = app.test_client()
    member = make_member()
    other.post("/auth/sign-in", data={"email": member.email, "password": PASSWORD})
    assert other.post(url, data={"code": open_meeting.check_in_code}).status_code == 302


def test_presence_json_counts_eligible_and_all_present(
    client, meeting, chair, make_member, sign_in
):
    attendance.check_in_many(
        meeting, [make_member(), make_member(), make_member(standing="suspended")], chair
    )
    db.session.commit()
    sign_in(make_member(standing="lapsed"))
    response = client.get(f"/meetings/{meeting.id}/presence.json")
    assert response.status_code == 200
    assert response.json == {"eligible_present": 2, "present": 3}
    assert response.headers["Cache-Control"] == "no-store"


def test_the_meeting_page_shows_the_live_count_with_an_external_script(
    as_chair, meeting, chair, make_member
):
    attendance.check_in(meeting, make_member(), chair)
    db.session.commit()
    response = as_chair.get(f"/meetings/{meeting.id}")
    page = response.get_data(as_text=True)
    assert "1 voting-eligible member present" in page
    assert f'data-presence-url="/meetings/{meeting.id}/presence.json"' in page
    assert '<script src="/static/presence.js" defer></script>' in page
    assert f'href="/meetings/{meeting.id}/attendance"' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_cancelled_meeting_refuses_check_ins_on_the_pages(
    as_chair, open_meeting, make_member, clock
):
    member = make_member()
    open_meeting.cancelled_at = clock()
    db.session.commit()
    response = as_chair.post(
        f"/meetings/{open_meeting.id}/attendance/check-in", data={"member_id": member.id}
    )
    assert response.status_code == 400 and "cancelled" in response.get_data(as_text=True)
    assert rows(open_meeting) == []
    assert counts(open_meeting) == (0, 0)
