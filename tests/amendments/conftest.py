"""A code of conduct and a proposer, shared by the amendment tests."""

import pytest

from govern.documents import services as documents
from govern.extensions import db

V1 = "# Code of Conduct\n\nBe kind.\n\nNo harassment.\n\nReport problems to the IGO.\n"
PROPOSED = V1.replace("Be kind.", "Be kind and patient.")


@pytest.fixture
def document(app, clock):
    versions = documents.import_versions(
        [documents.VersionFile(data=V1.encode())], title="Code of Conduct", slug="coc"
    )
    db.session.commit()
    return versions[0].document


@pytest.fixture
def proposer(make_member):
    return make_member(name="Pat Proposer", email="pat@example.org")
