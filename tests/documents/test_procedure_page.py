"""The admin page that chooses and adjusts a document's amendment procedure."""

import html

import pytest

from govern.documents import services
from govern.extensions import db

URL = "/admin/documents/code-of-conduct/procedure"
TEXT = "# Code of Conduct\n\n## Purpose\n\nWe organize together.\n"


@pytest.fixture
def document(make_document, clock):
    return make_document([TEXT])


def snapshot() -> str:
    db.session.rollback()
    return services.find_document("code-of-conduct").procedure_snapshot


def current_procedure():
    db.session.rollback()
    return services.find_document("code-of-conduct").procedure


@pytest.mark.parametrize(
    ("roles", "status"),
    [(None, 302), ([], 403), (["receiver"], 403), (["chair"], 403), (["admin"], 200)],
    ids=["anonymous", "member", "receiver", "chair", "admin"],
)
def test_only_admins_may_open_or_change_the_procedure(
    client, make_member, sign_in, document, roles, status
):
    if roles is not None:
        sign_in(make_member(roles=roles))
    before = snapshot()
    response = client.get(URL)
    assert response.status_code == status
    if roles is None:
        assert "/auth/sign-in" in response.headers["Location"]
    posted = client.post(URL, data={"template": "membership-vote"})
    assert posted.status_code == (302 if status == 200 else status)
    if status != 200:
        assert snapshot() == before


@pytest.mark.parametrize(("roles", "has_link"), [([], False), (["admin"], True)])
def test_versions_page_links_to_the_procedure_for_admins_only(
    client, make_member, sign_in, document, roles, has_link
):
    sign_in(make_member(roles=roles))
    page = client.get("/documents/code-of-conduct/versions/").get_data(as_text=True)
    assert (URL in page) is has_link


def test_default_procedure_is_two_stage_described_in_plain_language(admin_client, document):
    page = admin_client.get(URL).get_data(as_text=True)
    assert "Current procedure: Meeting vote, then electronic ballot" in page
    assert "more than half of the voting-eligible members present" in page
    assert "voting stays open for 7 days" in page
    assert "more than half of the votes cast are yes" in page
    assert "keep the procedure they started under" in page
    assert page.index("submits a proposal") < page.index("schedules its discussion")
    assert page.index("schedules its discussion") < page.index("members present vote on it")
    assert page.index("members present vote on it") < page.index("emails the ballot")
    assert page.index("emails the ballot") < page.index("ratification notice to the membership")
    assert 'checked id="template-0" name="template" required type="radio" value="two-stage"' in page
    for description in ("straight to an electronic ballot", "amended from the floor"):
        assert description in page


def test_switching_to_membership_vote_persists(admin_client, document):
    response = admin_client.post(URL, data={"template": "membership-vote"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(URL)
    assert current_procedure().key == "membership-vote"
    page = admin_client.get(URL).get_data(as_text=True)
    assert "Saved" in page
    assert "Current procedure: Electronic ballot of the membership" in page
    assert "members present vote on it" not in page


def test_adjusting_ballot_days_to_10_persists(admin_client, document):
    response = admin_client.post(URL, data={"template": "two-stage", "ballot_days": "10"})
    assert response.status_code == 302
    procedure = current_procedure()
    assert (procedure.key, procedure.stages[3].duration.days) == ("two-stage", 10)
    page = admin_client.get(URL).get_data(as_text=True)
    assert "voting stays open for 10 days" in page
    assert 'name="ballot_days"' in page and 'value="10"' in page


def test_adjusting_every_setting_of_two_stage_persists(admin_client, document):
    response = admin_client.post(
        URL,
        data={
            "template": "two-stage",
            "meeting_vote_threshold": "two_thirds_of_cast",
            "amendments_from_floor": "yes",
            "ballot_threshold": "majority_of_members",
            "ballot_days": "14",
            "reminder_hours": "24",
            "abstentions_count_as_cast": "yes",
        },
    )
    assert response.status_code == 302
    procedure = current_procedure()
    meeting, ballot = procedure.vote_stages
    assert (meeting.threshold, meeting.amendments_from_floor) == ("two_thirds_of_cast", True)
    assert (ballot.threshold, ballot.duration.days) == ("majority_of_members", 14)
    assert procedure.reminder_before_close.total_seconds() == 24 * 3600
    assert procedure.abstentions_count_as_cast is True
    page = admin_client.get(URL).get_data(as_text=True)
    assert "adjusted from the template" in page
    assert "Abstentions count as votes cast." in page


def test_switching_template_after_adjusting_brings_its_defaults(admin_client, document):
    admin_client.post(
        URL, data={"template": "two-stage", "meeting_vote_threshold": "two_thirds_of_cast"}
    )
    assert current_procedure().vote_stages[0].threshold == "two_thirds_of_cast"
    # The page shows the adjustment; choosing another template and leaving the defaults
    # gives that template as it ships.
    assert admin_client.post(URL, data={"template": "convention"}).status_code == 302
    (meeting,) = current_procedure().vote_stages
    assert (meeting.threshold, meeting.amendments_from_floor) == ("majority_of_cast", True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"template": "two-stage", "ballot_days": "0"}, "ballot_days", "from 1 to 60"),
        ({"template": "two-stage", "ballot_days": "61"}, "ballot_days", "from 1 to 60"),
        (
            {"template": "membership-vote", "ballot_threshold": "majority_of_present"},
            "ballot_threshold",
            "needs the attendance of a meeting; a ballot has none",
        ),
        (
            {"template": "no-such-procedure"},
            "template",
            'There is no procedure "no-such-procedure"',
        ),
        (
            {"template": "membership-vote", "meeting_vote_threshold": "majority_of_cast"},
            "meeting_vote_threshold",
            "This procedure has no meeting vote.",
        ),
        (
            {"template": "convention", "ballot_days": "10"},
            "ballot_days",
            "This procedure has no electronic ballot.",
        ),
        ({"template": "two-stage", "ballot_days": "ten"}, "ballot_days", "Not a valid integer"),
        ({}, "template", "Choose a procedure."),
    ],
    ids=[
        "ballot-days-0",
        "ballot-days-61",
        "present-majority-on-ballot",
        "unknown-template",
        "setting-the-template-lacks",
        "ballot-days-on-convention",
        "ballot-days-not-a-number",
        "no-template",
    ],
)
def test_bad_input_answers_400_beside_the_field_and_changes_nothing(
    admin_client, document, data, field, message
):
    before = snapshot()
    response = admin_client.post(URL, data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<ul class="errors" id="{field}-error">' in page
    errors = page[page.index(f'id="{field}-error"') :]
    assert message in html.unescape(errors[: errors.index("</ul>")])
    assert snapshot() == before


def test_a_document_that_does_not_exist_is_404(admin_client, document):
    assert admin_client.get("/admin/documents/no-such-document/procedure").status_code == 404
    response = admin_client.post(
        "/admin/documents/no-such-document/procedure", data={"template": "membership-vote"}
    )
    assert response.status_code == 404
