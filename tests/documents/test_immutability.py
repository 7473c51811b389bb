"""Versions are history: the database itself refuses to change or delete one."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from govern.documents import services
from govern.documents.models import Version
from govern.extensions import db

TEXT = "# Code of Conduct\n\nWe organize together.\n"


@pytest.fixture
def version(make_document) -> Version:
    document = make_document([TEXT])
    return services.get_version(document, 1)


def stored_text(version_id: int) -> str:
    db.session.rollback()
    return db.session.execute(
        text("SELECT text FROM versions WHERE id = :id"), {"id": version_id}
    ).scalar_one()


def test_database_refuses_sql_update_of_a_version(version):
    with pytest.raises(DatabaseError, match="versions are immutable"):
        db.session.execute(
            text("UPDATE versions SET text = 'Rewritten.' WHERE id = :id"), {"id": version.id}
        )
        db.session.commit()
    assert stored_text(version.id) == TEXT


def test_database_refuses_sql_update_of_a_versions_date(version):
    with pytest.raises(DatabaseError, match="versions are immutable"):
        db.session.execute(
            text("UPDATE versions SET summary = 'other', number = 7 WHERE id = :id"),
            {"id": version.id},
        )
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Version, version.id).number == 1


def test_database_refuses_sql_delete_of_a_version(version):
    with pytest.raises(DatabaseError, match="versions are immutable"):
        db.session.execute(text("DELETE FROM versions WHERE id = :id"), {"id": version.id})
        db.session.commit()
    assert stored_text(version.id) == TEXT


def test_database_refuses_orm_update_of_a_version(version):
    version_id = version.id
    version.text = "Rewritten through the ORM."
    with pytest.raises(DatabaseError, match="versions are immutable"):
        db.session.commit()
    assert stored_text(version_id) == TEXT


def test_database_refuses_orm_delete_of_a_version(version):
    version_id = version.id
    db.session.delete(version)
    with pytest.raises(DatabaseError, match="versions are immutable"):
        db.session.commit()
    assert stored_text(version_id) == TEXT
