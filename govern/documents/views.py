"""Reading documents, their history and diffs; importing them (admins)."""

from datetime import date, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from govern import clock
from govern.documents import services
from govern.documents.diff import diff_texts, fold
from govern.documents.forms import CompareForm, DocumentImportForm
from govern.documents.models import Document, TextFormat
from govern.documents.rendering import render_text
from govern.extensions import db
from govern.members.permissions import admin_required

bp = Blueprint("documents", __name__)

NEW_DOCUMENT = "__new__"


@bp.before_request
def _check_visibility():
    if request.endpoint == "documents.import_document":
        return None
    if not current_app.config["DOCUMENTS_PUBLIC"] and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def _document(slug: str) -> Document:
    return services.find_document(slug) or abort(404)


@bp.route("/documents/")
def index():
    return render_template("documents/index.html", documents=services.visible_documents())


@bp.route("/documents/<slug>")
def show(slug: str):
    document = _document(slug)
    version = document.version_in_force()
    if version is None:
        abort(404)
    return render_template(
        "documents/show.html",
        document=document,
        version=version,
        rendered=render_text(version.text, document.format),
        history=services.versions_newest_first(document),
        is_current=True,
    )


@bp.route("/documents/<slug>/versions/")
def versions(slug: str):
    document = _document(slug)
    history = services.versions_newest_first(document)
    form = _compare_form(history, request.args)
    return render_template(
        "documents/versions.html", document=document, history=history, form=form
    )


@bp.route("/documents/<slug>/versions/<int:number>")
def version(slug: str, number: int):
    document = _document(slug)
    version = services.get_version(document, number) or abort(404)
    in_force = document.version_in_force()
    return render_template(
        "documents/show.html",
        document=document,
        version=version,
        rendered=render_text(version.text, document.format),
        history=services.versions_newest_first(document),
        is_current=in_force is not None and in_force.id == version.id,
    )


def _compare_form(history, args) -> CompareForm:
    form = CompareForm(args)
    choices = [(v.number, gettext("Version %(number)s", number=v.number)) for v in history]
    form.old.choices = choices
    form.new.choices = choices
    if "old" not in args and len(history) >= 2:
        form.old.data, form.new.data = history[1].number, history[0].number
    return form


@bp.route("/documents/<slug>/compare")
def compare(slug: str):
    document = _document(slug)
    history = services.versions_newest_first(document)
    form = _compare_form(history, request.args)
    if not form.validate():
        return render_template(
            "documents/versions.html", document=document, history=history, form=form
        ), 400
    old = services.get_version(document, form.old.data)
    new = services.get_version(document, form.new.data)
    diff = diff_texts(old.text, new.text)
    return render_template(
        "documents/compare.html",
        document=document,
        old=old,
        new=new,
        diff=diff,
        folded=fold(diff.blocks),
        view=form.view.data if form.view.data in {"redline", "side"} else "redline",
        form=form,
    )


def _effective_at(day: date | None) -> datetime:
    return clock.now() if day is None else services.start_of_day(day)


@bp.route("/admin/documents/import", methods=["GET", "POST"])
@admin_required
def import_document():
    form = DocumentImportForm()
    documents = db.session.scalars(select(Document).order_by(Document.title)).all()
    form.document.choices = [(NEW_DOCUMENT, gettext("A new document"))] + [
        (document.slug, gettext("New version of %(title)s", title=document.title))
        for document in documents
    ]
    if request.method == "GET" and request.args.get("document"):
        form.document.data = request.args["document"]
    if form.validate_on_submit():
        try:
            version = _import(form)
        except services.DocumentError as error:
            db.session.rollback()
            form.file.errors.append(str(error))
        else:
            db.session.commit()
            flash(
                gettext(
                    "Imported version %(number)s of %(title)s.",
                    number=version.number,
                    title=version.document.title,
                ),
                "success",
            )
            return redirect(url_for(".versions", slug=version.document.slug))
    status = 400 if form.errors else 200
    return render_template("documents/import.html", form=form), status


def _import(form: DocumentImportForm):
    upload = form.file.data
    text = services.decode_text(upload.read())
    effective_at = _effective_at(form.effective_on.data)
    if effective_at > clock.now():
        raise services.DocumentError(gettext("The date is in the future."))
    if form.document.data == NEW_DOCUMENT:
        title = (form.title.data or "").strip()
        if not title:
            form.title.errors.append(gettext("A new document needs a title."))
            raise services.DocumentError(gettext("Nothing was imported."))
        document = services.create_document(
            title,
            form.slug.data or services.slugify(title),
            TextFormat(form.format.data or services.format_for_filename(upload.filename or "")),
        )
    else:
        document = services.find_document(form.document.data)
    return services.add_version(
        document,
        text,
        effective_at=effective_at,
        summary=form.summary.data or "",
        actor=current_user,
    )
