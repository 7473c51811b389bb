"""Database connection settings that the models rely on."""

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from govern.extensions import db


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def configure(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite" and not getattr(engine, "_govern_configured", False):
            event.listen(engine, "connect", _configure_sqlite)
            engine._govern_configured = True


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"
