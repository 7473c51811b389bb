"""Secret ballots stay secret: with the whole database and the logs, no member is linked to
a choice.

Members vote in a known pattern at known times, through the web; the ballot closes. Then
every row of every table is read, with the columns the database keeps for itself (SQLite's
rowid, PostgreSQL's xmin and ctid), and what was voted is looked for next to who voted.
"""

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from govern.amendments import services as amendments
from govern.amendments.models import AmendmentEvent
from govern.ballots import closing
from govern.ballots import services as ballots
from govern.ballots.mail import ballot_mail
from govern.ballots.models import Ballot, BallotCount, Choice, RollEntry
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.procedures.stages import StageKind
from govern.procedures.states import describe_stage
from tests.ballots.conftest import entry_of, give_token

CHOICES = {choice.value for choice in Choice}
# Minutes after opening, and the choice, of each voter in turn. The last vote is "yes",
# the first choice created: a store that kept the order of writing would move it last.
PATTERN = [(3, "no"), (17, "abstain"), (60, "no"), (61, "yes"), (300, "yes")]
CHOICE_WORD = re.compile(r"\b(yes|no|abstain)\b", re.IGNORECASE)


def vote(client, ballot_id: int, token: str, choice: str):
    return client.post(f"/ballots/{ballot_id}/cast", data={"token": token, "choice": choice})


def physical_order(ballot: Ballot) -> list[str]:
    """The choices of the ballot's counters in the order the database stores them."""
    position = "ctid" if db.engine.dialect.name == "postgresql" else "rowid"
    statement = sa.text(
        f"SELECT choice FROM ballot_counts WHERE ballot_id = :b ORDER BY {position}"
    )
    return list(db.session.scalars(statement, {"b": ballot.id}))


@pytest.fixture
def voted(ballot, voters, client, clock, caplog):
    """The ballot voted on in PATTERN, refused votes tried, then closed by the worker;
    what each member chose, their tokens and the counters' order at opening."""
    caplog.set_level(logging.DEBUG, logger="govern")
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    order_at_opening = physical_order(ballot)
    opened_at = clock.current
    chose, tokens = {}, []
    for member, (minutes, choice) in zip(voters, PATTERN, strict=True):
        token = give_token(entry_of(ballot, member))
        tokens.append(token)
        clock.current = opened_at + timedelta(minutes=minutes)
        page = client.post("/ballots/vote", data={"token": token}).get_data(as_text=True)
        assert "The ballot is secret" in page and "roll-call" not in page
        response = vote(client, ballot.id, token, choice)
        assert response.status_code == 200, response.get_data(as_text=True)
        chose[member.id] = choice
    assert vote(client, ballot.id, tokens[0], "yes").status_code == 409
    assert vote(client, ballot.id, "no-such-token", "no").status_code == 404
    assert vote(client, ballot.id, tokens[1], "maybe").status_code in (400, 409)
    voting_log = caplog.text
    if db.engine.dialect.name == "postgresql":
        # While open too: the counters all carry the last vote's transaction, not a choice.
        stamps = db.session.scalars(
            sa.select(sa.text("xmin::text")).select_from(BallotCount).filter_by(ballot_id=ballot.id)
        ).all()
        assert len(set(stamps)) == 1
        db.session.rollback()
    clock.advance(days=7)
    assert closing.close_due_ballots() == 1
    assert closing.forget_vote_order() == 1  # the worker's next step
    db.session.expire_all()
    assert (ballot.yes, ballot.no, ballot.abstain, ballot.voters) == (2, 2, 1, 5)
    result_page = client.get(f"/ballots/{ballot.id}").get_data(as_text=True)
    return {
        "chose": chose,
        "tokens": tokens,
        "order": order_at_opening,
        "log": voting_log,
        "result_page": result_page,
    }


def every_row() -> dict[str, list[dict]]:
    """Every row of every table in the database, with the database's own columns."""
    engine = db.engine
    rows = {}
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            names = sa.inspect(connection).get_table_names()
            for name in names:
                query = f'SELECT xmin::text AS "(xmin)", ctid::text AS "(ctid)", * FROM "{name}"'
                rows[name] = [dict(row._mapping) for row in connection.execute(sa.text(query))]
        else:
            tables = connection.execute(sa.text("SELECT name, wr FROM pragma_table_list"))
            for name, without_rowid in tables.all():
                if name.startswith("sqlite_temp"):
                    continue
                query = f'SELECT * FROM "{name}"'
                if not without_rowid:
                    query = f'SELECT rowid AS "(rowid)", * FROM "{name}"'
                rows[name] = [dict(row._mapping) for row in connection.execute(sa.text(query))]
    assert {table.name for table in db.metadata.sorted_tables} <= set(rows)
    return rows


def looks_like_a_time(value: object) -> bool:
    if isinstance(value, datetime):
        return True
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


