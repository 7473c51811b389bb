"""The admin's member pages: who may open them, roles and standing, adding and finding members."""

import io

import pytest
from sqlalchemy import select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import AuthToken, MemberChange, Role, TokenPurpose
from govern.members.roll import import_roll
from tests.conftest import PASSWORD
from tests.members.conftest import member_by_email, roll_counts, roll_csv

ROLES = ["anonymous", "member", "receiver", "chair", "admin"]


def _upload(data: bytes) -> dict:
    return {"file": (io.BytesIO(data), "roll.csv"), "submit": "Check the file"}


# (method, url, form data, status for an admin); {id} is another member's id.
ADMIN_ROUTES = [
    ("GET", "/admin/members/", None, 200),
    ("GET", "/admin/members/{id}", None, 200),
    ("POST", "/admin/members/{id}", {"roles": ["chair"], "standing": "lapsed"}, 302),
    ("GET", "/admin/members/new", None, 200),
    (
        "POST",
        "/admin/members/new",
        {"name": "Kim", "email": "kim@example.org", "standing": "active"},
        302,
    ),
    ("POST", "/admin/members/{id}/invite", {}, 302),
    ("POST", "/admin/members/invite-all", {}, 302),
    ("GET", "/admin/members/import", None, 200),
    ("POST", "/admin/members/import", lambda: _upload(roll_csv("Kim,kim@example.org,,")), 200),
    ("POST", "/admin/members/import", {"csv_text": "name,email\nKim,kim@example.org\n"}, 302),
]


def test_the_matrix_covers_every_admin_route(app):
    covered = {(method, url.replace("{id}", "<id:member_id>")) for method, url, *_ in ADMIN_ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("members_admin."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, rule.rule) in covered


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "method, url, data, admin_status",
    ADMIN_ROUTES,
    ids=[f"{method} {url}" for method, url, *_ in ADMIN_ROUTES],
)
def test_only_admins_may_use_the_admin_pages(
    client_as, make_member, role, method, url, data, admin_status
):
    target = make_member(name="Target", email="target@example.org", password=None)
    client = client_as(role)
    before = roll_counts()
    data = data() if callable(data) else data
    response = client.open(url.format(id=target.id), method=method, data=data)
    expected = {"anonymous": 302, "admin": admin_status}.get(role, 403)
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    if role == "anonymous":
        assert response.headers["Location"].startswith("/auth/sign-in")
    if role != "admin":
        assert roll_counts() == before


def test_admin_changes_roles_and_standing_and_each_change_is_recorded(
    admin_client, admin, make_member, clock
):
    target = make_member(name="Kim", email="kim@example.org", roles=["chair"])
    changed_at = clock.advance(hours=1)
    response = admin_client.post(
        f"/admin/members/{target.id}", data={"roles": ["receiver"], "standing": "suspended"}
    )
    assert response.status_code == 302
    kim = member_by_email("kim@example.org")
    assert (kim.roles, kim.standing, kim.is_eligible) == ({Role.RECEIVER}, "suspended", False)
    changes = db.session.scalars(select(MemberChange).filter_by(member_id=kim.id)).all()
    assert {(c.field, c.old_value, c.new_value, c.actor_id, c.changed_at) for c in changes} == {
        ("roles", "chair", "receiver", admin.id, changed_at),
        ("standing", "active", "suspended", admin.id, changed_at),
    }
    page = admin_client.get(f"/admin/members/{kim.id}").get_data(as_text=True)
    assert page.count("Ada Admin</td>") == 2 and "suspended" in page
    assert "not eligible to vote" in page


def test_saving_unchanged_roles_and_standing_records_nothing(admin_client, make_member):
    target = make_member(roles=["chair"], standing="lapsed")
    before = roll_counts()
    response = admin_client.post(
        f"/admin/members/{target.id}",
        data={"roles": ["chair"], "standing": "lapsed"},
        follow_redirects=True,
    )
    assert "Nothing changed." in response.get_data(as_text=True)
    assert roll_counts() == before


def test_admin_cannot_remove_their_own_admin_role(admin_client, admin):
    before = roll_counts()
    response = admin_client.post(
        f"/admin/members/{admin.id}", data={"roles": ["chair"], "standing": "lapsed"}
    )
    assert response.status_code == 400
    assert "You cannot remove your own admin role" in response.get_data(as_text=True)
    assert roll_counts() == before
    me = member_by_email(admin.email)
    assert (me.roles, me.standing) == ({Role.ADMIN}, "active")


def test_admin_may_remove_another_admins_admin_role(admin_client, make_member):
    other = make_member(roles=["admin"])
    response = admin_client.post(f"/admin/members/{other.id}", data={"standing": "active"})
    assert response.status_code == 302
    assert member_by_email(other.email).roles == set()


@pytest.mark.parametrize(
    "standing, eligible", [("active", True), ("suspended", False), ("lapsed", False)]
)
def test_only_active_members_are_voting_eligible(make_member, standing, eligible):
    assert make_member(standing=standing).is_eligible is eligible


