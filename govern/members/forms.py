from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from govern.members.models import Role, Standing
from govern.members.services import PASSWORD_MIN_LENGTH, name_problem

ROLE_LABELS = {
    Role.RECEIVER: _l("Receiver (Steering Committee member or Internal Grievance Officer)"),
    Role.CHAIR: _l("Meeting chair or secretary"),
    Role.ADMIN: _l("Administrator"),
}
STANDING_LABELS = {
    Standing.ACTIVE: _l("Active (may vote)"),
    Standing.SUSPENDED: _l("Suspended"),
    Standing.LAPSED: _l("Lapsed"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send me a link"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=200)],
        description=_l("At least %(min)s characters.", min=PASSWORD_MIN_LENGTH),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set password"))


class MemberForm(FlaskForm):
    roles = MultiCheckboxField(
        _l("Roles"), choices=[(role.value, label) for role, label in ROLE_LABELS.items()]
    )
    standing = RadioField(
        _l("Standing"),
        choices=[(standing.value, label) for standing, label in STANDING_LABELS.items()],
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Save changes"))


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _valid_name(form: FlaskForm, field: StringField) -> None:
    problem = name_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class NewMemberForm(MemberForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[_valid_name])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    send_invitation = BooleanField(_l("Email an invitation to set a password"), default=True)
    submit = SubmitField(_l("Add member"))


class RollUploadForm(FlaskForm):
    file = FileField(
        _l("Member roll (CSV file)"),
        validators=[FileRequired(_l("Choose a CSV file."))],
        description=_l(
            "UTF-8 CSV whose first line names the columns name, email, roles, standing. "
            "Roles: member, receiver, chair, admin, separated by semicolons. Standing: active, "
            "suspended, lapsed. Leave out the roles or standing column, or leave a standing "
            "empty, to keep what members have now; new members are active."
        ),
    )
    submit = SubmitField(_l("Check the file"))


class RollConfirmForm(FlaskForm):
    """Posts the checked file back as text; it is checked again before anything changes."""

    csv_text = HiddenField(
        validators=[DataRequired(_l("The checked file was not sent back; check it again."))]
    )
    send_invitations = BooleanField(_l("Email an invitation to each new member"), default=True)
    confirm = SubmitField(_l("Import the roll"))
