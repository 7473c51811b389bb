"""Bad input on the amendment pages: a clear, specific message, and nothing changed.

Not here: who may act in which state, acting on a withdrawn proposal included, is every
cell of test_permission_matrix.py; the service-level limits are in test_amendments.py.
"""

import re

import pytest
from markupsafe import escape
from sqlalchemy import func, select, update

from govern.amendments import services
from govern.amendments.models import Amendment, AmendmentEvent
from govern.extensions import db
from govern.mail.models import OutboxMessage
from tests.conftest import PASSWORD
from tests.governance import PROPOSED, TOKEN, V1, at_once

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
NO_SUCH_PAGE = "There is no such page."


@pytest.fixture
def app_config(app_config):
    # A crash is a 500 page here, as a member would see it, not an exception in the test.
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def submitted(draft, proposer, receivers):
    services.submit(draft, proposer)
    db.session.commit()
    return draft


def form_data(title="Patience", rationale="Kindness.", text=PROPOSED, button="save") -> dict:
    labels = {"save": "Save draft", "preview": "Preview the redline"}
    return {"title": title, "rationale": rationale, "proposed_text": text, button: labels[button]}


def database() -> dict:
    """Every amendment as stored, and how many events and mails there are."""
    db.session.expire_all()
    rows = db.session.scalars(select(Amendment).order_by(Amendment.id))
    return {
        "amendments": [
            (a.id, a.state, a.title, a.rationale, a.proposed_text, a.base_version_id) for a in rows
        ],
        "events": db.session.scalar(select(func.count()).select_from(AmendmentEvent)),
        "mails": db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    }


