"""A live server on SQLite and Debian's Chromium driven by Playwright."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from govern import create_app
from govern.extensions import db
from govern.members.models import Member, MemberRole
from tests.conftest import BASE_CONFIG, IN_CI, PASSWORD, PASSWORD_HASH

CHROMIUM = Path(os.environ.get("GOVERN_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}; run `make test` as root to install it"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_app(sqlite_template, tmp_path, monkeypatch):
    """The app on a SQLite file, with CSRF on as in production."""
    path = tmp_path / "live.sqlite3"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            **BASE_CONFIG,
            "WTF_CSRF_ENABLED": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "MAIL_DIRECTORY": str(tmp_path / "mail"),
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.console_errors = errors
    yield page
    context.close()


def check_accessibility(page) -> None:
    """No WCAG 2.1 A/AA violation reported by axe-core on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            "resultTypes": ["violations"],
        },
    )
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


@pytest.fixture
def admin_account(live_app):
    with live_app.app_context():
        member = Member(name="Ada Admin", email="admin@example.org", password_hash=PASSWORD_HASH)
        member.role_rows = [MemberRole(role="admin")]
        db.session.add(member)
        db.session.commit()
    return "admin@example.org"


def sign_in(page, email: str, name: str = "Ada Admin") -> None:
    page.goto("/auth/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def propose_to_the_code_of_conduct(people: list[tuple[str, str, list[str]]], procedure=None):
    """The code of conduct, the members (name, email, roles) and Mina's proposal to it,
    acknowledged by Rosa; in the caller's app context. Gives the proposal and the members
    by email."""
    from govern.amendments import services as amendments
    from govern.documents import services as documents
    from tests.governance import PROPOSED, V1

    document = documents.import_versions(
        [documents.VersionFile(data=V1.encode())], title="Code of Conduct", slug="coc"
    )[0].document
    members = {}
    for name, email, roles in people:
        member = Member(name=name, email=email, password_hash=PASSWORD_HASH)
        member.role_rows = [MemberRole(role=role) for role in roles]
        db.session.add(member)
        members[email] = member
    db.session.flush()
    if procedure is not None:
        amendments.set_procedure(document, procedure, members["admin@example.org"])
    mina, rosa = members["mina@example.org"], members["rosa@example.org"]
    proposal = amendments.start_draft(mina, document, "Patience", "Because.", PROPOSED)
    amendments.submit(proposal, mina)
    amendments.acknowledge(proposal, rosa)
    return proposal, members
