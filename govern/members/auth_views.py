"""Signing in and out, invitations and forgotten passwords."""

import unicodedata
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from govern.extensions import db, limiter
from govern.forms import ActionForm
from govern.members import services
from govern.members.forms import ForgotPasswordForm, SetPasswordForm, SignInForm
from govern.members.models import TokenPurpose

bp = Blueprint("auth", __name__, url_prefix="/auth")

# The id of the link token a visitor opened; the session cookie is signed.
PASSWORD_TOKEN_KEY = "password_token_id"


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def _sign_in_address_limit() -> str:
    return current_app.config["SIGN_IN_ADDRESS_RATE_LIMIT"]


def _forgot_password_address_limit() -> str:
    return current_app.config["FORGOT_PASSWORD_ADDRESS_RATE_LIMIT"]


def _token_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


def _submitted_address() -> str:
    # Counted per email address as well as per client: guesses at one member's password
    # (or requests flooding one mailbox) from many clients add up.
    return "address:" + services.normalize_email(request.form.get("email", ""))[:254]


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect would let a phishing link borrow our name.
    if target and is_local_path(target):
        return target
    return url_for("main.index")


def is_local_path(target: str) -> bool:
    """Whether a browser sent to `target` stays on this site."""
    # Browsers drop tabs and line breaks and read a backslash as "/": a tab between two
    # slashes makes "//evil.com", another site.
    if any(
        character == "\\" or character.isspace() or unicodedata.category(character)[0] == "C"
        for character in target
    ):
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and parts.path.startswith("/")
        and not target.startswith("//")
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
@limiter.limit(_sign_in_address_limit, methods=["POST"], key_func=_submitted_address)
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignInForm()
    if form.validate_on_submit():
        member = services.authenticate(form.email.data, form.password.data)
        if member is not None:
            login_user(member)
            flash(gettext("Signed in as %(name)s.", name=member.name), "success")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(gettext("That email and password do not match."))
    return render_template("auth/sign_in.html", form=form)


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    if ActionForm().validate_on_submit():
        logout_user()
        flash(gettext("You are signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_token_limit, methods=["POST"])
@limiter.limit(_forgot_password_address_limit, methods=["POST"], key_func=_submitted_address)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        # The same answer whether or not the address is a member's.
        flash(
            gettext(
                "If %(email)s belongs to a member, a link to set a new password is on its way.",
                email=form.email.data,
            ),
            "info",
        )
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/set-password/<token>")
@limiter.limit(_token_limit)
def open_password_link(token: str):
    """Keep the token in the session and move on to a page whose address does not carry it.

    The address with the token would otherwise stay usable in access logs and history.
    """
    token_row = services.find_usable_token(token)
    if token_row is None:
        session.pop(PASSWORD_TOKEN_KEY, None)
        return _link_invalid()
    session[PASSWORD_TOKEN_KEY] = token_row.id
    return _no_referrer(redirect(url_for("auth.set_password")))


@bp.route("/set-password", methods=["GET", "POST"])
@limiter.limit(_token_limit)
def set_password():
    token_row = services.find_usable_token_by_id(session.get(PASSWORD_TOKEN_KEY))
    if token_row is None:
        session.pop(PASSWORD_TOKEN_KEY, None)
        return _link_invalid()
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            member = services.set_password(token_row, form.password.data)
        except ValueError:
            db.session.rollback()
            session.pop(PASSWORD_TOKEN_KEY, None)
            return _link_invalid()
        db.session.commit()
        session.pop(PASSWORD_TOKEN_KEY, None)
        login_user(member)
        flash(gettext("Your password is set. Welcome, %(name)s.", name=member.name), "success")
        return redirect(url_for("main.index"))
    page = render_template(
        "auth/set_password.html",
        form=form,
        member=token_row.member,
        is_invitation=token_row.purpose == TokenPurpose.INVITATION,
    )
    return _no_referrer(current_app.make_response(page))


def _link_invalid():
    return _no_referrer(current_app.make_response((render_template("auth/link_invalid.html"), 404)))


def _no_referrer(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
