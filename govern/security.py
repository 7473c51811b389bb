"""Security headers, sign-in wiring and link tokens."""

import secrets

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from govern.extensions import db, login_manager

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def new_token() -> str:
    """A link token with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def _set_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def init_app(app: Flask) -> None:
    from govern.members.models import Member

    hops = app.config["PROXY_FIX_X_FOR"]
    if hops:
        # Trust only as many X-Forwarded-* entries as there are proxies of our own:
        # the client's address is then the real one, for rate limits above all.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.after_request(_set_headers)
    if not app.config["IS_DEVELOPMENT"]:

        @app.after_request
        def _strict_transport(response: Response) -> Response:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            return response

    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_member(login_id: str) -> Member | None:
        return db.session.scalar(db.select(Member).filter_by(login_id=login_id))
