"""Fixtures: the app on SQLite and on PostgreSQL, members, a movable clock, real SMTP,
the real worker process."""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import jinja2
import pytest
import sqlalchemy as sa
from flask import g
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from govern import clock as govern_clock
from govern import create_app
from govern.extensions import db
from govern.members.models import Member, MemberRole

# A code of conduct, its proposer and receivers, and a proposal, for any test that needs them.
pytest_plugins = ["tests.governance"]

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "GOVERN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery staple"
# One hash for every test member: hashing costs ~50 ms each on purpose.
PASSWORD_HASH = generate_password_hash(PASSWORD)

BASE_CONFIG = {
    "TESTING": True,
    "GOVERN_ENV": "development",
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "ORGANIZATION_NAME": "Test Tenants Union",
    "ORGANIZATION_TIMEZONE": "Europe/Berlin",
    "PUBLIC_URL": "http://govern.test",
    "MAIL_DEFAULT_SENDER": "govern@govern.test",
    "SQLALCHEMY_ENGINE_OPTIONS": {},
}


@contextmanager
def _instance_path_set_to(path) -> Iterator[None]:
    """Set GOVERN_INSTANCE_PATH for a session fixture, then put back what was there."""
    previous = os.environ.get("GOVERN_INSTANCE_PATH")
    os.environ["GOVERN_INSTANCE_PATH"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["GOVERN_INSTANCE_PATH"]
        else:
            os.environ["GOVERN_INSTANCE_PATH"] = previous


def _migrated(url: str) -> None:
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _instance_path(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    with _instance_path_set_to(folder / "instance"):
        _migrated(f"sqlite:///{path}")
    return str(path)


def _postgres_admin_engine():
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory) -> str:
    """A database of its own for each pytest-xdist worker, migrated once."""
    admin = _postgres_admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {error.orig}"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message + "; set GOVERN_TEST_DATABASE_URL to run the PostgreSQL tests")
    # Unique per process, so two test runs on one machine never share a database.
    name = f"govern_test_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    folder = tmp_path_factory.mktemp("pg-instance")
    with _instance_path_set_to(folder):
        _migrated(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = [table.name for table in db.metadata.sorted_tables]
        connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "govern.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")
        yield url
        _truncate_all(url)


@pytest.fixture
def app_config(tmp_path) -> dict:
    """Override in a test module (or update in a test before `app`) to change settings."""
    return {"MAIL_DIRECTORY": str(tmp_path / "mail")}


class TemplatesCompiledOnce(jinja2.BytecodeCache):
    """Every test builds its own app; this spares each one compiling the same templates.
    A template changed meanwhile has another checksum, so it is compiled afresh."""

    compiled: dict[tuple[str, str], bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (bucket.key, bucket.checksum) in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key, bucket.checksum])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key, bucket.checksum] = bucket.bytecode_to_string()


@pytest.fixture
def app(database_url, app_config):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **app_config})
    app.jinja_env.bytecode_cache = TemplatesCompiledOnce()

    # The test holds one app context, which test-client requests reuse: without this,
    # `g` (where Flask-Login keeps the signed-in member) and loaded objects would carry
    # over from one request, and one client, to the next. In production each request
    # starts afresh.
    @app.before_request
    def _start_afresh() -> None:
        g.pop("_login_user", None)
        db.session.expire_all()

    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def is_postgresql(database_url) -> bool:
    return database_url.startswith("postgresql")


class MovableClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock():
    moving = MovableClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    govern_clock.set_now(moving)
    yield moving
    govern_clock.set_now(None)


@pytest.fixture
def make_member(app):
    counter = iter(range(1, 1_000_000))

    def make(
        name: str | None = None,
        email: str | None = None,
        roles=(),
        standing: str = "active",
        password: str | None = PASSWORD,
    ) -> Member:
        number = next(counter)
        member = Member(
            name=name or f"Member {number}",
            email=email or f"member{number}@example.org",
            standing=standing,
            password_hash=PASSWORD_HASH
            if password == PASSWORD
            else (generate_password_hash(password) if password else None),
        )
        member.role_rows = [MemberRole(role=role) for role in roles]
        db.session.add(member)
        db.session.commit()
        return member

    return make


