"""The admin's pages for the member roll."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from govern.extensions import db
from govern.members import services
from govern.members.forms import (
    ActionForm,
    MemberForm,
    NewMemberForm,
    RollConfirmForm,
    RollUploadForm,
)
from govern.members.models import Member, MemberChange, MemberRole, Role, Standing
from govern.members.permissions import admin_required
from govern.members.roll import RollFileError, decode, import_roll

bp = Blueprint("members_admin", __name__, url_prefix="/admin/members")

PAGE_SIZE = 50


@bp.route("/")
@admin_required
def index():
    query = request.args.get("q", "").strip()[:200]
    standing = request.args.get("standing", "")
    statement = select(Member).order_by(func.lower(Member.name), Member.id)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(
            or_(func.lower(Member.name).like(pattern), Member.email.like(pattern))
        )
    if standing in {s.value for s in Standing}:
        statement = statement.where(Member.standing == standing)
    page = db.paginate(statement, per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "members/index.html", page=page, query=query, standing=standing, action_form=ActionForm()
    )


def _load(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


@bp.route("/<int:member_id>", methods=["GET", "POST"])
@admin_required
def edit(member_id: int):
    member = _load(member_id)
    form = MemberForm(
        data={"roles": sorted(member.roles), "standing": member.standing}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        roles = {Role(value) for value in form.roles.data}
        if member.id == current_user.id and Role.ADMIN not in roles:
            form.roles.errors.append(
                gettext("You cannot remove your own admin role; ask another admin.")
            )
        else:
            changed = services.change_roles(member, roles, current_user)
            changed |= services.change_standing(member, Standing(form.standing.data), current_user)
            db.session.commit()
            flash(
                gettext("Saved.") if changed else gettext("Nothing changed."),
                "success" if changed else "info",
            )
            return redirect(url_for(".edit", member_id=member.id))
    changes = db.session.scalars(
        select(MemberChange)
        .where(MemberChange.member_id == member.id)
        .order_by(MemberChange.changed_at.desc(), MemberChange.id.desc())
    ).all()
    return render_template(
        "members/edit.html", member=member, form=form, changes=changes, action_form=ActionForm()
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = NewMemberForm(data={"standing": Standing.ACTIVE.value} if request.method == "GET" else None)
    if form.validate_on_submit():
        email = services.normalize_email(form.email.data)
        if services.find_member_by_email(email):
            form.email.errors.append(gettext("A member with this email already exists."))
        else:
            member = Member(name=form.name.data.strip(), email=email, standing=form.standing.data)
            member.role_rows = [MemberRole(role=role) for role in sorted(form.roles.data)]
            db.session.add(member)
            db.session.flush()
            services.record_creation(member, current_user)
            if form.send_invitation.data:
                services.invite_member(member)
            db.session.commit()
            flash(gettext("%(name)s was added.", name=member.name), "success")
            return redirect(url_for(".edit", member_id=member.id))
    return render_template("members/new.html", form=form)


@bp.route("/<int:member_id>/invite", methods=["POST"])
@admin_required
def invite(member_id: int):
    member = _load(member_id)
    if ActionForm().validate_on_submit():
        services.invite_member(member)
        db.session.commit()
        flash(gettext("An invitation was queued for %(email)s.", email=member.email), "success")
    return redirect(url_for(".edit", member_id=member.id))


@bp.route("/invite-all", methods=["POST"])
@admin_required
def invite_all():
    if ActionForm().validate_on_submit():
        members = db.session.scalars(select(Member).where(Member.password_hash.is_(None))).all()
        for member in members:
            services.invite_member(member)
        db.session.commit()
        flash(
            ngettext(
                "%(num)s invitation was queued.", "%(num)s invitations were queued.", len(members)
            ),
            "success",
        )
    return redirect(url_for(".index"))


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_roll_page():
    upload = RollUploadForm()
    confirm = RollConfirmForm()
    if upload.submit.data and upload.validate_on_submit():
        data = upload.file.data.read()
        return _check_roll(upload, data)
    if confirm.submit.data and confirm.validate_on_submit():
        data = confirm.csv_text.data.encode()
        report = import_roll(data, actor=current_user)
        if not report.ok:
            db.session.rollback()
            return render_template("members/import.html", upload=upload, report=report)
        if confirm.send_invitations.data:
            for member in report.new_members:
                services.invite_member(member)
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
    return render_template("members/import.html", upload=upload)


def _check_roll(upload: RollUploadForm, data: bytes):
    try:
        text = decode(data)
        report = import_roll(data, actor=current_user, dry_run=True)
    except RollFileError as error:
        upload.file.errors.append(str(error))
        return render_template("members/import.html", upload=upload), 400
    confirm = RollConfirmForm(formdata=None, data={"csv_text": text})
    status = 200 if report.ok else 400
    return render_template(
        "members/import.html", upload=upload, report=report, confirm=confirm
    ), status
