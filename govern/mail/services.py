"""Queueing mail: rendered now, written to the outbox in the caller's transaction."""

from dataclasses import dataclass
from email.utils import make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from govern.extensions import db
from govern.mail.models import OutboxMessage


@dataclass(frozen=True)
class Attachment:
    filename: str
    # A text type, with its parameters: "text/calendar; method=PUBLISH".
    content_type: str
    text: str


def _has_template(name: str) -> bool:
    """Looked up once per process and name: a mail sent per vote should not search the
    template folders for an HTML part it never has."""
    known = current_app.extensions.setdefault("govern_mail_templates", {})
    if name not in known:
        try:
            current_app.jinja_env.get_template(name)
        except TemplateNotFound:
            known[name] = False
        else:
            known[name] = True
    return known[name]


def queue_mail(
    recipient: str,
    subject: str,
    template: str,
    attachment: Attachment | None = None,
    **context,
) -> OutboxMessage:
    """Render `templates/mail/<template>.txt` (and `.html` when it exists) into the outbox.

    `attachment` is one text file to attach, such as a meeting's .ics.

    Nothing is sent here: the worker delivers after the caller's transaction commits,
    so a rolled-back action sends nothing.
    """
    with force_locale(current_app.config["ORGANIZATION_LOCALE"]):
        context.setdefault("organization_name", current_app.config["ORGANIZATION_NAME"])
        context.setdefault("public_url", current_app.config["PUBLIC_URL"].rstrip("/"))
        body_text = render_template(f"mail/{template}.txt", **context)
        html = f"mail/{template}.html"
        body_html = render_template(html, **context) if _has_template(html) else None
    # The sender may be written "Name <address>"; the Message-ID takes the address's domain.
    sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    domain = sender.rpartition("@")[2] or "localhost"
    message = OutboxMessage(
        message_id=make_msgid(domain=domain),
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
    )
    if attachment is not None:
        message.attachment_filename = attachment.filename
        message.attachment_type = attachment.content_type
        message.attachment_text = attachment.text
    db.session.add(message)
    return message
