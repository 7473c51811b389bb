"""Configuration, security defaults and the schema: what every page relies on."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from govern import create_app
from govern.config import ConfigurationError, database_uri
from govern.extensions import db
from tests.conftest import PASSWORD

PUBLIC_URL = "https://members.example.org"


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    for name in (
        "SECRET_KEY",
        "GOVERN_ENV",
        "DATABASE_URL",
        "ORGANIZATION_NAME",
        "FLASK_DEBUG",
        "PUBLIC_URL",
        "WTF_CSRF_TIME_LIMIT",
        "PROXY_FIX_X_FOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def test_missing_secret_key_outside_development_is_a_clear_start_up_error(clean_environment):
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set"):
        create_app()


def test_missing_public_url_outside_development_is_a_clear_start_up_error(
    clean_environment, monkeypatch
):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    with pytest.raises(ConfigurationError, match="PUBLIC_URL is not set"):
        create_app()


def test_development_links_default_to_the_local_server(clean_environment, monkeypatch):
    monkeypatch.setenv("GOVERN_ENV", "development")
    assert create_app().config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    assert create_app().config["PUBLIC_URL"] == PUBLIC_URL


def test_development_keeps_its_generated_secret_key_across_restarts(clean_environment, monkeypatch):
    monkeypatch.setenv("GOVERN_ENV", "development")
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (clean_environment / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_defaults_then_instance_file_then_environment(
    clean_environment, monkeypatch
):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    assert create_app().config["ORGANIZATION_NAME"] == "Our Organization"
    clean_environment.mkdir(exist_ok=True)
    (clean_environment / "config.py").write_text(
        "ORGANIZATION_NAME = 'From the file'\nMAIL_PORT = 2525\n"
    )
    assert create_app().config["ORGANIZATION_NAME"] == "From the file"
    monkeypatch.setenv("ORGANIZATION_NAME", "From the environment")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("DOCUMENTS_PUBLIC", "false")
    config = create_app().config
    assert config["ORGANIZATION_NAME"] == "From the environment"
    assert config["MAIL_PORT"] == 587
    assert config["DOCUMENTS_PUBLIC"] is False
    assert config["PUBLIC_URL"] == PUBLIC_URL


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WTF_CSRF_TIME_LIMIT", None, None),
        ("WTF_CSRF_TIME_LIMIT", "", None),
        ("WTF_CSRF_TIME_LIMIT", "3600", 3600),
        ("PROXY_FIX_X_FOR", None, 0),
        ("PROXY_FIX_X_FOR", "2", 2),
    ],
)
def test_whole_number_settings_from_the_environment_are_numbers(
    clean_environment, monkeypatch, name, value, expected
):
    monkeypatch.setenv("GOVERN_ENV", "development")
    if value is not None:
        monkeypatch.setenv(name, value)
    assert create_app().config[name] == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ORGANIZATION_TIMEZONE", "Mars/Olympus", "is not a time zone"),
        ("MAIL_PORT", "twenty-five", "must be a whole number"),
        ("DOCUMENTS_PUBLIC", "perhaps", "must be true or false"),
        ("WTF_CSRF_TIME_LIMIT", "an hour", "WTF_CSRF_TIME_LIMIT must be a whole number"),
        ("PROXY_FIX_X_FOR", "-1", "PROXY_FIX_X_FOR must be 0"),
        ("PUBLIC_URL", "members.example.org", "is not an address such as"),
        ("PUBLIC_URL", "ftp://members.example.org", "is not an address such as"),
    ],
)
def test_a_wrong_setting_is_named_in_the_error(
    clean_environment, monkeypatch, name, value, message
):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        create_app()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_url_uses_psycopg_3_for_postgresql(url, expected):
    assert database_uri(url) == expected


def test_production_cookies_are_secure_and_http_only(clean_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    config = create_app().config
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_every_page_has_security_headers_and_a_csp_without_inline_script(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_http_only_and_same_site(client, make_member):
    member = make_member()
    response = client.post("/auth/sign-in", data={"email": member.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_foreign_keys_are_enforced(app, is_postgresql):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text("INSERT INTO member_roles (member_id, role) VALUES (4242, 'admin')")
        )
        db.session.flush()
    db.session.rollback()
    if not is_postgresql:
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_models_and_migrations_agree(app):
    """The test databases are built by the migrations; the models must match them."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_unknown_page_is_a_clear_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no such page." in response.get_data(as_text=True)


def test_times_are_stored_as_aware_utc(app, make_member):
    member = make_member()
    db.session.expire_all()
    assert member.created_at.utcoffset().total_seconds() == 0


def test_an_unexpected_error_gets_a_clear_page_and_changes_nothing(app, client):
    from govern.members.models import Member

    def failing_view():
        db.session.add(Member(name="Half Done", email="half@example.org"))
        db.session.flush()
        raise RuntimeError("a bug")

    app.add_url_rule("/failing", view_func=failing_view)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/failing")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/admin/members/99999999999999999999999",
        "/admin/members/2147483648",
        "/admin/members/0",
        "/amendments/99999999999999999999999",
        "/amendments/2147483648/edit",
    ],
)
def test_an_id_no_row_can_have_is_a_404_not_an_error(admin_client, path):
    assert admin_client.get(path).status_code == 404
