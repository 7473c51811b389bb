import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField

from govern.extensions import db
from govern.members.models import Member, MemberRole, Role, Standing

ALL_RECEIVERS = 0


def new_form_token() -> str:
    return secrets.token_urlsafe(16)


class AmendmentForm(FlaskForm):
    """The draft's fields; the service checks them, so a message names what to fix."""

    # Sent back with the form: the same form saved twice makes one draft.
    form_token = HiddenField(default=new_form_token)

    title = StringField(_l("Title"))
    rationale = TextAreaField(
        _l("Rationale"), description=_l("Why the document should change. Plain text.")
    )
    proposed_text = TextAreaField(
        _l("Proposed text"),
        description=_l("The whole document as it would read with your change."),
    )
    preview = SubmitField(_l("Preview the redline"))
    save = SubmitField(_l("Save draft"))


class SectionAmendmentForm(AmendmentForm):
    """The draft with one section of the proposed text; the view puts it back in the whole."""

    proposed_text = TextAreaField(
        _l("Proposed text of this section"),
        description=_l(
            "This section as it would read with your change, from its heading to the next "
            "heading. The rest of the document stays as it is. Empty the field to remove "
            "the section."
        ),
    )
    section = HiddenField()
    # Of the section as the form showed it: saving refuses if it changed meanwhile.
    fingerprint = HiddenField()


class SubmitAmendmentForm(FlaskForm):
    # Any id is accepted here: the service says whether that member is a receiver.
    addressed_to = SelectField(
        _l("Address to"), coerce=int, validate_choice=False, default=ALL_RECEIVERS
    )

    def set_receivers(self, proposer: Member) -> None:
        statement = (
            select(Member)
            .join(MemberRole)
            .where(
                MemberRole.role == Role.RECEIVER,
                Member.standing == Standing.ACTIVE,
                Member.id != proposer.id,
            )
            .order_by(Member.name, Member.id)
        )
        receivers = db.session.scalars(statement)
        self.addressed_to.choices = [(ALL_RECEIVERS, _l("All receivers"))] + [
            (member.id, member.name) for member in receivers
        ]


class ResolveConflictsForm(FlaskForm):
    resolved_text = TextAreaField(
        _l("The proposed text against the version in force"),
        description=_l("The whole document as it would read with your change, conflicts resolved."),
    )


class CommentForm(FlaskForm):
    # Sent back with the form: the same form posted twice makes one comment.
    form_token = HiddenField(default=new_form_token)
    body = TextAreaField(
        _l("Your comment"),
        description=_l("Markdown: *emphasis*, **strong**, lists, links and quotes."),
    )
