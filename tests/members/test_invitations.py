"""Invitations and forgotten passwords, end to end through a real SMTP server.

Rate limiting is on here, as in production.
"""

import base64
import re
import string
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

from govern.extensions import db
from govern.mail.delivery import deliver_due
from govern.mail.models import OutboxMessage
from govern.members import services
from govern.members.models import AuthToken, Member
from govern.members.services import authenticate, invite_member
from govern.security import new_token
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://govern\.test/auth/set-password/(\S+)")
LINK_INVALID = "This link does not work"
SET_PASSWORD = "/auth/set-password"


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), "RATELIMIT_ENABLED": True}


def delivered_links(smtp_server, to: str) -> list[str]:
    """Deliver the outbox; give the set-password paths mailed to `to`, oldest first."""
    deliver_due()
    return [
        urlsplit(LINK.search(email.get_content()).group(0)).path
        for email in smtp_server.messages
        if email["To"] == to
    ]


def invite(admin_client, member: Member, smtp_server) -> str:
    assert admin_client.post(f"/admin/members/{member.id}/invite").status_code == 302
    return delivered_links(smtp_server, member.email)[-1]


def open_link(client, path: str):
    """Open a mailed link as a browser does, following it to the set-password page."""
    return client.get(path, follow_redirects=True)


def set_password(client, path: str, password: str = NEW_PASSWORD):
    """Open the mailed link, then fill in the form it leads to."""
    client.get(path)
    return submit_password(client, password)


def submit_password(client, password: str = NEW_PASSWORD):
    return client.post(SET_PASSWORD, data={"password": password, "confirm": password})


def is_signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def reload(member: Member) -> Member:
    db.session.rollback()
    return db.session.get(Member, member.id)


@pytest.fixture
def invitee(make_member) -> Member:
    return make_member(name="Ines Invitee", email="ines@example.org", password=None)


def test_invited_member_sets_a_password_and_is_signed_in(app, admin_client, invitee, smtp_config):
    path = invite(admin_client, invitee, smtp_config)
    member_client = app.test_client()

    form = open_link(member_client, path)
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "Choose your password" in page and "Welcome, Ines Invitee." in page

    response = submit_password(member_client)
    assert response.status_code == 302
    assert is_signed_in(member_client)
    assert "Ines Invitee" in member_client.get("/").get_data(as_text=True)
    assert authenticate("ines@example.org", NEW_PASSWORD).id == invitee.id


def test_opening_a_link_leads_on_to_an_address_without_the_token(
    app, admin_client, invitee, smtp_config
):
    path = invite(admin_client, invitee, smtp_config)
    token = path.rsplit("/", 1)[1]
    member_client = app.test_client()

    opened = member_client.get(path)
    assert opened.status_code == 302
    assert opened.location == SET_PASSWORD  # access logs and history keep no usable token
    form = member_client.get(opened.location)
    assert form.status_code == 200
    assert token not in form.get_data(as_text=True)
    for response in (opened, form):
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_set_password_page_without_an_opened_link_is_refused(app, client, invitee):
    for response in (client.get(SET_PASSWORD), submit_password(client)):
        assert response.status_code == 404
        assert LINK_INVALID in response.get_data(as_text=True)
    assert reload(invitee).password_hash is None


def test_two_simultaneous_uses_of_one_link_set_exactly_one_password(
    app, admin_client, invitee, smtp_config, monkeypatch
):
    path = invite(admin_client, invitee, smtp_config)
    clients = [app.test_client(), app.test_client()]
    for member_client in clients:
        assert member_client.get(path).status_code == 302
    # Both requests have found the token usable before either spends it.
    both_checked = threading.Barrier(2, timeout=10)
    spend = services.set_password

    def set_password_together(token_row, password):
        both_checked.wait()
        return spend(token_row, password)

    monkeypatch.setattr(services, "set_password", set_password_together)
    passwords = ["first new passphrase", "second new passphrase"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(submit_password, clients, passwords))

    assert sorted(response.status_code for response in responses) == [302, 404]
    assert [authenticate(invitee.email, password) is not None for password in passwords] == [
        response.status_code == 302 for response in responses
    ]
    assert [is_signed_in(member_client) for member_client in clients] == [
        response.status_code == 302 for response in responses
    ]


