"""A code of conduct, its proposer and receivers, and a proposal: shared by the amendment
and meeting tests (registered as a plugin in tests/conftest.py)."""

import threading

import pytest

from govern.amendments import services
from govern.documents import services as documents
from govern.extensions import db

V1 = "# Code of Conduct\n\nBe kind.\n\nNo harassment.\n\nReport problems to the IGO.\n"
PROPOSED = V1.replace("Be kind.", "Be kind and patient.")
# What a form's hidden form_token holds: the same form sent twice acts once.
TOKEN = "a-form-token-0123456789"


def at_once(app, client, url: str, data: dict, times: int = 6) -> list:
    """POST the same form `times` times at the same moment, as a frantic double click
    would, each request on its own thread and database connection, with `client`'s cookie."""
    cookie = client.get_cookie("session")
    start = threading.Barrier(times)
    responses = [None] * times

    def post(number: int) -> None:
        other = app.test_client()
        other.set_cookie("session", cookie.value)
        start.wait()
        responses[number] = other.post(url, data=data)

    threads = [threading.Thread(target=post, args=(number,)) for number in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


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


@pytest.fixture
def receiver(make_member):
    return make_member(name="Rae Receiver", email="rae@example.org", roles=["receiver"])


@pytest.fixture
def receivers(make_member):
    """Two receivers, for what goes to all of them."""
    return [
        make_member(name="Rita Receiver", email="rita@example.org", roles=["receiver"]),
        make_member(name="Ravi Receiver", email="ravi@example.org", roles=["receiver"]),
    ]


@pytest.fixture
def draft(document, proposer):
    amendment = services.start_draft(proposer, document, "Patience", "Because.", PROPOSED)
    db.session.commit()
    return amendment


@pytest.fixture
def submitted(draft, proposer, receiver):
    services.submit(draft, proposer)
    db.session.commit()
    return draft
