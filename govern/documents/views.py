"""Reading documents, their history and diffs; importing them (admins)."""

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

from govern.documents import services
from govern.documents.forms import NEW_DOCUMENT, CompareForm, DocumentImportForm
from govern.documents.models import MAX_VERSION_NUMBER, Document, Version
from govern.documents.rendering import history_list, render_text
from govern.extensions import db
from govern.members.permissions import admin_required

bp = Blueprint("documents", __name__)

DIFF_VIEWS = ("redline", "side")


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
    version = document.version_in_force() or abort(404)
    return _render_version(document, version, version)


# A bound on the number: a larger one would overflow the database driver (a 500).
@bp.route(f"/documents/<slug>/versions/<int(max={MAX_VERSION_NUMBER}):number>")
def version(slug: str, number: int):
    document = _document(slug)
    version = services.get_version(document, number) or abort(404)
    return _render_version(document, version, document.version_in_force())


def _render_version(document: Document, version: Version, in_force: Version | None):
    return render_template(
        "documents/show.html",
        document=document,
        version=version,
        rendered=render_text(version.text, document.format),
        history=history_list(document.slug, services.versions_newest_first(document), version),
        is_in_force=in_force is not None and in_force.id == version.id,
    )


@bp.route("/documents/<slug>/versions/")
def versions(slug: str):
    document = _document(slug)
    return _versions_page(document)


def _versions_page(document: Document, error: str | None = None):
    history = services.versions_newest_first(document)
    form = CompareForm(request.args)
    form.set_versions([version.number for version in history])
    return render_template(
        "documents/versions.html",
        document=document,
        history=history_list(document.slug, history),
        version_count=len(history),
        form=form,
        error=error,
    )


@bp.route("/documents/<slug>/compare")
def compare(slug: str):
    document = _document(slug)
    try:
        old, new = services.versions_to_compare(
            document, request.args.get("old"), request.args.get("new")
        )
    except services.DocumentError as error:
        return _versions_page(document, str(error)), 400
    view = request.args.get("view")
    return render_template(
        "documents/compare.html",
        document=document,
        old=old,
        new=new,
        diff=None if old.id == new.id else services.diff_versions(old, new),
        view=view if view in DIFF_VIEWS else DIFF_VIEWS[0],
    )


@bp.route("/admin/documents/import", methods=["GET", "POST"])
@admin_required
def import_document():
    form = DocumentImportForm()
    form.set_documents(services.all_documents())
    if request.method == "GET" and request.args.get("document"):
        form.document.data = request.args["document"]
    if form.validate_on_submit():
        try:
            version = _import(form)
        except services.DocumentError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
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
    limit = services.human_size(current_app.config["MAX_DOCUMENT_BYTES"])
    return render_template("documents/import.html", form=form, document_limit=limit), status


def _import(form: DocumentImportForm) -> Version:
    upload = form.file.data
    effective_on, ratified_on = form.effective_on.data, form.ratified_on.data
    file = services.VersionFile(
        data=upload.read(),
        name=upload.filename or "",
        effective_at=services.start_of_day(effective_on) if effective_on else None,
        summary=form.summary.data or "",
        ratified_at=services.start_of_day(ratified_on) if ratified_on else None,
    )
    is_new = form.document.data == NEW_DOCUMENT
    (version,) = services.import_versions(
        [file],
        document=None if is_new else services.find_document(form.document.data),
        title=(form.title.data or "") if is_new else "",
        slug=form.slug.data or "",
        format=form.text_format,
        actor=current_user,
    )
    return version


from govern.documents import procedure_views  # noqa: E402, F401  (registers its routes on bp)