def test_invitation_link_works_only_once(app, admin_client, invitee, smtp_config):
    path = invite(admin_client, invitee, smtp_config)
    set_password(app.test_client(), path)
    login_id = reload(invitee).login_id

    second = app.test_client()
    for response in (second.get(path), set_password(second, path, "another password here")):
        assert response.status_code == 404
        assert LINK_INVALID in response.get_data(as_text=True)

    assert not is_signed_in(second)
    assert reload(invitee).login_id == login_id
    assert authenticate("ines@example.org", NEW_PASSWORD) is not None
    assert authenticate("ines@example.org", "another password here") is None


def test_expired_invitation_link_is_refused(app, admin_client, invitee, smtp_config, clock):
    path = invite(admin_client, invitee, smtp_config)
    hours = app.config["INVITATION_TTL_HOURS"]

    clock.advance(hours=hours, seconds=-1)
    opened_in_time = app.test_client()
    assert open_link(opened_in_time, path).status_code == 200
    clock.advance(seconds=1)
    member_client = app.test_client()
    for response in (
        member_client.get(path),
        set_password(member_client, path),
        submit_password(opened_in_time),  # the form is no way around the expiry
    ):
        assert response.status_code == 404
        assert LINK_INVALID in response.get_data(as_text=True)
    assert reload(invitee).password_hash is None


def test_new_invitation_makes_the_older_link_stop_working(app, admin_client, invitee, smtp_config):
    older = invite(admin_client, invitee, smtp_config)
    newer = invite(admin_client, invitee, smtp_config)
    assert older != newer
    member_client = app.test_client()
    assert member_client.get(older).status_code == 404
    assert set_password(member_client, newer).status_code == 302


def test_setting_a_password_spends_the_members_other_links(app, admin_client, invitee, smtp_config):
    invitation = invite(admin_client, invitee, smtp_config)
    app.test_client().post("/auth/forgot-password", data={"email": invitee.email})
    [_, reset] = delivered_links(smtp_config, invitee.email)

    assert set_password(app.test_client(), reset).status_code == 302
    assert app.test_client().get(invitation).status_code == 404


def test_only_the_token_hash_is_stored(app, admin_client, invitee, smtp_config):
    path = invite(admin_client, invitee, smtp_config)
    token = path.rsplit("/", 1)[1]
    rows = db.session.execute(text("SELECT * FROM auth_tokens")).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert token not in stored
    assert token[:12] not in stored
    outbox_bodies = db.session.scalars(select(OutboxMessage.body_text)).all()
    assert token in outbox_bodies[0]  # only the mail carries it


