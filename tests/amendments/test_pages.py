"""The amendment pages: drafting, the amendment page and its actions, the list, the inbox."""

from sqlalchemy import func, select

from govern.amendments import services
from govern.amendments.models import Amendment
from govern.documents import services as documents
from govern.extensions import db
from govern.procedures.states import State
from tests.governance import PROPOSED, V1

SCRIPT = "<script>alert(1)</script>"


def form_data(title="Patience", rationale="Because.", text=PROPOSED, button="save"):
    labels = {"save": "Save draft", "preview": "Preview the redline"}
    return {"title": title, "rationale": rationale, "proposed_text": text, button: labels[button]}


def amendment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Amendment))


def reloaded(amendment: Amendment) -> Amendment:
    db.session.expire_all()
    return db.session.get(Amendment, amendment.id)


def test_anonymous_visitors_are_sent_to_sign_in(client, draft):
    for url in ("/amendments/", f"/amendments/{draft.id}", "/documents/coc/amendments/new"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/sign-in" in response.location


def test_the_nav_links_to_amendments_for_signed_in_members_only(
    client, document, proposer, sign_in
):
    assert 'href="/amendments/"' not in client.get("/documents/").get_data(as_text=True)
    sign_in(proposer)
    assert 'href="/amendments/"' in client.get("/documents/").get_data(as_text=True)


def test_the_new_form_is_prefilled_with_the_text_in_force(client, document, proposer, sign_in):
    sign_in(proposer)
    html = client.get("/documents/coc/amendments/new").get_data(as_text=True)
    assert "Report problems to the IGO." in html and "Preview the redline" in html


def test_a_preview_shows_the_redline_and_saves_nothing(client, document, proposer, sign_in):
    sign_in(proposer)
    response = client.post("/documents/coc/amendments/new", data=form_data(button="preview"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<ins> and patient</ins>" in html and "This preview is not saved yet." in html
    assert amendment_count() == 0


def test_a_member_drafts_edits_and_submits(client, document, proposer, receiver, sign_in):
    sign_in(proposer)
    response = client.post("/documents/coc/amendments/new", data=form_data())
    assert response.status_code == 302
    amendment = db.session.scalars(select(Amendment)).one()
    assert amendment.state == State.DRAFT and amendment.proposer_id == proposer.id
    assert response.location.endswith(f"/amendments/{amendment.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "Patience" in page and "Edit draft" in page and "<ins>" in page

    edit_url = f"/amendments/{amendment.id}/edit"
    assert "Because." in client.get(edit_url).get_data(as_text=True)
    preview = client.post(edit_url, data=form_data(title="More patience", button="preview"))
    assert preview.status_code == 200 and reloaded(amendment).title == "Patience"
    assert client.post(edit_url, data=form_data(title="More patience")).status_code == 302
    assert reloaded(amendment).title == "More patience"

    response = client.post(f"/amendments/{amendment.id}/submit", data={"addressed_to": "0"})
    assert response.status_code == 302
    amendment = reloaded(amendment)
    assert amendment.state == State.SUBMITTED and amendment.addressed_to is None
    page = client.get(f"/amendments/{amendment.id}").get_data(as_text=True)
    assert "submitted" in page and "A receiver acknowledges the proposal." in page


def test_a_draft_can_be_addressed_to_one_receiver(client, draft, proposer, receiver, sign_in):
    sign_in(proposer)
    page = client.get(f"/amendments/{draft.id}").get_data(as_text=True)
    assert "All receivers" in page and "Rae Receiver" in page
    client.post(f"/amendments/{draft.id}/submit", data={"addressed_to": str(receiver.id)})
    assert reloaded(draft).addressed_to_id == receiver.id


def test_a_refused_submission_shows_why_and_changes_nothing(client, document, proposer, sign_in):
    draft = services.start_draft(proposer, document, "Nothing", "Because.", V1)
    db.session.commit()
    sign_in(proposer)
    response = client.post(f"/amendments/{draft.id}/submit", data={"addressed_to": "0"})
    assert response.status_code == 400
    assert "it changes nothing" in response.get_data(as_text=True)
    assert reloaded(draft).state == State.DRAFT


def test_a_receiver_sees_the_submission_in_the_inbox_and_acknowledges_it(
    client, submitted, receiver, sign_in
):
    sign_in(receiver)
    html = client.get("/amendments/inbox").get_data(as_text=True)
    assert "Patience" in html and f"/amendments/{submitted.id}/acknowledge" in html
    assert "Acknowledge" in client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    response = client.post(f"/amendments/{submitted.id}/acknowledge")
    assert response.status_code == 302
    assert reloaded(submitted).state == State.ACKNOWLEDGED
    inbox = client.get("/amendments/inbox").get_data(as_text=True)
    # Now it waits for its discussion slot, which any receiver may schedule.
    assert f"/amendments/{submitted.id}/acknowledge" not in inbox
    waiting = inbox[inbox.index("Waiting for a discussion slot") :]
    assert "Patience" in waiting and f"/amendments/{submitted.id}/schedule" in waiting
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert "Acknowledge" in page  # the timeline entry
    assert f"/amendments/{submitted.id}/acknowledge" not in page


def test_the_inbox_lists_no_discussion_to_schedule_when_the_procedure_has_none(
    client, document, proposer, receiver, admin, sign_in
):
    services.set_procedure(document, "membership-vote", admin)
    amendment = services.start_draft(proposer, document, "Patience", "Because.", PROPOSED)
    services.submit(amendment, proposer)
    services.acknowledge(amendment, receiver)
    db.session.commit()
    sign_in(receiver)
    inbox = client.get("/amendments/inbox").get_data(as_text=True)
    discussion = inbox[
        inbox.index("Waiting for a discussion slot") : inbox.index("Waiting for the ballot")
    ]
    assert "Patience" not in discussion
    assert "No acknowledged proposal is waiting for its discussion." in discussion
    # Its next step is the ballot instead.
    assert (
        f"/amendments/{amendment.id}/ballot/open" in inbox[inbox.index("Waiting for the ballot") :]
    )


def test_a_non_receiver_gets_403_on_the_inbox(client, submitted, make_member, sign_in):
    sign_in(make_member())
    assert client.get("/amendments/inbox").status_code == 403


def test_the_proposer_withdraws_through_the_confirmation_page(client, submitted, proposer, sign_in):
    sign_in(proposer)
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert f'href="/amendments/{submitted.id}/withdraw"' in page
    confirm = client.get(f"/amendments/{submitted.id}/withdraw").get_data(as_text=True)
    assert "Withdraw this proposal? This cannot be undone." in confirm
    assert "Withdraw the proposal" in confirm
    assert reloaded(submitted).state == State.SUBMITTED
    assert client.post(f"/amendments/{submitted.id}/withdraw").status_code == 302
    assert reloaded(submitted).state == State.WITHDRAWN
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert "Revise and resubmit" in page


def test_revise_and_resubmit_links_the_two_proposals(client, submitted, proposer, sign_in):
    services.withdraw(submitted, proposer)
    db.session.commit()
    sign_in(proposer)
    response = client.post(f"/amendments/{submitted.id}/revise")
    assert response.status_code == 302
    revision = reloaded(submitted).revised_by
    assert revision.state == State.DRAFT
    assert response.location.endswith(f"/amendments/{revision.id}/edit")
    assert f"#{submitted.id} Patience" in client.get(f"/amendments/{revision.id}").get_data(
        as_text=True
    )
    assert f"#{revision.id} Patience" in client.get(f"/amendments/{submitted.id}").get_data(
        as_text=True
    )


def test_another_member_cannot_see_or_touch_a_draft(client, draft, make_member, sign_in):
    sign_in(make_member())
    for url in (f"/amendments/{draft.id}", f"/amendments/{draft.id}/edit"):
        assert client.get(url).status_code == 404
    for action in ("edit", "submit", "withdraw"):
        assert client.post(f"/amendments/{draft.id}/{action}").status_code == 404
    assert "Patience" not in client.get("/amendments/").get_data(as_text=True)
    assert reloaded(draft).state == State.DRAFT and reloaded(draft).title == "Patience"


def test_another_member_cannot_edit_submit_or_withdraw_a_submission(
    client, submitted, make_member, sign_in
):
    sign_in(make_member())
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert "Withdraw" not in page and "Acknowledge</button>" not in page
    assert client.get(f"/amendments/{submitted.id}/edit").status_code == 403
    assert client.post(f"/amendments/{submitted.id}/edit", data=form_data()).status_code == 403
    assert client.get(f"/amendments/{submitted.id}/withdraw").status_code == 403
    response = client.post(f"/amendments/{submitted.id}/withdraw")
    assert response.status_code == 400
    assert "Only its proposer can do this." in response.get_data(as_text=True)
    response = client.post(f"/amendments/{submitted.id}/acknowledge")
    assert response.status_code == 400
    assert "Only a receiver in good standing can do this." in response.get_data(as_text=True)
    response = client.post(f"/amendments/{submitted.id}/submit", data={"addressed_to": "0"})
    assert response.status_code == 400 and "Cannot" in response.get_data(as_text=True)
    assert reloaded(submitted).state == State.SUBMITTED


def test_a_submitted_proposal_cannot_be_edited_by_its_proposer(
    client, submitted, proposer, sign_in
):
    sign_in(proposer)
    response = client.post(f"/amendments/{submitted.id}/edit", data=form_data(title="Changed"))
    assert response.status_code == 400
    assert "Only a draft can be edited" in response.get_data(as_text=True)
    assert reloaded(submitted).title == "Patience"


def test_a_suspended_member_cannot_start_a_draft(client, document, make_member, sign_in):
    sign_in(make_member(standing="suspended"))
    response = client.post("/documents/coc/amendments/new", data=form_data())
    assert response.status_code == 400
    assert "Only a member in good standing can propose amendments." in response.get_data(
        as_text=True
    )
    assert amendment_count() == 0


def test_an_empty_title_is_refused_on_its_field(client, document, proposer, sign_in):
    sign_in(proposer)
    response = client.post("/documents/coc/amendments/new", data=form_data(title="  "))
    assert response.status_code == 400
    assert 'id="title-error"' in response.get_data(as_text=True)
    assert amendment_count() == 0


def test_script_in_a_proposal_is_shown_escaped(client, document, proposer, sign_in):
    sign_in(proposer)
    text = V1.replace("Be kind.", f"Be kind. {SCRIPT}").replace("No harassment.", "No <del>.")
    data = form_data(title=f"Title {SCRIPT}", rationale=f"Line one\n{SCRIPT}", text=text)
    client.post("/documents/coc/amendments/new", data=data)
    amendment = db.session.scalars(select(Amendment)).one()
    for url in (f"/amendments/{amendment.id}", "/amendments/"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
    page = client.get(f"/amendments/{amendment.id}").get_data(as_text=True)
    assert "Line one<br>&lt;script&gt;" in page
    assert "<ins> &lt;script&gt;alert(1)&lt;/script&gt;</ins>" in page
    assert "No <del>." not in page and "&lt;del&gt;" in page


def test_the_list_filters_by_state_and_document_and_searches_titles(
    client, submitted, document, proposer, sign_in
):
    services.start_draft(proposer, document, "Quiet hours", "Sleep.", PROPOSED)
    db.session.commit()
    sign_in(proposer)
    html = client.get("/amendments/").get_data(as_text=True)
    assert "Patience" in html and "Quiet hours" in html
    html = client.get("/amendments/?state=draft").get_data(as_text=True)
    assert "Quiet hours" in html and "Patience" not in html
    html = client.get("/amendments/?q=quiet").get_data(as_text=True)
    assert "Quiet hours" in html and "Patience" not in html
    html = client.get("/amendments/?q=%25").get_data(as_text=True)
    assert "Quiet hours" not in html and "Patience" not in html
    assert "Patience" in client.get("/amendments/?document=coc").get_data(as_text=True)
    assert "Patience" not in client.get("/amendments/?document=other").get_data(as_text=True)


def test_a_stale_base_shows_the_notice_and_rebase_works(
    client, draft, document, proposer, clock, sign_in
):
    clock.advance(days=1)
    documents.add_version(document, V1.replace("to the IGO", "to the IGOs"))
    db.session.commit()
    sign_in(proposer)
    page = client.get(f"/amendments/{draft.id}").get_data(as_text=True)
    assert "Based on version 1; version 2 is in force" in page
    assert "Rebase onto version 2" in page
    assert client.post(f"/amendments/{draft.id}/rebase").status_code == 302
    draft = reloaded(draft)
    assert draft.base_version.number == 2
    assert "to the IGOs" in draft.proposed_text and "Be kind and patient." in draft.proposed_text
    page = client.get(f"/amendments/{draft.id}").get_data(as_text=True)
    assert "version 2 is in force" not in page and "Rebased" in page


def test_a_conflicting_base_shows_the_conflict_side_by_side(
    client, draft, document, proposer, clock, sign_in
):
    clock.advance(days=1)
    documents.add_version(document, V1.replace("Be kind.", "Be kind to <everyone>."))
    db.session.commit()
    sign_in(proposer)
    page = client.get(f"/amendments/{draft.id}").get_data(as_text=True)
    assert "Conflicts" in page and "Be kind to &lt;everyone&gt;." in page
    assert f"/amendments/{draft.id}/rebase" in page and "Rebase onto version 2<" not in page
    assert "Rebase onto version 2 with this text" in page
    response = client.post(f"/amendments/{draft.id}/rebase")
    assert response.status_code == 400 and "resolve it" in response.get_data(as_text=True)
    assert reloaded(draft).base_version.number == 1


def test_the_proposer_resolves_conflicts_by_giving_the_text(
    client, draft, document, proposer, clock, sign_in
):
    clock.advance(days=1)
    documents.add_version(document, V1.replace("Be kind.", "Be kind to everyone."))
    db.session.commit()
    sign_in(proposer)
    resolved = V1.replace("Be kind.", "Be kind and patient to everyone.")
    response = client.post(f"/amendments/{draft.id}/rebase", data={"resolved_text": resolved})
    assert response.status_code == 302
    draft = reloaded(draft)
    assert draft.base_version.number == 2 and draft.proposed_text == resolved


def test_the_document_page_leads_members_to_propose_an_amendment(
    client, document, proposer, make_member, sign_in
):
    propose = 'href="/documents/coc/amendments/new"'
    assert propose not in client.get("/documents/coc").get_data(as_text=True)
    sign_in(make_member(standing="suspended"))
    page = client.get("/documents/coc").get_data(as_text=True)
    assert propose not in page and 'href="/amendments/?document=coc"' in page
    client.post("/auth/sign-out")
    sign_in(proposer)
    assert propose in client.get("/documents/coc").get_data(as_text=True)
