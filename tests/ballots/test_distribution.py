"""The ballot mail: one per member on the roll, at most once, its link known only to them."""

import os
from collections import Counter

import pytest
import sqlalchemy as sa
from flask_babel import format_datetime

from govern.ballots import closing, distribution, running
from govern.ballots import services as ballots
from govern.ballots.distribution import DistributionReport, distribute_ballots
from govern.ballots.models import Ballot, MailStatus, RollEntry
from govern.extensions import db
from govern.members.models import Member
from tests.ballots.conftest import token_in
from tests.conftest import RefusingRecorder, SlowRecorder, SMTPRecorder, concurrently, free_port


def roll() -> dict[str, RollEntry]:
    """The roll as the database has it now, by email address."""
    db.session.expire_all()
    entries = db.session.scalars(sa.select(RollEntry).order_by(RollEntry.id))
    return {entry.member.email: entry for entry in entries}


def statuses() -> dict[str, str]:
    return {email: entry.mail_status for email, entry in roll().items()}


def received(server: SMTPRecorder) -> Counter:
    return Counter(email["To"] for email in server.messages)


def text_columns_holding(value: str) -> list[str]:
    """Every text column of every table that holds `value` anywhere in it."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String):  # Text is a String too
                hits = db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(column.contains(value, autoescape=True))
                )
                if hits:
                    found.append(f"{table.name}.{column.name}")
    return found


def test_each_member_on_the_roll_gets_one_ballot_mail_whose_code_opens_only_their_row(
    ballot, smtp_config, database_url
):
    report = distribute_ballots()

    entries = roll()
    assert report == DistributionReport(sent=ballot.roll_size, claimed=ballot.roll_size)
    assert received(smtp_config) == Counter(set(entries))
    assert {entry.mail_status for entry in entries.values()} == {MailStatus.SENT}
    for email in smtp_config.messages:
        token = token_in(email)
        entry = ballots.entry_for_token(token)
        assert entry is not None and entry.member.email == email["To"]
        assert entry.token_hash == ballots.hash_token(token)
        assert text_columns_holding(token) == [], "a voting token is stored in clear"
        if database_url.startswith("sqlite"):
            path = database_url.removeprefix("sqlite:///")
            for file in (path, path + "-wal"):
                with open(file, "rb") as handle:
                    assert token.encode() not in handle.read()


def test_the_ballot_mail_states_the_rule_the_closing_time_in_both_zones_and_the_redline(
    ballot, voters, smtp_config
):
    distribute_ballots()

    [email] = [email for email in smtp_config.messages if email["To"] == voters[0].email]
    body = email.get_content()
    assert email["Subject"] == "Ballot: Patience"
    assert email["Message-ID"].endswith("@govern.test>") and email["Auto-Submitted"]
    assert "more than half of the votes cast" in body
    assert format_datetime(ballot.closes_at, "full") in body  # Europe/Berlin
    assert "Central European Standard Time" in body
    assert "2026-03-08 12:00 UTC" in body
    assert "Be kind[+ and patient+]." in body or "[+and patient+]" in body


def test_an_unreachable_server_leaves_the_ballot_mails_pending_for_a_later_pass(
    ballot, start_smtp, use_smtp
):
    use_smtp(free_port())  # nothing listens there
    report = distribute_ballots()
    assert (report.sent, report.retrying) == (0, 1)
    assert set(statuses().values()) == {MailStatus.PENDING}
    assert {entry.token_hash for entry in roll().values()} == {None}

    server = start_smtp(SMTPRecorder())
    use_smtp(server.port)
    assert distribute_ballots().sent == ballot.roll_size
    assert received(server) == Counter(set(roll()))


def test_a_recipient_refused_with_550_fails_and_one_refused_with_450_waits(
    ballot, voters, start_smtp, use_smtp
):
    refused, busy = voters[0].email, voters[1].email
    server = start_smtp(
        RefusingRecorder({refused: "550 5.1.1 No such user", busy: "450 4.2.1 Mailbox busy"})
    )
    use_smtp(server.port)
    report = distribute_ballots()

    assert (report.sent, report.failed, report.retrying) == (ballot.roll_size - 2, 1, 1)
    entries = roll()
    assert entries[refused].mail_status == MailStatus.FAILED
    assert "550" in entries[refused].mail_error and entries[refused].token_hash is None
    assert entries[busy].mail_status == MailStatus.PENDING and entries[busy].token_hash is None
    del server.replies[busy]  # the mailbox has room again; the refused address still fails
    assert distribute_ballots() == DistributionReport(sent=1, claimed=1)
    assert refused not in received(server) and received(server)[busy] == 1


def test_a_mail_left_sending_by_a_dead_worker_becomes_uncertain_and_is_not_sent_again(
    app, ballot, voters, smtp_config, clock
):
    entry_id = db.session.scalar(
        sa.select(RollEntry.id).filter_by(ballot_id=ballot.id).order_by(RollEntry.id)
    )
    claim = distribution._claim(entry_id)  # a worker claims the first row, then dies
    db.session.commit()
    assert claim.entry_id == entry_id
    distribute_ballots()  # the lease has not run out: the row is left alone
    clock.advance(seconds=app.config["MAIL_SENDING_LEASE_SECONDS"])
    assert distribute_ballots() == DistributionReport(uncertain=1)
    assert distribute_ballots() == DistributionReport()

    entry = db.session.get(RollEntry, entry_id)
    assert entry.mail_status == MailStatus.UNCERTAIN and "may or may not" in entry.mail_error
    # The mail may have arrived: its link keeps working until a new one is asked for.
    assert ballots.entry_for_token(claim.token) == entry
    assert entry.member.email not in received(smtp_config)
    assert len(smtp_config.messages) == ballot.roll_size - 1


def test_a_new_link_after_the_mail_was_sent_sends_one_new_mail_and_the_old_link_stops_working(
    ballot, voters, smtp_config
):
    distribute_ballots()
    entry = ballots.entry_for_member(ballot, voters[2])
    [first] = [email for email in smtp_config.messages if email["To"] == voters[2].email]
    old_token = token_in(first)

    running.request_new_link(entry)
    db.session.commit()
    assert ballots.entry_for_token(old_token) is None
    assert distribute_ballots() == DistributionReport(sent=1, claimed=1)

    [second] = smtp_config.messages[ballot.roll_size :]
    new_token = token_in(second)
    assert second["To"] == voters[2].email and new_token != old_token
    assert ballots.entry_for_token(new_token).id == entry.id
    assert ballots.entry_for_token(old_token) is None


def test_members_who_join_after_the_ballot_opened_get_no_ballot_mail(
    ballot, make_member, smtp_config
):
    late = make_member(name="Late Joiner", email="late@example.org")
    distribute_ballots()
    assert late.email not in received(smtp_config)
    assert len(smtp_config.messages) == ballot.roll_size


def test_no_ballot_mail_leaves_once_the_ballot_has_closed(ballot, smtp_config, clock):
    clock.advance(days=7)
    assert distribute_ballots() == DistributionReport()
    closing.close_due_ballots()
    assert distribute_ballots() == DistributionReport()
    assert smtp_config.messages == []
    assert set(statuses().values()) == {MailStatus.PENDING}


class DroppingRecorder(SMTPRecorder):
    """Drops the connection in the middle of the `drop_at`-th message, without a reply."""

    def __init__(self, drop_at: int) -> None:
        super().__init__()
        self.drop_at = drop_at
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts == self.drop_at:
            server.transport.close()
            return "250 never heard"
        return await super().handle_DATA(server, session, envelope)


def test_a_connection_dropped_mid_message_leaves_that_mail_uncertain_and_ends_the_pass(
    ballot, start_smtp, use_smtp
):
    server = start_smtp(DroppingRecorder(drop_at=3))
    use_smtp(server.port)
    report = distribute_ballots()
    assert (report.sent, report.uncertain) == (2, 1)
    in_doubt = [entry for entry in roll().values() if entry.mail_status == MailStatus.UNCERTAIN]
    assert len(in_doubt) == 1 and in_doubt[0].token_hash is not None

    assert distribute_ballots().sent == ballot.roll_size - 3
    assert in_doubt[0].member.email not in received(server)
    assert sorted(received(server).values()) == [1] * (ballot.roll_size - 1)


def test_a_stop_request_ends_the_pass_after_the_mail_in_hand(ballot, smtp_config):
    report = distribute_ballots(should_stop=lambda: len(smtp_config.messages) >= 3)
    assert report.sent == 3
    assert Counter(statuses().values()) == {
        MailStatus.SENT: 3,
        MailStatus.PENDING: ballot.roll_size - 3,
    }


def test_two_workers_at_once_mail_each_member_exactly_once(
    app, ready, receiver, start_smtp, use_smtp
):
    db.session.execute(
        sa.insert(Member),
        [{"name": f"Crowd {n}", "email": f"crowd{n}@example.org"} for n in range(60)],
    )
    ballot: Ballot = ballots.open_ballot(ready, receiver)
    db.session.commit()
    server = start_smtp(SlowRecorder(delay=0.002))
    use_smtp(server.port)
    reports: list[DistributionReport] = concurrently(app, distribute_ballots)

    assert received(server) == Counter(set(roll()))
    assert sum(report.sent for report in reports) == ballot.roll_size
    assert sorted(report.sent for report in reports)[0] > 0, "the workers did not share"
    assert set(statuses().values()) == {MailStatus.SENT}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_a_mail_server_ballot_mails_are_files_apart_from_the_outbox(ballot, app):
    assert distribute_ballots().sent == ballot.roll_size
    folder = os.path.join(app.config["MAIL_DIRECTORY"], "ballots")
    assert len(os.listdir(folder)) == ballot.roll_size
