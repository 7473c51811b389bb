"""The drafting pages: a new draft and its edits, whole or one section, with the live redline."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from govern.amendments import sections, services
from govern.amendments.checks import check_text_size
from govern.amendments.errors import AmendmentError
from govern.amendments.forms import AmendmentForm, SectionAmendmentForm
from govern.amendments.models import Amendment
from govern.amendments.views import REFUSED, amendment_page, bp, load_amendment
from govern.documents import services as documents
from govern.documents.diff import diff_texts
from govern.documents.models import Document
from govern.extensions import db, limiter
from govern.procedures.states import State


@bp.route("/documents/<slug>/amendments/new", methods=["GET", "POST"])
def new(slug: str):
    document = documents.find_document(slug) or abort(404)
    base = document.version_in_force() or abort(404)
    section = _chosen_section(document, base.text)
    form = _draft_form(section, {"proposed_text": base.text})
    if form.validate_on_submit() and form.save.data:
        try:
            fields = _form_fields(form, document, base.text)
            amendment = services.start_draft(current_user, document, *fields, form.form_token.data)
        except REFUSED as error:
            db.session.rollback()
            return _form_page(form, document, base.text, base.text, None, section, error)
        db.session.commit()
        flash(gettext("Your draft is saved. Only you can see it."), "success")
        return redirect(url_for(".show", amendment_id=amendment.id))
    return _form_page(form, document, base.text, base.text, None, section)


@bp.route("/amendments/<id:amendment_id>/edit", methods=["GET", "POST"])
def edit(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if amendment.proposer_id != current_user.id:
        abort(403)
    if amendment.state != State.DRAFT:
        return amendment_page(amendment, _why_not_editable(amendment)), 400
    document, base_text = amendment.document, amendment.base_version.text
    saved_text = amendment.proposed_text
    section = _chosen_section(document, saved_text)
    form = _draft_form(
        section,
        {"title": amendment.title, "rationale": amendment.rationale, "proposed_text": saved_text},
    )
    if form.validate_on_submit() and form.save.data:
        try:
            fields = _form_fields(form, document, saved_text)
            services.update_draft(amendment, current_user, *fields)
        except REFUSED as error:
            db.session.rollback()
            return _form_page(form, document, base_text, saved_text, amendment, section, error)
        db.session.commit()
        flash(gettext("Your draft is saved."), "success")
        return redirect(url_for(".show", amendment_id=amendment.id))
    return _form_page(form, document, base_text, saved_text, amendment, section)


def _form_fields(form: AmendmentForm, document: Document, saved_text: str) -> tuple[str, str, str]:
    """Title, rationale and the whole proposed text: a section form's text is put back into
    the text it was taken from (`saved_text`), if that section has not changed since."""
    proposed = form.proposed_text.data or ""
    if isinstance(form, SectionAmendmentForm):
        proposed = sections.put_back(
            saved_text, document.format, form.section.data, form.fingerprint.data or "", proposed
        )
    return form.title.data or "", form.rationale.data or "", proposed


def _why_not_editable(amendment: Amendment) -> str:
    if amendment.submitted_at is None:  # withdrawn while still a draft
        return gettext("Only a draft can be edited; this draft was withdrawn.")
    return gettext("Only a draft can be edited; this proposal was submitted.")


def _form_page(form, document, base_text, saved_text, amendment, section=None, error=None):
    """The draft form, whole or one section; with the redline when asked for a preview.
    Saves nothing. Returns the page and its status: 200, or the refusal's."""
    message = None
    status = 200 if error is None else _refusal_status(error)
    diff = None
    if error is None and form.preview.data:
        try:
            diff = _redline(form, document, base_text, saved_text)
        except REFUSED as refusal:
            error, status = refusal, _refusal_status(refusal)
    if error is not None:
        field = getattr(form, getattr(error, "field", None) or "", None)
        if field is not None:
            field.errors = [*field.errors, str(error)]
        else:
            message = str(error)
    page = render_template(
        "amendments/form.html",
        form=form,
        document=document,
        amendment=amendment,
        sections=sections.editable_sections(saved_text, document.format),
        section=section,
        diff=diff,
        error=message,
    )
    return page, status


