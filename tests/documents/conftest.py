"""Fixtures for the documents tests: documents with histories, row counts."""

from collections.abc import Sequence
from datetime import datetime

import pytest
from sqlalchemy import func, select

from govern.documents import services
from govern.documents.models import Document, TextFormat, Version
from govern.extensions import db


@pytest.fixture
def make_document(app):
    """A committed document whose versions are `texts`, oldest first, on `dates`."""

    def make(
        texts: Sequence[str],
        *,
        title: str = "Code of Conduct",
        slug: str = "code-of-conduct",
        dates: Sequence[datetime] | None = None,
        format: TextFormat = TextFormat.MARKDOWN,
    ) -> Document:
        files = [
            services.VersionFile(
                data=text.encode(),
                effective_at=dates[index] if dates else None,
                summary=f"Summary of version {index + 1}",
            )
            for index, text in enumerate(texts)
        ]
        versions = services.import_versions(files, title=title, slug=slug, format=format)
        db.session.commit()
        return versions[0].document

    return make


@pytest.fixture
def row_counts(app):
    """(documents, versions) in the database, read afresh."""

    def count() -> tuple[int, int]:
        db.session.rollback()
        return (
            db.session.scalar(select(func.count()).select_from(Document)),
            db.session.scalar(select(func.count()).select_from(Version)),
        )

    return count
