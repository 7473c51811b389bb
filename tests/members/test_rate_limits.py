"""Rate limits count per client and per submitted address, also behind a reverse proxy."""

import pytest
from flask import request
from sqlalchemy import func, select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from tests.conftest import PASSWORD

BEHIND_ONE_PROXY = {"PROXY_FIX_X_FOR": 1}


@pytest.fixture
def app_config(request, tmp_path) -> dict:
    """Rate limits on; a test may add settings with `indirect` parametrization."""
    extra = getattr(request, "param", {})
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), "RATELIMIT_ENABLED": True, **extra}


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def through_proxy(client_address: str) -> dict:
    """A request as the proxy passes it on: from the proxy, naming the client in a header."""
    return {
        "environ_base": {"REMOTE_ADDR": "10.0.0.1"},
        "headers": {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https"},
    }


def sign_in(client, email: str, password: str, **request):
    return client.post("/auth/sign-in", data={"email": email, "password": password}, **request)


@pytest.mark.parametrize(
    ("app_config", "other_client_status"),
    [
        pytest.param(BEHIND_ONE_PROXY, 302, id="behind-a-proxy"),
        # Without a proxy of ours, X-Forwarded-For is anyone's to write: it must not count.
        pytest.param({}, 429, id="no-proxy"),
    ],
    indirect=["app_config"],
)
def test_sign_in_limit_counts_each_client_behind_the_proxy(
    app, client, make_member, other_client_status
):
    member = make_member()
    for number in range(10):
        response = sign_in(client, f"guess{number}@example.org", "no", **through_proxy("192.0.2.1"))
        assert response.status_code == 200
    assert sign_in(client, member.email, PASSWORD, **through_proxy("192.0.2.1")).status_code == 429
    response = sign_in(client, member.email, PASSWORD, **through_proxy("192.0.2.2"))
    assert response.status_code == other_client_status


@pytest.mark.parametrize("app_config", [BEHIND_ONE_PROXY], indirect=True, ids=["behind-a-proxy"])
def test_behind_the_proxy_the_app_sees_the_clients_address_and_scheme(app, client):
    seen = {}

    @app.get("/whoami")
    def whoami():
        seen.update(address=request.remote_addr, scheme=request.scheme)
        return ""

    client.get("/whoami", **through_proxy("192.0.2.7"))
    assert seen == {"address": "192.0.2.7", "scheme": "https"}


def test_guessing_one_members_password_from_many_clients_is_limited(app, make_member):
    member = make_member(email="mina@example.org")
    spellings = ["mina@example.org", " MINA@example.org", "Mina@Example.org "]
    for number in range(10):
        client = app.test_client()
        response = sign_in(
            client, spellings[number % 3], "wrong", **from_address(f"198.51.100.{number}")
        )
        assert response.status_code == 200

    client = app.test_client()
    response = sign_in(client, member.email, PASSWORD, **from_address("198.51.100.99"))
    assert response.status_code == 429
    assert "Sign out" not in client.get("/").get_data(as_text=True)
    # Another member, from the same client, is not held up.
    other = make_member(email="ola@example.org")
    response = sign_in(client, other.email, PASSWORD, **from_address("198.51.100.99"))
    assert response.status_code == 302


@pytest.mark.parametrize("email", ["mina@example.org", "stranger@example.org"])
def test_forgot_password_for_one_address_is_limited_from_any_client(app, make_member, email):
    make_member(email="mina@example.org")
    assert app.config["FORGOT_PASSWORD_ADDRESS_RATE_LIMIT"] == "5 per hour"
    for number in range(5):
        response = app.test_client().post(
            "/auth/forgot-password", data={"email": email}, **from_address(f"203.0.113.{number}")
        )
        assert response.status_code == 302
    refused = app.test_client().post(
        "/auth/forgot-password", data={"email": email.upper()}, **from_address("203.0.113.99")
    )
    # The same for members and strangers, so the limit tells nothing about membership.
    assert refused.status_code == 429
    queued = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert queued == (5 if email == "mina@example.org" else 0)
    other = app.test_client().post(
        "/auth/forgot-password", data={"email": "ola@example.org"}, **from_address("203.0.113.99")
    )
    assert other.status_code == 302