def signed_in(app, member):
    """A browser of its own for `member`, beside the `client` another member uses."""
    client = app.test_client()
    response = client.post("/auth/sign-in", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def says(response, message: str) -> bool:
    return str(escape(message)) in response.get_data(as_text=True)


# Drafts: empty and oversized fields ------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": " \t "}, "A proposal needs a title."),
        ({"title": "x" * 201}, "The title is longer than 200 characters."),
        (
            {"rationale": "x" * 1_000_000},
            "The rationale is longer than 50,000 characters (it has 1,000,000).",
        ),
        (
            {"proposed_text": V1 + "x" * 1_000_000},
            f"The proposed text is too large ({(len(V1) + 1_000_000) / 1e6:g} MB); "
            "the limit is 1 MB.",
        ),
    ],
    ids=["empty-title", "long-title", "1MB-rationale", "1MB-text"],
)
def test_a_refused_draft_names_the_field_and_saves_nothing(
    client, draft, proposer, sign_in, fields, message
):
    (field, value), *_ = fields.items()
    sign_in(proposer)
    for url in ("/documents/coc/amendments/new", f"/amendments/{draft.id}/edit"):
        before = database()
        data = {**form_data(), field: value}
        response = client.post(url, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, url
        assert f'id="{field}-error"' in html and str(escape(message)) in html, url
        assert database() == before, url


def test_a_form_larger_than_the_request_limit_is_refused_with_the_limit(
    client, draft, proposer, sign_in
):
    sign_in(proposer)
    before = database()
    data = form_data(rationale="x" * 9_000_000)
    response = client.post(f"/amendments/{draft.id}/edit", data=data)
    assert response.status_code == 413
    assert says(response, "The upload is too large: the limit is 8 MB.")
    assert database() == before


# Script in a proposal ----------------------------------------------------------------------


def test_script_is_stored_as_text_and_escaped_on_every_page(
    app, client, document, proposer, receivers, sign_in
):
    title = f'Patience "><{SCRIPT[1:]}'
    rationale = f"Why:\n{SCRIPT}"
    text = V1.replace("Be kind.", f"Be kind. {SCRIPT} </textarea>{SCRIPT}")
    sign_in(proposer)
    preview = client.post(
        "/documents/coc/amendments/new", data=form_data(title, rationale, text, "preview")
    )
    client.post("/documents/coc/amendments/new", data=form_data(title, rationale, text))
    amendment = db.session.scalars(select(Amendment)).one()
    assert (amendment.title, amendment.rationale, amendment.proposed_text) == (
        title,
        rationale,
        text,
    )
    pages = {"preview": preview, "edit form": client.get(f"/amendments/{amendment.id}/edit")}
    client.post(f"/amendments/{amendment.id}/submit", data={"addressed_to": "0"})
    pages["amendment page (redline)"] = client.get(f"/amendments/{amendment.id}")
    pages["list"] = client.get("/amendments/")
    pages["search echoing the query"] = client.get(f"/amendments/?q={SCRIPT}")
    pages["withdraw confirmation"] = client.get(f"/amendments/{amendment.id}/withdraw")
    pages["refused submission"] = client.post(f"/amendments/{amendment.id}/submit")
    client.post(f"/amendments/{amendment.id}/withdraw")
    client.post(f"/amendments/{amendment.id}/revise")
    revision = db.session.scalars(select(Amendment).where(Amendment.id != amendment.id)).one()
    pages["the revision, linking back"] = client.get(f"/amendments/{revision.id}")
    pages["the original, linking on"] = client.get(f"/amendments/{amendment.id}")
    draft = services.start_draft(proposer, document, title, rationale, text)
    services.submit(draft, proposer)  # for the inbox: the first is withdrawn
    db.session.commit()
    pages["inbox"] = signed_in(app, receivers[0]).get("/amendments/inbox")

    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code in (200, 400), name
        assert "<script>" not in html and '"><script' not in html, name
        assert ESCAPED_SCRIPT in html, name


# Twice, stale, at the same moment ----------------------------------------------------------


def withdrawn(submitted, proposer):
    services.withdraw(submitted, proposer)
    db.session.commit()


@pytest.mark.parametrize(
    ("action", "actor", "prepare", "message"),
    [
        ("submit", "proposer", None, 'Cannot "Submit": the amendment is submitted.'),
        ("withdraw", "proposer", None, 'Cannot "Withdraw": the amendment is withdrawn.'),
        (
            "acknowledge",
            "rita",
            None,
            'Cannot "Acknowledge": the amendment is acknowledged.',
        ),
        ("revise", "proposer", withdrawn, "This proposal was revised already, as #2"),
    ],
    ids=["submit", "withdraw", "acknowledge", "revise"],
)
def test_a_double_click_acts_once_and_says_why_the_second_did_nothing(
    client, draft, proposer, receivers, sign_in, action, actor, prepare, message
):
    if action != "submit":
        services.submit(draft, proposer)
        db.session.commit()
    if prepare is not None:
        prepare(draft, proposer)
    sign_in(proposer if actor == "proposer" else receivers[0])
    url = f"/amendments/{draft.id}/{action}"
    data = {"addressed_to": "0"} if action == "submit" else {}
    assert client.post(url, data=data).status_code == 302
    after_first = database()
    second = client.post(url, data=data)
    assert second.status_code == 400
    assert says(second, message)
    assert database() == after_first


def test_saving_a_new_draft_twice_makes_one_draft(client, document, proposer, sign_in):
    sign_in(proposer)
    page = client.get("/documents/coc/amendments/new").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([\w-]+)"', page).group(1)
    data = {**form_data(), "form_token": token}
    first = client.post("/documents/coc/amendments/new", data=data)
    second = client.post("/documents/coc/amendments/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert len(database()["amendments"]) == 1


def test_a_double_click_whose_requests_run_at_once_makes_one_draft(
    app, client, document, proposer, sign_in
):
    sign_in(proposer)
    data = {**form_data(), "form_token": TOKEN}
    responses = at_once(app, client, "/documents/coc/amendments/new", data)
    assert {response.status_code for response in responses} == {302}
    assert len({response.location for response in responses}) == 1
    assert len(database()["amendments"]) == 1
    assert database()["events"] == 1


def test_the_same_form_changed_and_saved_again_is_a_second_draft(document, proposer):
    first = services.start_draft(proposer, document, "Patience", "Because.", PROPOSED, TOKEN)
    again = services.start_draft(proposer, document, "Patience", "Because.", PROPOSED, TOKEN)
    assert again is first
    changed = services.start_draft(proposer, document, "Patience!", "Because.", PROPOSED, TOKEN)
    assert changed is not first and changed.form_token is None
    # A token no form of ours makes protects nothing, and is not stored.
    odd = services.start_draft(proposer, document, "Patience", "Because.", PROPOSED, "x'; --")
    assert odd is not first and odd.form_token is None


def test_a_receiver_on_a_stale_page_is_told_another_acknowledged_and_nothing_repeats(
    client, app, submitted, receivers, sign_in
):
    rita, ravi = receivers
    sign_in(ravi)
    assert f"/amendments/{submitted.id}/acknowledge" in client.get("/amendments/inbox").text
    assert signed_in(app, rita).post(f"/amendments/{submitted.id}/acknowledge").status_code == 302
    after_rita = database()

    response = client.post(f"/amendments/{submitted.id}/acknowledge")
    assert response.status_code == 400
    assert says(response, 'Cannot "Acknowledge": the amendment is acknowledged.')
    assert says(response, "Acknowledge, by Rita Receiver")
    assert database() == after_rita


def test_two_receivers_acknowledging_at_the_same_moment_record_it_once(
    client, submitted, receivers, sign_in, monkeypatch
):
    rita, ravi = receivers
    acknowledge = services.acknowledge

    def rita_got_there_first(amendment, actor):
        # Ravi's request has read the proposal as submitted; Rita's commits now.
        with db.engine.begin() as connection:
            connection.execute(
                update(Amendment).where(Amendment.id == amendment.id).values(state="acknowledged")
            )
        acknowledge(amendment, actor)

    monkeypatch.setattr(services, "acknowledge", rita_got_there_first)
    sign_in(ravi)
    before = database()
    response = client.post(f"/amendments/{submitted.id}/acknowledge")
    assert response.status_code == 400
    assert says(response, "Someone else acted on this amendment at the same moment")
    after = database()
    assert after["events"] == before["events"] and after["mails"] == before["mails"]


def test_acting_on_a_proposal_withdrawn_meanwhile_is_refused_by_name(
    client, submitted, proposer, receivers, sign_in
):
    sign_in(receivers[0])
    assert f"/amendments/{submitted.id}/acknowledge" in client.get("/amendments/inbox").text
    services.withdraw(submitted, proposer)
    db.session.commit()
    before = database()
    response = client.post(f"/amendments/{submitted.id}/acknowledge")
    assert response.status_code == 400
    assert says(response, 'Cannot "Acknowledge": the amendment is withdrawn.')
    assert database() == before


def test_editing_a_draft_withdrawn_unsubmitted_does_not_claim_it_was_submitted(
    client, draft, proposer, sign_in
):
    services.withdraw(draft, proposer)
    db.session.commit()
    sign_in(proposer)
    before = database()
    response = client.post(f"/amendments/{draft.id}/edit", data=form_data(title="Changed"))
    assert response.status_code == 400
    assert says(response, "Only a draft can be edited")
    assert not says(response, "this proposal was submitted")
    assert database() == before


# Forged ids --------------------------------------------------------------------------------

AMENDMENT_ROUTES = [
    ("GET", ""),
    ("GET", "/edit"),
    ("POST", "/edit"),
    ("POST", "/submit"),
    ("GET", "/withdraw"),
    ("POST", "/withdraw"),
    ("POST", "/acknowledge"),
    ("POST", "/rebase"),
    ("POST", "/revise"),
]
FORGED_IDS = ["0", "-1", "2147483647", str(2**31), str(2**63), "abc", "1.5", "1e3", "%20"]


def test_a_forged_amendment_id_is_no_such_page_on_every_route(client, draft, make_member, sign_in):
    sign_in(make_member(roles=["receiver", "admin"]))
    before = database()
    wrong = []
    for amendment_id in [*FORGED_IDS, draft.id]:  # the last: another member's draft
        for method, action in AMENDMENT_ROUTES:
            url = f"/amendments/{amendment_id}{action}"
            data = form_data() if action == "/edit" else {"addressed_to": "0"}
            response = client.open(url, method=method, data=data)
            if response.status_code != 404 or not says(response, NO_SUCH_PAGE):
                wrong.append(f"{method} {url}: {response.status_code}")
            if says(response, "Patience"):
                wrong.append(f"{method} {url}: shows the draft's title")
    assert not wrong, "\n".join(wrong)
    assert database() == before


def test_a_forged_receiver_is_refused_by_name(client, draft, proposer, make_member, sign_in):
    member = make_member(name="Mo Member")
    suspended = make_member(name="Sid Suspended", roles=["receiver"], standing="suspended")
    choose = "Choose a receiver from the list, or all receivers."
    cases = [
        ("-1", choose),
        (str(2**31), choose),
        (str(2**63), choose),
        ("abc", choose),
        (str(proposer.id), "Address your proposal to another receiver, or to all receivers."),
        (str(member.id), "Mo Member is not a receiver in good standing."),
        (str(suspended.id), "Sid Suspended is not a receiver in good standing."),
    ]
    sign_in(proposer)
    wrong = []
    for addressed_to, message in cases:
        before = database()
        response = client.post(
            f"/amendments/{draft.id}/submit", data={"addressed_to": addressed_to}
        )
        if response.status_code != 400 or not says(response, message):
            wrong.append(f"addressed_to={addressed_to}: {response.status_code}, not {message!r}")
        if database() != before:
            wrong.append(f"addressed_to={addressed_to}: the database changed")
    assert not wrong, "\n".join(wrong)


def test_a_forged_page_number_on_the_list_is_a_page_not_an_error(
    client, submitted, proposer, sign_in
):
    sign_in(proposer)
    wrong = []
    for page in ["0", "-1", "abc", "999", str(2**31), str(2**63), "1e3"]:
        response = client.get(f"/amendments/?page={page}")
        if response.status_code != 200 or not says(response, "Amendments"):
            wrong.append(f"?page={page}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