def test_only_the_counters_hold_a_choice_and_they_share_nothing_with_the_roll(
    voted, ballot, is_postgresql
):
    rows = every_row()
    holding_a_choice = {
        name
        for name, table in rows.items()
        for row in table
        if any(isinstance(value, str) and value in CHOICES for value in row.values())
    }
    assert holding_a_choice == {"ballot_counts"}
    roll = [row for row in rows["ballot_roll"] if row["ballot_id"] == ballot.id]
    assert len(roll) == ballot.roll_size and all(row["choice"] is None for row in roll)
    counters = [row for row in rows["ballot_counts"] if row["ballot_id"] == ballot.id]
    assert {row["choice"]: row["count"] for row in counters} == {"yes": 2, "no": 2, "abstain": 1}

    # No member, no time: the counters are the ballot, the choice and a number.
    columns = sa.inspect(db.engine).get_columns("ballot_counts")
    assert {column["name"] for column in columns} == {"ballot_id", "choice", "count"}
    foreign = sa.inspect(db.engine).get_foreign_keys("ballot_counts")
    assert [key["referred_table"] for key in foreign] == ["ballots"]
    assert not any(looks_like_a_time(value) for row in counters for value in row.values())
    roll_text = {value for row in roll for value in row.values() if isinstance(value, str)}
    counter_text = {value for row in counters for value in row.values() if isinstance(value, str)}
    if is_postgresql:
        # xmin, the transaction that wrote a row, stays in the comparison. A ctid is a place
        # in the table's own file: equal ones in two tables mean nothing (order: below).
        roll_text -= {row["(ctid)"] for row in roll}
        counter_text -= {row["(ctid)"] for row in counters}
    assert roll_text & counter_text == set()
    # No order: the counters lie where they lay at opening (SQLite) or, written afresh at
    # closing (PostgreSQL), in the order of the choices' names: never in the order of votes.
    expected = sorted(voted["order"]) if is_postgresql else voted["order"]
    assert physical_order(ballot) == expected


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_closing_rewrites_the_counters_so_no_vote_transaction_is_left_on_them(voted, ballot):
    rows = every_row()
    counter_transactions = {
        row["(xmin)"] for row in rows["ballot_counts"] if row["ballot_id"] == ballot.id
    }
    voter_transactions = {
        row["(xmin)"]
        for row in rows["ballot_roll"]
        if row["ballot_id"] == ballot.id and row["voted"]
    }
    assert len(counter_transactions) == 1
    assert len(voter_transactions) == len(PATTERN)  # each vote is a transaction of its own
    assert counter_transactions & voter_transactions == set()


def counter_pages() -> bytes:
    """The ballot_counts table as stored, every page, with the row versions PostgreSQL
    keeps until a vacuum (readable by anyone with the database's superuser or its files)."""
    try:
        db.session.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    except sa.exc.DBAPIError as error:
        pytest.skip(f"pageinspect is not available: {error.orig}")
    pages = db.session.scalars(
        sa.text(
            "SELECT get_raw_page('ballot_counts', block::int) FROM generate_series(0, "
            "pg_relation_size('ballot_counts') / current_setting('block_size')::int - 1) block"
        )
    )
    return b"".join(pages)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_no_page_of_the_counters_keeps_the_transaction_of_a_vote_after_closing(voted, ballot):
    voter_transactions = db.session.scalars(
        sa.select(sa.text("xmin::text::bigint"))
        .select_from(RollEntry)
        .where(RollEntry.ballot_id == ballot.id, RollEntry.voted)
    ).all()
    assert len(voter_transactions) == len(PATTERN)
    pages = counter_pages()
    # A row version's header holds its xmin as four little-endian bytes.
    kept = [xid for xid in voter_transactions if xid.to_bytes(4, "little") in pages]
    assert kept == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_receipts_have_no_rowid_and_the_write_ahead_log_is_emptied_at_closing(voted, database_url):
    tables = dict(db.session.execute(sa.text("SELECT name, wr FROM pragma_table_list")).all())
    assert tables["ballot_receipts"] == 1  # WITHOUT ROWID: stored in the order of the codes
    with pytest.raises(sa.exc.OperationalError, match="rowid"):
        db.session.execute(sa.text("SELECT rowid FROM ballot_receipts"))
    db.session.rollback()
    write_ahead_log = Path(sa.make_url(database_url).database + "-wal")
    assert not write_ahead_log.exists() or write_ahead_log.stat().st_size == 0


def test_the_receipt_mail_is_the_same_whatever_was_chosen(voted, ballot, voters):
    receipts = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.subject.like("Your vote was recorded%"))
    ).all()
    assert len(receipts) == len(PATTERN)
    by_recipient = {message.recipient: message for message in receipts}
    codes = set(closing.receipt_codes(ballot))
    texts = set()
    for member in voters:
        message = by_recipient[member.email]
        (code,) = [code for code in codes if code in message.body_text]
        for body in (message.subject, message.body_text, message.body_html or ""):
            texts.add(body.replace(member.name, "NAME").replace(code, "CODE"))
    # One subject, one text (and one HTML part at most): nothing in them varies by choice.
    assert len(texts) <= 3
    assert not any(CHOICE_WORD.search(text) for text in texts)