@pytest.fixture
def sign_in(client):
    def sign_in_as(member: Member, password: str = PASSWORD):
        response = client.post("/auth/sign-in", data={"email": member.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return sign_in_as


@pytest.fixture
def admin(make_member) -> Member:
    return make_member(name="Ada Admin", email="admin@example.org", roles=["admin"])


@pytest.fixture
def admin_client(client, admin, sign_in):
    sign_in(admin)
    return client


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


class SMTPRecorder:
    """An aiosmtpd handler keeping every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowRecorder(SMTPRecorder):
    """Takes `delay` seconds to accept each message, like a busy server.

    `on_accept(count)` runs once a message is kept, before the client hears "250".
    """

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.on_accept: Callable[[int], None] = lambda count: None

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        reply = await super().handle_DATA(server, session, envelope)
        self.on_accept(len(self.messages))
        return reply


class RefusingRecorder(SMTPRecorder):
    """Answers RCPT TO for the addresses in `replies` with the reply given, e.g. 550."""

    def __init__(self, replies: dict[str, str]) -> None:
        super().__init__()
        self.replies = replies

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


Handler = TypeVar("Handler")


@pytest.fixture
def start_smtp():
    """Start a real SMTP server on localhost with the aiosmtpd handler given (an
    SMTPRecorder, say); gives the handler back with `.port` set. It stops after the test."""
    from aiosmtpd.controller import Controller

    with ExitStack() as stack:

        def start(handler: Handler) -> Handler:
            controller = Controller(handler, hostname="127.0.0.1", port=free_port())
            controller.start()
            stack.callback(controller.stop)
            handler.port = controller.port
            return handler

        yield start


@pytest.fixture
def use_smtp(app):
    """Point the app's mail at a server (or, with a closed port, at nothing)."""

    def use(port: int) -> None:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)

    return use


@pytest.fixture
def smtp_server(start_smtp):
    """A real SMTP server on localhost; `.messages` holds what it accepted."""
    return start_smtp(SMTPRecorder())


@pytest.fixture
def smtp_config(smtp_server, use_smtp):
    """Point the app's mail at the test SMTP server."""
    use_smtp(smtp_server.port)
    return smtp_server


@pytest.fixture
def start_worker(app, tmp_path):
    """Run `flask --app govern worker` against the test database, as production would.

    `start_worker(smtp_port, *options, lease_seconds=1)` starts one more worker process,
    mailing through the server at `smtp_port`, with the command's `options` (such as
    "--interval", "0.1") and MAIL_SENDING_LEASE_SECONDS. Any worker still running after
    the test is killed.
    """
    processes: list[subprocess.Popen] = []

    def start(smtp_port: int, *options: str, lease_seconds: int = 1) -> subprocess.Popen:
        environment = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "worker-test-secret",
            "GOVERN_ENV": "production",
            "PUBLIC_URL": "https://govern.test",
            "GOVERN_INSTANCE_PATH": str(tmp_path / "worker-instance"),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_SENDING_LEASE_SECONDS": str(lease_seconds),
        }
        command = [sys.executable, "-m", "flask", "--app", "govern", "worker", *options]
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_until(condition: Callable[[], bool], timeout: float = 30, every: float = 0.05) -> None:
    """Check `condition` every `every` seconds until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


Result = TypeVar("Result")


def concurrently(app, work: Callable[[], Result], times: int = 2) -> list[Result]:
    """Run `work` on `times` threads let go at the same moment, each in an app context, so
    a database session, of its own, as separate worker processes would; gives what each
    returned. An exception on a thread is raised here once all have ended."""
    start = threading.Barrier(times)
    results: list = [None] * times
    errors: list[BaseException] = []

    def run(number: int) -> None:
        with app.app_context():
            try:
                start.wait()
                results[number] = work()
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results
