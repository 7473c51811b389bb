"""Mail is written to the outbox with the action that causes it, and delivered after."""

from email.utils import parsedate_to_datetime

from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select

from govern.extensions import db
from govern.mail.delivery import deliver_due
from govern.mail.models import DeliveryStatus, OutboxMessage
from govern.mail.services import queue_mail
from govern.members.models import AuthToken
from govern.members.services import invite_member
from tests.mail.conftest import outbox


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_rolled_back_action_leaves_no_mail(app, make_member):
    member = make_member(password=None)
    invite_member(member)
    db.session.flush()
    assert count(OutboxMessage) == 1  # written, but only inside the transaction
    db.session.rollback()
    assert count(OutboxMessage) == 0
    assert count(AuthToken) == 0


def test_committed_invitation_queues_exactly_one_message(admin_client, make_member):
    member = make_member(name="Ines Invitee", email="ines@example.org", password=None)
    response = admin_client.post(f"/admin/members/{member.id}/invite")
    assert response.status_code == 302
    [message] = outbox()
    assert message.recipient == "ines@example.org"
    assert message.subject == "You are invited to Test Tenants Union"
    assert message.status == DeliveryStatus.PENDING and message.attempts == 0


def test_delivery_sends_the_message_to_the_smtp_server_and_marks_it_sent(
    app, admin_client, make_member, smtp_config, clock
):
    member = make_member(name="Ines Invitee", email="ines@example.org", password=None)
    admin_client.post(f"/admin/members/{member.id}/invite")
    clock.advance(seconds=30)

    report = deliver_due()

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [row] = outbox()
    assert row.status == DeliveryStatus.SENT
    assert row.sent_at == clock()
    assert row.attempts == 1 and row.last_error is None
    [email] = smtp_config.messages
    assert email["From"] == "Test Tenants Union <govern@govern.test>"
    assert email["To"] == "ines@example.org"
    assert email["Subject"] == "You are invited to Test Tenants Union"
    assert email["Message-ID"] == row.message_id
    assert row.message_id.endswith("@govern.test>")
    assert parsedate_to_datetime(email["Date"]) == row.created_at.replace(microsecond=0)
    assert email["Auto-Submitted"] == "auto-generated"
    body = email.get_content()
    assert "Hello Ines Invitee," in body
    assert "http://govern.test/auth/set-password/" in body
    assert "expires in 7 days" in body


def test_sent_message_is_not_sent_again(app, queue_messages, smtp_config):
    queue_messages(2)
    assert deliver_due().sent == 2
    assert deliver_due().attempted == 0
    assert len(smtp_config.messages) == 2


def test_messages_go_out_oldest_first(app, queue_messages, smtp_config):
    message_ids = queue_messages(5)
    deliver_due()
    assert [email["Message-ID"] for email in smtp_config.messages] == message_ids


def test_limit_caps_one_pass(app, queue_messages, smtp_config):
    queue_messages(3)
    assert deliver_due(limit=2).sent == 2
    assert [row.status for row in outbox()] == ["sent", "sent", "pending"]


def test_html_alternative_is_escaped_and_sent_beside_the_text(app, smtp_config):
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "mail/notice.txt": "Dear {{ name }}",
                    "mail/notice.html": "<p>Dear {{ name }}</p>",
                }
            ),
            app.jinja_env.loader,
        ]
    )
    queue_mail("eve@example.org", "Notice", "notice", name="Eve <script>")
    db.session.commit()
    deliver_due()
    [email] = smtp_config.messages
    assert email.get_content_type() == "multipart/alternative"
    assert email.get_body(("plain",)).get_content().strip() == "Dear Eve <script>"
    assert email.get_body(("html",)).get_content().strip() == "<p>Dear Eve &lt;script&gt;</p>"


def test_worker_command_once_delivers_and_says_what_it_did(app, queue_messages, smtp_config):
    queue_messages(2)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert f"Delivering mail to SMTP server 127.0.0.1:{smtp_config.port}." in result.output
    assert "2 sent, 0 to retry, 0 failed" in result.output
    assert len(smtp_config.messages) == 2
