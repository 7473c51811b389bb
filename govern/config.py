"""Settings: defaults, then instance/config.py, then the environment."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


DEFAULTS: dict[str, object] = {
    "GOVERN_ENV": "production",
    "ORGANIZATION_NAME": "Our Organization",
    "ORGANIZATION_TIMEZONE": "UTC",
    "ORGANIZATION_LOCALE": "en",
    # Required outside development: links in mail are built from it.
    "PUBLIC_URL": "",
    "DOCUMENTS_PUBLIC": True,
    "MAX_DOCUMENT_BYTES": 1_000_000,
    "MAX_CONTENT_LENGTH": 8_000_000,
    # The roll import posts the checked CSV back as a form field for confirmation.
    "MAX_FORM_MEMORY_SIZE": 8_000_000,
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_USE_STARTTLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_TIMEOUT": 30,
    "MAIL_DEFAULT_SENDER": "govern@localhost",
    "MAIL_MAX_ATTEMPTS": 12,
    "MAIL_SENDING_LEASE_SECONDS": 300,
    "INVITATION_TTL_HOURS": 168,
    "PASSWORD_RESET_TTL_HOURS": 2,
    "SIGN_IN_RATE_LIMIT": "10 per minute;50 per hour",
    "TOKEN_RATE_LIMIT": "20 per minute",
    # Per submitted address, from any number of clients: one member's password or mailbox.
    "SIGN_IN_ADDRESS_RATE_LIMIT": "10 per minute;50 per hour",
    "FORGOT_PASSWORD_ADDRESS_RATE_LIMIT": "5 per hour",
    # Per member: the live redline preview asks once a pause in typing.
    "PREVIEW_RATE_LIMIT": "120 per minute",
    # Per member: wrong meeting codes typed at self check-in.
    "CHECK_IN_RATE_LIMIT": "10 per minute;30 per hour",
    # Per member: new ballot links asked for; each one mails them and voids the last.
    "BALLOT_LINK_RATE_LIMIT": "3 per hour",
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host.
    "PROXY_FIX_X_FOR": 0,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Error messages leave out query parameters: they could hold a voter's mail or choice.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
}

# Read from the environment under these exact names, converted to the default's type.
ENVIRONMENT_SETTINGS = [name for name in DEFAULTS if name.isupper() and "ENGINE" not in name] + [
    "SECRET_KEY",
    "DATABASE_URL",
    "MAIL_DIRECTORY",
]
# Whole numbers that may also be left unset ("" in the environment means None).
OPTIONAL_WHOLE_NUMBERS = {"WTF_CSRF_TIME_LIMIT"}
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"


def _convert(name: str, raw: str) -> object:
    default = DEFAULTS.get(name)
    if name in OPTIONAL_WHOLE_NUMBERS:
        return _whole_number(name, raw) if raw.strip() else None
    if isinstance(default, bool):
        if raw.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.strip().lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigurationError(f"{name} must be true or false, not {raw!r}")
    if isinstance(default, int):
        return _whole_number(name, raw)
    return raw


def _whole_number(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None


def database_uri(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for name in ENVIRONMENT_SETTINGS:
        if name in os.environ:
            app.config[name] = _convert(name, os.environ[name])
    if test_config:
        app.config.from_mapping(test_config)

    is_development = app.config["GOVERN_ENV"] == "development" or app.debug
    app.config["IS_DEVELOPMENT"] = is_development
    instance = Path(app.instance_path)

    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'govern.sqlite3'}"
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", database_uri(url))
    app.config.setdefault("MAIL_DIRECTORY", str(instance / "mail"))

    if not app.config.get("SECRET_KEY"):
        if not is_development:
            raise ConfigurationError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable (or put "
                "SECRET_KEY = '...' in instance/config.py) to a long random string, e.g. the "
                "output of: python -c 'import secrets; print(secrets.token_hex(32))'. "
                "For local development, set GOVERN_ENV=development instead."
            )
        app.config["SECRET_KEY"] = _development_secret_key(instance)

    _check_public_url(app, is_development)
    if app.config["PROXY_FIX_X_FOR"] < 0:
        raise ConfigurationError("PROXY_FIX_X_FOR must be 0 (no proxy) or the number of proxies")

    if not is_development:
        # Production is served over HTTPS; cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    try:
        ZoneInfo(app.config["ORGANIZATION_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"ORGANIZATION_TIMEZONE {app.config['ORGANIZATION_TIMEZONE']!r} is not a time zone "
            "name such as 'Europe/Berlin' or 'Asia/Seoul'"
        ) from None
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["ORGANIZATION_TIMEZONE"]
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["ORGANIZATION_LOCALE"]


def _check_public_url(app: Flask, is_development: bool) -> None:
    if not app.config["PUBLIC_URL"]:
        if not is_development:
            raise ConfigurationError(
                "PUBLIC_URL is not set. Set the PUBLIC_URL environment variable (or put "
                "PUBLIC_URL = '...' in instance/config.py) to the address members open, e.g. "
                "https://members.example.org: the links in invitation and password mails "
                "are built from it. For local development, set GOVERN_ENV=development instead."
            )
        app.config["PUBLIC_URL"] = DEVELOPMENT_PUBLIC_URL
    public = urlsplit(app.config["PUBLIC_URL"])
    if public.scheme not in {"http", "https"} or not public.netloc:
        raise ConfigurationError(
            f"PUBLIC_URL {app.config['PUBLIC_URL']!r} is not an address such as "
            "https://members.example.org"
        )


def _development_secret_key(instance: Path) -> str:
    """A key kept in instance/ so development sessions survive a restart."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
