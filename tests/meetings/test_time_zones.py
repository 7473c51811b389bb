"""Times are entered in the organization's time zone and stored in UTC."""

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from govern.amendments.models import Amendment
from govern.extensions import db
from govern.meetings import services
from govern.meetings.models import Meeting
from govern.procedures.states import State


@pytest.fixture
def app_config(tmp_path, request):
    zone = getattr(request, "param", "Europe/Berlin")
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), "ORGANIZATION_TIMEZONE": zone}


def in_zone(zone: str):
    return pytest.mark.parametrize("app_config", [zone], indirect=True)


@in_zone("Asia/Seoul")
def test_seoul_evening_is_morning_in_utc(app):
    at = services.organization_datetime(date(2026, 3, 10), time(19, 0), "start_time")
    assert at == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@in_zone("America/New_York")
def test_new_york_times_follow_daylight_saving(app):
    winter = services.organization_datetime(date(2027, 3, 13), time(19, 0), "start_time")
    summer = services.organization_datetime(date(2027, 3, 15), time(19, 0), "start_time")
    assert winter == datetime(2027, 3, 14, 0, 0, tzinfo=UTC)
    assert summer == datetime(2027, 3, 15, 23, 0, tzinfo=UTC)


@in_zone("America/New_York")
def test_a_time_the_clocks_skip_is_refused(app):
    with pytest.raises(services.MeetingError, match="02:30 does not exist") as refused:
        services.organization_datetime(date(2027, 3, 14), time(2, 30), "start_time")
    assert refused.value.field == "start_time"


@in_zone("Asia/Seoul")
def test_a_date_at_the_edge_of_the_calendar_is_refused_not_an_error(app):
    with pytest.raises(services.MeetingError, match="in the years to come") as refused:
        services.organization_datetime(date(1, 1, 1), time(0, 0), "start_time")
    assert refused.value.field == "day"


@in_zone("America/New_York")
def test_a_time_that_happens_twice_is_refused(app):
    with pytest.raises(services.MeetingError, match="01:30 happens twice") as refused:
        services.organization_datetime(date(2027, 11, 7), time(1, 30), "end_time")
    assert refused.value.field == "end_time"


def new_meeting_form(**changes) -> dict:
    return {
        "where": "new",
        "title": "Discussion: Patience",
        "day": "2027-03-14",
        "start_time": "01:00",
        "end_time": "03:30",
        "place": "Community hall",
        "online_link": "",
    } | changes


@in_zone("America/New_York")
def test_the_form_refuses_a_time_in_the_daylight_saving_gap(
    client, acknowledged, receiver, sign_in, clock
):
    sign_in(receiver)
    url = f"/amendments/{acknowledged.id}/schedule"
    response = client.post(url, data=new_meeting_form(start_time="02:30"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "02:30 does not exist on that day in America/New_York" in html
    assert 'id="start_time-error"' in html
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    assert db.session.get(Amendment, acknowledged.id).state == State.ACKNOWLEDGED


@in_zone("America/New_York")
def test_the_form_converts_across_the_change_to_summer_time(
    client, acknowledged, receiver, sign_in, clock
):
    sign_in(receiver)
    response = client.post(f"/amendments/{acknowledged.id}/schedule", data=new_meeting_form())
    assert response.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    # 01:00 is still winter time (UTC-5), 03:30 already summer time (UTC-4).
    assert meeting.starts_at == datetime(2027, 3, 14, 6, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


@in_zone("Asia/Seoul")
def test_the_meeting_page_shows_the_time_in_the_organizations_zone(
    client, acknowledged, receiver, sign_in, clock
):
    sign_in(receiver)
    form = new_meeting_form(day="2026-03-10", start_time="19:00", end_time="21:00")
    assert client.post(f"/amendments/{acknowledged.id}/schedule", data=form).status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    assert meeting.starts_at == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Tuesday, March 10, 2026, 7:00\u202fPM – 9:00\u202fPM" in html
    assert "Asia/Seoul time" in html
