"""The admin's pages for the member roll."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from govern.extensions import db
from govern.forms import ActionForm
from govern.members import services
from govern.members.forms import (
    MemberForm,
    NewMemberForm,
    RollConfirmForm,
    RollUploadForm,
)
from govern.members.models import Member, Role, Standing, TokenPurpose
from govern.members.permissions import admin_required
from govern.members.roll import ImportReport, RollFileError, apply_roll, check_roll, decode
from govern.web import page_number

bp = Blueprint("members_admin", __name__, url_prefix="/admin/members")

PAGE_SIZE = 50


@bp.route("/")
@admin_required
def index():
    query = request.args.get("q", "").strip()[:200]
    standing = request.args.get("standing", "")
    statement = services.search_members(query, standing)
    page = db.paginate(statement, page=page_number(), per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "members/index.html", page=page, query=query, standing=standing, action_form=ActionForm()
    )


def _load(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


@bp.route("/<id:member_id>", methods=["GET", "POST"])
@admin_required
def edit(member_id: int):
    member = _load(member_id)
    initial = {"roles": sorted(member.roles), "standing": member.standing}
    form = MemberForm(data=initial if request.method == "GET" else None)
    if form.validate_on_submit():
        roles = {Role(value) for value in form.roles.data}
        try:
            changed = services.update_member(
                member, roles, Standing(form.standing.data), current_user
            )
        except services.MemberError as error:
            db.session.rollback()
            form.roles.errors.append(str(error))
        else:
            db.session.commit()
            flash(
                gettext("Saved.") if changed else gettext("Nothing changed."),
                "success" if changed else "info",
            )
            return redirect(url_for(".edit", member_id=member.id))
    page = render_template(
        "members/edit.html",
        member=member,
        form=form,
        changes=services.changes_of(member),
        action_form=ActionForm(),
    )
    return page, 400 if form.errors else 200


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = NewMemberForm(data={"standing": Standing.ACTIVE} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            member = services.add_member(
                form.name.data,
                form.email.data,
                {Role(value) for value in form.roles.data},
                Standing(form.standing.data),
                current_user,
                invite=form.send_invitation.data,
            )
        except services.MemberError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(gettext("%(name)s was added.", name=member.name), "success")
            return redirect(url_for(".edit", member_id=member.id))
    return render_template("members/new.html", form=form), 400 if form.errors else 200


@bp.route("/<id:member_id>/invite", methods=["POST"])
@admin_required
def invite(member_id: int):
    member = _load(member_id)
    if ActionForm().validate_on_submit():
        purpose = services.email_password_link(member)
        db.session.commit()
        if purpose == TokenPurpose.INVITATION:
            message = gettext("An invitation was queued for %(email)s.", email=member.email)
        else:
            message = gettext(
                "A link to set a new password was queued for %(email)s.", email=member.email
            )
        flash(message, "success")
    return redirect(url_for(".edit", member_id=member.id))


@bp.route("/invite-all", methods=["POST"])
@admin_required
def invite_all():
    if ActionForm().validate_on_submit():
        members = services.members_to_invite()
        for member in members:
            services.invite_member(member)
        db.session.commit()
        flash(
            ngettext(
                "%(num)s invitation was queued for active members without a password.",
                "%(num)s invitations were queued for active members without a password.",
                len(members),
            ),
            "success",
        )
    return redirect(url_for(".index"))


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_roll_page():
    """Upload, see the check of every row, then confirm: nothing changes before that."""
    upload = RollUploadForm()
    if "csv_text" in request.form:
        return _import_checked_roll(upload, RollConfirmForm())
    if upload.validate_on_submit():
        return _check_roll(upload)
    return _import_page(upload)


def _check_roll(upload: RollUploadForm):
    try:
        text = decode(upload.file.data.read())
        report = check_roll(text, actor=current_user)
    except RollFileError as error:
        return _import_page(upload, file_error=str(error))
    confirm = RollConfirmForm(formdata=None, data={"csv_text": text}) if report.ok else None
    return _import_page(upload, report, confirm)


def _import_checked_roll(upload: RollUploadForm, confirm: RollConfirmForm):
    if not confirm.validate_on_submit():
        return _import_page(upload, file_error=" ".join(map(str, confirm.csv_text.errors)))
    try:
        report = check_roll(confirm.csv_text.data, actor=current_user)
    except RollFileError as error:
        return _import_page(upload, file_error=str(error))
    if not report.ok:
        return _import_page(upload, report)
    apply_roll(report, actor=current_user, invite=confirm.send_invitations.data)
    db.session.commit()
    flash(
        gettext(
            "Roll imported: %(added)s added, %(updated)s updated, %(unchanged)s unchanged.",
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
        ),
        "success",
    )
    return redirect(url_for(".index"))


def _import_page(
    upload: RollUploadForm,
    report: ImportReport | None = None,
    confirm: RollConfirmForm | None = None,
    *,
    file_error: str | None = None,
):
    if file_error:
        upload.file.errors = [*upload.file.errors, file_error]
    page = render_template("members/import.html", upload=upload, report=report, confirm=confirm)
    failed = upload.file.errors or (report is not None and not report.ok)
    return page, 400 if failed else 200