def test_link_tokens_carry_at_least_256_random_bits(app, admin_client, invitee, smtp_config):
    token = invite(admin_client, invitee, smtp_config).rsplit("/", 1)[1]
    assert set(token) <= set(string.ascii_letters + string.digits + "-_")
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32

    tokens = [new_token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    assert {len(candidate) for candidate in tokens} == {len(token)}
    # Every one of the 64 symbols turns up, about equally often: no fixed parts.
    counts = [sum(candidate.count(symbol) for candidate in tokens) for symbol in set(token)]
    expected = 2000 * len(token) / 64
    assert all(0.8 * expected < count < 1.2 * expected for count in counts)


def forgot(client, email: str):
    return client.post("/auth/forgot-password", data={"email": email}, follow_redirects=True)


def test_forgot_password_answers_the_same_for_members_and_strangers(app, make_member, smtp_config):
    make_member(name="Mina Member", email="mina@example.org")
    for_member = forgot(app.test_client(), "mina@example.org")
    for_stranger = forgot(app.test_client(), "nobody@example.org")

    assert for_member.status_code == for_stranger.status_code == 200
    assert for_member.request.path == for_stranger.request.path == "/auth/sign-in"
    member_page = for_member.get_data(as_text=True).replace("mina@example.org", "EMAIL")
    stranger_page = for_stranger.get_data(as_text=True).replace("nobody@example.org", "EMAIL")
    assert member_page == stranger_page
    assert "If EMAIL belongs to a member, a link to set a new password is on its way." in (
        member_page
    )

    deliver_due()
    assert [email["To"] for email in smtp_config.messages] == ["mina@example.org"]
    assert smtp_config.messages[0]["Subject"] == "Set a new password for Test Tenants Union"


def test_password_reset_signs_in_and_signs_out_every_other_session(app, make_member, smtp_config):
    member = make_member(name="Mina Member", email="mina@example.org")
    old_session = app.test_client()
    old_session.post("/auth/sign-in", data={"email": member.email, "password": PASSWORD})
    assert is_signed_in(old_session)

    forgot(app.test_client(), member.email)
    [path] = delivered_links(smtp_config, member.email)
    new_session = app.test_client()
    page = open_link(new_session, path).get_data(as_text=True)
    assert "Choose a new password for mina@example.org." in page
    assert submit_password(new_session).status_code == 302

    assert is_signed_in(new_session)
    assert not is_signed_in(old_session)
    assert authenticate(member.email, PASSWORD) is None
    assert authenticate(member.email, NEW_PASSWORD) is not None


def test_password_reset_link_expires(app, make_member, smtp_config, clock):
    member = make_member(email="mina@example.org")
    forgot(app.test_client(), member.email)
    [path] = delivered_links(smtp_config, member.email)
    clock.advance(hours=app.config["PASSWORD_RESET_TTL_HOURS"])
    assert app.test_client().get(path).status_code == 404


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "x" * 5000,
        "한국어-토큰",
        "%ED%A0%80",  # not UTF-8
        "%00",
        "' OR 1=1 --",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_invalid_link_token_is_refused_clearly(app, client, invitee, token):
    path = f"/auth/set-password/{token}"
    for response in (client.get(path), set_password(client, path)):
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert LINK_INVALID in page
        assert "<img src=x" not in page
    assert reload(invitee).password_hash is None


def test_sign_in_is_refused_after_ten_attempts_a_minute(app, client, make_member):
    member = make_member()
    for _ in range(10):
        response = client.post("/auth/sign-in", data={"email": member.email, "password": "no"})
        assert response.status_code == 200
    response = client.post("/auth/sign-in", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts. Please wait a minute and try again." in response.get_data(
        as_text=True
    )
    assert int(response.headers["Retry-After"]) > 0
    assert not is_signed_in(client)


def test_forgot_password_is_refused_beyond_the_token_rate_limit(app, client, make_member):
    member = make_member()
    assert app.config["TOKEN_RATE_LIMIT"] == "20 per minute"
    for number in range(20):
        response = client.post("/auth/forgot-password", data={"email": f"x{number}@example.org"})
        assert response.status_code == 302
    response = client.post("/auth/forgot-password", data={"email": member.email})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuthToken)) == 0


def test_invitation_link_is_built_from_public_url_also_without_a_request(app, invitee):
    app.config["PUBLIC_URL"] = "https://members.example.org/govern/"
    invite_member(invitee)
    body = db.session.scalar(select(OutboxMessage.body_text))
    assert re.search(r"^https://members\.example\.org/govern/auth/set-password/\S{43}$", body, re.M)


def test_member_import_command_can_invite_the_new_members(app, tmp_path, smtp_config):
    roll = tmp_path / "roll.csv"
    roll.write_text("name,email,roles,standing\nAnn Archer,ann@example.org,,active\n")
    result = app.test_cli_runner().invoke(args=["members", "import", "--invite", str(roll)])
    assert result.exit_code == 0, result.output
    [path] = delivered_links(smtp_config, "ann@example.org")
    assert open_link(app.test_client(), path).status_code == 200
