from urllib.parse import urljoin, urlsplit

import pytest

from govern.members.models import Member
from tests.conftest import PASSWORD


def test_member_signs_in_and_out(client, make_member, sign_in):
    member = make_member(name="Mina Member")
    sign_in(member)
    page = client.get("/").get_data(as_text=True)
    assert "Mina Member" in page and "Sign out" in page
    client.post("/auth/sign-out")
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part(client, make_member):
    member = make_member()
    wrong = client.post("/auth/sign-in", data={"email": member.email, "password": "nope"})
    unknown = client.post("/auth/sign-in", data={"email": "who@example.org", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "That email and password do not match." in response.get_data(as_text=True)
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_sign_in_ignores_email_case(client, make_member):
    member: Member = make_member(email="mina@example.org")
    response = client.post(
        "/auth/sign-in", data={"email": " MINA@Example.org ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert member.name in client.get("/").get_data(as_text=True)


def stays_on_this_site(location: str) -> bool:
    # Resolved as a browser would: tabs and line breaks dropped, "\" read as "/".
    resolved = urlsplit(urljoin("http://localhost/auth/sign-in", location.replace("\\", "/")))
    return resolved.scheme == "http" and resolved.netloc == "localhost"


# `next` as it appears in the query string, and where signing in then leads.
NEXT_TARGETS = [
    ("//evil.com", "/"),
    ("///evil.com", "/"),
    ("/%2F/evil.com", "/"),
    ("/%09/evil.com", "/"),
    ("/%0A/x", "/"),
    ("/%0D%0ALocation:%20https://evil.com", "/"),
    ("/%00/evil.com", "/"),
    ("/%E3%80%80/evil.com", "/"),
    ("%20//evil.com", "/"),
    ("/%5Cevil.com", "/"),
    ("%5C%5Cevil.com", "/"),
    ("/%5C/evil.com", "/"),
    ("https://evil.com/", "/"),
    ("https:evil.com", "/"),
    ("javascript:alert(1)", "/"),
    ("evil.com", "/"),
    ("", "/"),
    ("/", "/"),
    ("/documents/bylaws", "/documents/bylaws"),
    ("/admin/members/%3Fq%3Dkim%26standing%3Dactive", "/admin/members/?q=kim&standing=active"),
    ("/documents/bylaws%23article-2", "/documents/bylaws#article-2"),
    ("/%2509/evil.com", "/%09/evil.com"),  # still a path: browsers drop only a raw tab
]


@pytest.mark.parametrize(("next_value", "expected"), NEXT_TARGETS)
def test_sign_in_leads_only_to_a_page_of_this_site(client, make_member, next_value, expected):
    member = make_member()
    response = client.post(
        f"/auth/sign-in?next={next_value}", data={"email": member.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == expected
    assert stays_on_this_site(response.location)
