"""The calendar feed of all meetings, for calendar apps that subscribe without cookies."""

import re
from html import unescape

import pytest
from icalendar import Calendar

from govern.extensions import db
from govern.meetings import services
from govern.members.models import new_login_id


def events(response) -> dict:
    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.get_data())
    assert calendar["method"] == "PUBLISH"
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def test_every_meeting_is_one_event_with_a_stable_uid(client, make_meeting, receiver, clock):
    first, second = make_meeting(title="Spring assembly"), make_meeting(title="Autumn assembly")
    services.add_agenda_item(first, "Welcome")
    db.session.commit()
    feed = events(client.get("/meetings/calendar.ics"))
    assert set(feed) == {first.uid, second.uid}
    assert str(feed[first.uid]["summary"]) == "Spring assembly"
    assert "1. Welcome" in str(feed[first.uid]["description"])
    assert "status" not in feed[first.uid]

    services.cancel_meeting(second, receiver)
    db.session.commit()
    again = events(client.get("/meetings/calendar.ics"))
    assert set(again) == set(feed)
    assert again[second.uid]["status"] == "CANCELLED" and again[second.uid]["sequence"] == 1
    assert "status" not in again[first.uid]


def test_the_feed_is_public_when_the_documents_are(client, make_meeting):
    make_meeting()
    assert len(events(client.get("/meetings/calendar.ics"))) == 1
    # The rest of the meetings stays for members.
    assert client.get("/meetings/").status_code == 302


def test_the_feed_leaves_out_online_links_that_may_carry_a_password(client, make_meeting):
    link = "https://meet.example.org/assembly?pwd=SECRET"
    meeting = make_meeting(place="", online_link=link)
    feed = client.get("/meetings/calendar.ics").get_data(as_text=True)
    assert "SECRET" not in feed.replace("\r\n ", "")
    event = events(client.get("/meetings/calendar.ics"))[meeting.uid]
    assert str(event["location"]) == "Online"
    # The meeting's own .ics, with its link, is for signed-in members.
    assert client.get(f"/meetings/{meeting.id}/calendar.ics").status_code == 302


@pytest.fixture
def private(app):
    app.config["DOCUMENTS_PUBLIC"] = False


def test_a_private_organization_keeps_its_feed_for_members(
    private, client, make_meeting, make_member, sign_in
):
    make_meeting()
    response = client.get("/meetings/calendar.ics")
    assert response.status_code == 302 and "/auth/sign-in" in response.location
    sign_in(make_member())
    assert len(events(client.get("/meetings/calendar.ics"))) == 1


def test_the_list_page_links_the_feed(client, make_member, sign_in):
    sign_in(make_member())
    html = client.get("/meetings/").get_data(as_text=True)
    feed = "http://govern.test/meetings/calendar.ics"
    assert f'<a href="{feed}">Subscribe in your calendar</a>' in html


def test_a_member_of_a_private_organization_subscribes_with_their_own_key(
    private, app, client, make_meeting, make_member, sign_in
):
    make_meeting()
    member = make_member()
    sign_in(member)
    html = client.get("/meetings/").get_data(as_text=True)
    address = re.search(r'<a href="http://govern.test(/meetings/calendar.ics\?[^"]+)"', html)
    url = unescape(address.group(1))
    assert "The address is yours alone" in html
    calendar_app = app.test_client()  # no cookies
    assert len(events(calendar_app.get(url))) == 1
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert calendar_app.get(forged).status_code == 302
    other = make_member()
    assert (
        calendar_app.get(url.replace(f"member={member.id}", f"member={other.id}")).status_code
        == 302
    )
    # Signing out everywhere gives the member a new sign-in id, and the old key stops working.
    member.login_id = new_login_id()
    db.session.commit()
    assert calendar_app.get(url).status_code == 302
