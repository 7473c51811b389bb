"""The PostgreSQL database a benchmark creates for itself and drops afterwards."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

POSTGRES_URL = os.environ.get(
    "GOVERN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def temporary_postgres_url(prefix: str) -> Iterator[str | None]:
    """The URL of a new, empty database, or None (with a message) when PostgreSQL is away."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{os.getpid()}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        print(f"\nPostgreSQL not reachable at {POSTGRES_URL} ({error.orig}); skipped.")
        admin.dispose()
        yield None
        return
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