def test_the_timeline_mentions_no_choice_of_anyone(voted, ballot, voters):
    events = db.session.scalars(
        sa.select(AmendmentEvent)
        .filter_by(amendment_id=ballot.amendment_id)
        .order_by(AmendmentEvent.id)
    ).all()
    opened = next(n for n, event in enumerate(events) if event.event == "open_ballot")
    # Nothing between opening and closing: no entry per vote, with or without its choice.
    assert [event.event for event in events[opened + 1 :]] == ["close_ballot"]
    names = [member.name for member in voters] + [member.email for member in voters]
    for event in events:
        assert not any(name in (event.note or "") for name in names)
        if event.event != "close_ballot":
            assert not CHOICE_WORD.search(event.note or "")


def test_the_log_of_voting_holds_neither_tokens_nor_choices(voted):
    log = voted["log"]
    assert not any(token in log for token in voted["tokens"])
    assert not CHOICE_WORD.search(log)


@pytest.fixture
def roll_call_ballot(document, proposer, receiver, voters, make_member):
    """A ballot under a procedure that an admin made a roll call."""
    admin = make_member(name="Ada Admin", email="ada@example.org", roles=["admin"])
    amendments.set_procedure(document, "membership-vote", admin, ballot_roll_call=True)
    text = document.version_in_force().text.replace("Be kind.", "Be kind, on the record.")
    amendment = amendments.start_draft(proposer, document, "On the record", "Why.", text)
    amendments.submit(amendment, proposer)
    amendments.acknowledge(amendment, receiver)
    opened = ballots.open_ballot(amendment, receiver)
    db.session.commit()
    return opened


def test_a_roll_call_ballot_records_each_choice_on_the_roll_and_says_so(
    roll_call_ballot, voters, client, clock
):
    ballot = roll_call_ballot
    assert ballot.roll_call
    stage = ballot.amendment.procedure.stage(StageKind.BALLOT)
    assert "roll call" in describe_stage(ballot.amendment.procedure, stage)
    assert "roll-call ballot" in ballot_mail(ballot, voters[0], "T0KEN")[1]
    chose = {}
    for member, (_, choice) in zip(voters, PATTERN, strict=True):
        token = give_token(entry_of(ballot, member))
        page = client.post("/ballots/vote", data={"token": token}).get_data(as_text=True)
        assert "This is a roll-call ballot" in page
        assert vote(client, ballot.id, token, choice).status_code == 200
        chose[member.id] = choice
    on_the_roll = dict(
        db.session.execute(
            sa.select(RollEntry.member_id, RollEntry.choice).where(
                RollEntry.ballot_id == ballot.id, RollEntry.voted
            )
        ).all()
    )
    assert on_the_roll == chose
    clock.advance(days=7)
    assert closing.close_due_ballots() == 1
    named = {member.id: choice for member, choice in closing.roll_call(ballot) if choice}
    assert named == chose
    page = client.get(f"/ballots/{ballot.id}").get_data(as_text=True)
    assert "This is a roll-call ballot" in page and "How each member voted" in page
    assert all(member.name in page for member in voters)


def test_a_secret_ballot_says_it_is_secret_and_keeps_no_roll_call(voted, ballot, voters):
    assert "Your vote is secret" in ballot_mail(ballot, voters[0], "T0KEN")[1]
    with pytest.raises(ballots.BallotError, match="secret"):
        closing.roll_call(ballot)
    page = voted["result_page"]
    assert "The ballot is secret" in page and "How each member voted" not in page
    assert not any(member.name in page for member in voters)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_report_reading_the_counters_makes_the_worker_clear_them_later(
    ballot, voters, clock, database_url
):
    """A report or a dump running at closing time does not keep the old row versions: the
    counters get a new file. One that holds the counters themselves makes the clearing
    give up at once, rather than keep voting on other ballots waiting, and try again."""
    for member, choice in zip(voters, ["yes", "no"], strict=False):
        ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
    reader = sa.create_engine(database_url)
    with reader.connect() as report:
        report.execute(sa.text("BEGIN ISOLATION LEVEL REPEATABLE READ"))
        report.execute(sa.text("SELECT count(*) FROM ballot_counts")).scalar()
        clock.advance(days=7)
        assert closing.close_due_ballots() == 1
        assert closing.forget_vote_order() == 0
        assert db.session.get(Ballot, ballot.id).vote_order_cleared_at is None
        db.session.rollback()
        report.execute(sa.text("COMMIT"))
    reader.dispose()
    assert closing.forget_vote_order() == 1
    db.session.expire_all()
    assert db.session.get(Ballot, ballot.id).vote_order_cleared_at == clock.current
    assert (ballot.yes, ballot.no) == (1, 1)
    counts = dict(db.session.execute(sa.select(BallotCount.choice, BallotCount.count)).all())
    assert counts == {"yes": 1, "no": 1, "abstain": 0}
    assert closing.forget_vote_order() == 0  # nothing left to clear
