"""With DOCUMENTS_PUBLIC False, only signed-in members read the documents."""

import pytest

TEXT = "# Code of Conduct\n\n## Purpose\n\nWe organize.\n"
PAGES = [
    "/documents/",
    "/documents/code-of-conduct",
    "/documents/code-of-conduct/versions/",
    "/documents/code-of-conduct/versions/1",
    "/documents/code-of-conduct/compare?old=1&new=2",
]


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), "DOCUMENTS_PUBLIC": False}


@pytest.fixture
def coc(make_document, clock):
    return make_document([TEXT, TEXT.replace("organize", "organize together")])


@pytest.mark.parametrize("url", PAGES)
def test_private_documents_send_anonymous_visitors_to_sign_in(client, coc, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in")
    assert "Code of Conduct" not in response.get_data(as_text=True)


def test_private_documents_are_not_listed_on_the_start_page(client, coc):
    html = client.get("/").get_data(as_text=True)
    assert "Sign in to read the documents." in html
    assert "Code of Conduct" not in html


@pytest.mark.parametrize("url", PAGES)
def test_private_documents_can_be_read_by_members(client, coc, make_member, sign_in, url):
    sign_in(make_member(name="Mina Member"))
    response = client.get(url)
    assert response.status_code == 200
    assert "Code of Conduct" in response.get_data(as_text=True)


def test_private_documents_can_be_read_by_suspended_members_too(client, coc, make_member, sign_in):
    sign_in(make_member(standing="suspended"))
    assert client.get("/documents/code-of-conduct").status_code == 200
