"""govern: amend governing documents democratically and keep their history."""

import os
from pathlib import Path

from flask import Flask

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("GOVERN_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
    )
    os.makedirs(app.instance_path, exist_ok=True)

    from govern.config import load_config

    load_config(app, test_config)

    from govern import database, security, web
    from govern.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    database.configure(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, timezone_selector=web.select_timezone)
    login_manager.init_app(app)
    security.init_app(app)
    web.init_app(app)

    from govern import audit, cli  # noqa: F401  (audit: writes the trail at each commit)
    from govern.amendments.views import bp as amendments_bp
    from govern.audit import models as _audit_models  # noqa: F401
    from govern.ballots.views import bp as ballots_bp
    from govern.documents.views import bp as documents_bp
    from govern.meetings.attendance_views import bp as attendance_bp
    from govern.meetings.queue_views import bp as speakers_bp
    from govern.meetings.views import bp as meetings_bp
    from govern.meetings.votes_views import bp as meeting_votes_bp
    from govern.members.admin_views import bp as members_admin_bp
    from govern.members.auth_views import bp as auth_bp
    from govern.notices import models as _notice_models  # noqa: F401

    app.register_blueprint(auth_bp)
    app.register_blueprint(members_admin_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(amendments_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(attendance_bp)
    app.register_blueprint(meeting_votes_bp)
    app.register_blueprint(speakers_bp)
    app.register_blueprint(ballots_bp)
    cli.init_app(app)
    return app