@pytest.mark.parametrize(
    "data, message",
    [
        ({"roles": ["chair"], "standing": "boss"}, "Not a valid choice"),
        ({"roles": ["king"], "standing": "active"}, "not a valid choice"),
        ({"roles": ["chair"]}, "This field is required."),
    ],
    ids=["standing boss", "role king", "no standing"],
)
def test_bad_roles_or_standing_are_refused_and_change_nothing(
    admin_client, make_member, data, message
):
    target = make_member(roles=["receiver"])
    before = roll_counts()
    response = admin_client.post(f"/admin/members/{target.id}", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert roll_counts() == before
    assert member_by_email(target.email).roles == {Role.RECEIVER}


def test_editing_an_unknown_member_is_not_found(admin_client):
    assert admin_client.post("/admin/members/999", data={"standing": "active"}).status_code == 404


NEW = {"name": "김민지", "email": "Minji@Example.org", "roles": ["chair"], "standing": "active"}


def test_admin_adds_a_member_with_a_record_and_an_invitation(admin_client, admin):
    response = admin_client.post("/admin/members/new", data={**NEW, "send_invitation": "y"})
    assert response.status_code == 302
    minji = member_by_email("minji@example.org")
    assert (minji.name, minji.roles, minji.standing) == ("김민지", {Role.CHAIR}, "active")
    change = db.session.scalar(select(MemberChange).filter_by(member_id=minji.id))
    assert (change.field, change.new_value, change.actor_id) == (
        "created",
        "active; chair",
        admin.id,
    )
    outbox = db.session.scalars(select(OutboxMessage)).all()
    assert [message.recipient for message in outbox] == ["minji@example.org"]


def test_adding_a_member_without_invitation_queues_no_mail(admin_client):
    assert admin_client.post("/admin/members/new", data=NEW).status_code == 302
    assert roll_counts()["outbox_messages"] == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"email": "TARGET@example.org"}, "A member with this email already exists."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"name": "  "}, "the name is empty"),
        ({"name": "가" * 201}, "longer than 200 characters"),
        ({"name": "Kim\nMinji"}, "line break"),
        ({"roles": ["king"]}, "not a valid choice"),
        ({"standing": "boss"}, "Not a valid choice"),
    ],
    ids=["duplicate email", "bad email", "empty name", "long name", "newline", "king", "boss"],
)
def test_bad_new_member_is_refused_with_a_clear_error(admin_client, make_member, change, message):
    make_member(email="target@example.org")
    before = roll_counts()
    response = admin_client.post("/admin/members/new", data={**NEW, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert roll_counts() == before


def _listed(client, query: str = "") -> list[str]:
    page = client.get(f"/admin/members/{query}").get_data(as_text=True)
    return [line.split(">")[1] for line in page.split('<td><a href="/admin/members/')[1:]]


def test_member_list_searches_names_and_emails_and_filters_by_standing(admin_client, make_member):
    make_member(name="Kim Minji", email="minji@example.org", standing="lapsed")
    make_member(name="Lee Jun", email="jun_lee@example.org")
    make_member(name="Park 100%", email="park@example.org", standing="lapsed")
    make_member(name="Junho Cho", email="junho@example.org")  # "jun_" as a pattern finds him
    make_member(name="Room 1001", email="room@example.org")  # "100%" as a pattern finds it
    assert _listed(admin_client, "?q=MINJI") == ["Kim Minji</a"]
    assert _listed(admin_client, "?q=jun_") == ["Lee Jun</a"]
    assert _listed(admin_client, "?q=100%25") == ["Park 100%</a"]
    assert _listed(admin_client, "?standing=lapsed") == ["Kim Minji</a", "Park 100%</a"]
    assert _listed(admin_client, "?q=kim&standing=active") == []
    assert len(_listed(admin_client, "?standing=boss")) == 6


def test_member_list_is_paginated(admin_client, admin):
    import_roll(roll_csv(*(f"M {n:03d},m{n}@example.org,," for n in range(120))), actor=admin)
    db.session.commit()
    first = admin_client.get("/admin/members/").get_data(as_text=True)
    assert "121 members" in first and "Page 1 of 3" in first and "Next page" in first
    assert len(_listed(admin_client)) == 50
    last = _listed(admin_client, "?page=3")
    assert len(last) == 21 and last[-1] == "M 119</a"
    assert len(_listed(admin_client, "?page=x")) == 50


def _queued() -> list[tuple[str, str]]:
    """(recipient, subject) of every message in the outbox, in order."""
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [(message.recipient, message.subject) for message in messages]


INVITATION = "You are invited to Test Tenants Union"
RESET = "Set a new password for Test Tenants Union"


@pytest.mark.parametrize(
    ("password", "subject", "flashed"),
    [
        (None, INVITATION, "An invitation was queued for kim@example.org."),
        (PASSWORD, RESET, "A link to set a new password was queued for kim@example.org."),
    ],
    ids=["no password yet: invitation", "has a password: password reset"],
)
def test_emailing_a_link_invites_a_new_member_and_resets_a_members_password(
    admin_client, make_member, password, subject, flashed
):
    kim = make_member(email="kim@example.org", password=password)
    response = admin_client.post(f"/admin/members/{kim.id}/invite", follow_redirects=True)
    assert flashed in response.get_data(as_text=True)
    assert _queued() == [("kim@example.org", subject)]
    purposes = db.session.scalars(select(AuthToken.purpose).filter_by(member_id=kim.id)).all()
    assert purposes == [
        TokenPurpose.INVITATION if password is None else TokenPurpose.PASSWORD_RESET
    ]


def test_inviting_everyone_invites_only_active_members_without_a_password(
    admin_client, make_member
):
    make_member(email="kim@example.org", password=None)
    make_member(email="lee@example.org", password=None)
    make_member(email="has-password@example.org")
    make_member(email="suspended@example.org", password=None, standing="suspended")
    make_member(email="lapsed@example.org", password=None, standing="lapsed")

    page = admin_client.get("/admin/members/").get_data(as_text=True)
    assert "Invite active members who have no password yet" in page
    response = admin_client.post("/admin/members/invite-all", follow_redirects=True)
    assert "2 invitations were queued for active members without a password." in (
        response.get_data(as_text=True)
    )
    assert _queued() == [("kim@example.org", INVITATION), ("lee@example.org", INVITATION)]
