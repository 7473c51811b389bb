"""Signing in and out, invitations and forgotten passwords."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from govern.extensions import db, limiter
from govern.members import services
from govern.members.forms import ActionForm, ForgotPasswordForm, SetPasswordForm, SignInForm
from govern.members.models import TokenPurpose

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def _token_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link borrow our name.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("main.index")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
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


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(_token_limit)
def set_password(token: str):
    token_row = services.find_usable_token(token)
    if token_row is None:
        return render_template("auth/link_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            member = services.set_password(token_row, form.password.data)
        except ValueError:
            db.session.rollback()
            return render_template("auth/link_invalid.html"), 404
        db.session.commit()
        login_user(member)
        flash(gettext("Your password is set. Welcome, %(name)s.", name=member.name), "success")
        return redirect(url_for("main.index"))
    is_invitation = token_row.purpose == TokenPurpose.INVITATION
    response = current_app.make_response(
        render_template(
            "auth/set_password.html",
            form=form,
            member=token_row.member,
            is_invitation=is_invitation,
        )
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
