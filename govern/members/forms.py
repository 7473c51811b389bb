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
from wtforms.validators import DataRequired, Email, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from govern.members.models import Role, Standing
from govern.members.services import PASSWORD_MIN_LENGTH

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


class NewMemberForm(MemberForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    send_invitation = BooleanField(_l("Email an invitation to set a password"), default=True)
    submit = SubmitField(_l("Add member"))


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""


class RollUploadForm(FlaskForm):
    file = FileField(
        _l("Member roll (CSV file)"),
        validators=[FileRequired(_l("Choose a CSV file."))],
        description=_l(
            "UTF-8 CSV with the columns name, email, roles, standing. Roles: member, "
            "receiver, chair, admin, separated by semicolons. Standing: active, suspended, lapsed."
        ),
    )
    submit = SubmitField(_l("Check the file"))


class RollConfirmForm(FlaskForm):
    csv_text = HiddenField(validators=[DataRequired()])
    send_invitations = BooleanField(_l("Email an invitation to each new member"), default=True)
    submit = SubmitField(_l("Import the roll"))
