"""Every state-changing request needs a CSRF token; without one nothing changes."""

import pytest
import sqlalchemy as sa

from govern.extensions import db
from tests.conftest import PASSWORD, csrf_token


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), "WTF_CSRF_ENABLED": True}


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def _post_urls(app, admin) -> list[str]:
    values = {
        "member_id": admin.id,
        "token": "x" * 43,
        "slug": "code-of-conduct",
        "amendment_id": 1,
        "item_id": 1,
        "vote_id": 1,
        "meeting_id": 1,
        "request_id": 1,
        "ouch_id": 1,
        "ballot_id": 1,
    }
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" in rule.methods:
                urls.append(app.url_for(rule.endpoint, **{a: values[a] for a in rule.arguments}))
    return urls


def test_sign_in_form_carries_a_token_and_works_with_it(client, admin):
    page = client.get("/auth/sign-in").get_data(as_text=True)
    response = client.post(
        "/auth/sign-in",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302


def test_every_post_route_refuses_a_request_without_csrf_token(app, client, admin):
    page = client.get("/auth/sign-in").get_data(as_text=True)
    client.post(
        "/auth/sign-in",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    urls = _post_urls(app, admin)
    assert len(urls) >= 8, urls
    before = _row_counts()
    for url in urls:
        response = client.post(
            url,
            data={"name": "Eve", "email": "eve@example.org", "standing": "lapsed", "roles": []},
        )
        assert response.status_code == 400, url
        assert "did not come from this site" in response.get_data(as_text=True), url
    assert _row_counts() == before
    # Still signed in: the refused posts did not sign the admin out either.
    assert "Sign out" in client.get("/").get_data(as_text=True)