# The live redline preview: the fragment the form's script asks for as the proposer types.


class _TooLarge(AmendmentError):
    """A proposed text over MAX_DOCUMENT_BYTES, refused before it is compared."""


def _preview_rate_limit() -> str:
    return current_app.config["PREVIEW_RATE_LIMIT"]


def _signed_in_member() -> str:
    return f"member:{current_user.get_id()}"


_preview_limit = limiter.shared_limit(
    _preview_rate_limit, scope="redline-preview", key_func=_signed_in_member
)


@bp.route("/documents/<slug>/amendments/preview", methods=["POST"])
@_preview_limit
def preview_new(slug: str):
    document = documents.find_document(slug) or abort(404)
    base = document.version_in_force() or abort(404)
    return _preview_fragment(document, base.text, base.text)


@bp.route("/amendments/<id:amendment_id>/preview", methods=["POST"])
@_preview_limit
def preview_edit(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if amendment.proposer_id != current_user.id:
        abort(403)
    if amendment.state != State.DRAFT:
        error = _why_not_editable(amendment)
        return render_template("amendments/_preview.html", preview_error=error), 400
    base_text = amendment.base_version.text
    return _preview_fragment(amendment.document, base_text, amendment.proposed_text)


def _preview_fragment(document: Document, base_text: str, saved_text: str):
    """The redline of the whole document as the posted form would save it. Saves nothing."""
    section = _chosen_section(document, saved_text)
    form = _draft_form(section)
    try:
        diff = _redline(form, document, base_text, saved_text)
    except REFUSED as error:
        page = render_template("amendments/_preview.html", preview_error=str(error))
        return page, _refusal_status(error)
    return render_template("amendments/_preview.html", diff=diff)


def _chosen_section(document: Document, saved_text: str) -> sections.Section | None:
    """The section asked for (`?section=N`, or the form's hidden field); None for the whole
    document. No such section: a 404 for the page, a 400 saying so for a posted form."""
    values = request.form if request.method == "POST" else request.args
    if "section" not in values:
        return None
    section = sections.find_section(saved_text, document.format, values["section"])
    if section is not None:
        return section
    if request.method != "POST":
        abort(404)
    message = gettext(
        "This section is not in the text any more, so nothing was changed. "
        "Open the draft again and choose the section from the list."
    )
    if request.endpoint in {"amendments.preview_new", "amendments.preview_edit"}:
        page = render_template("amendments/_preview.html", preview_error=message)
    else:
        page = render_template("error.html", code=400, message=message)
    abort(current_app.make_response((page, 400)))


def _draft_form(section: sections.Section | None, data: dict | None = None) -> AmendmentForm:
    """The form for the whole text or for one section; on a GET filled with `data`."""
    if request.method != "GET":
        data = None
    elif section is not None:
        data = {
            **(data or {}),
            "proposed_text": section.body,
            "section": section.number,
            "fingerprint": section.fingerprint,
        }
    return (AmendmentForm if section is None else SectionAmendmentForm)(data=data)


def _redline(form: AmendmentForm, document: Document, base_text: str, saved_text: str):
    proposed = _form_fields(form, document, saved_text)[2].replace("\r\n", "\n")
    try:
        check_text_size(proposed)
    except AmendmentError as error:
        # Too large to compare is a 413; saving it is refused like any other field, a 400.
        raise _TooLarge(str(error), error.field) from None
    return diff_texts(base_text, proposed)


def _refusal_status(error: Exception) -> int:
    if isinstance(error, sections.StaleSection):
        return 409
    if isinstance(error, _TooLarge):
        return 413
    return 400
