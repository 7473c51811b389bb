"""The amendment pages: the list, drafting, the amendment page and its actions, the inbox."""

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from govern.amendments import sections, services
from govern.amendments.comments import add_comment, render_comment, why_comments_are_closed
from govern.amendments.forms import (
    ALL_RECEIVERS,
    ActionForm,
    AmendmentForm,
    CommentForm,
    ResolveConflictsForm,
    SectionAmendmentForm,
    SubmitAmendmentForm,
)
from govern.amendments.models import Amendment, TimelineEntry
from govern.documents import services as documents
from govern.documents.diff import diff_texts
from govern.documents.models import Document
from govern.extensions import db, limiter
from govern.members.models import Member, Role
from govern.members.permissions import role_required
from govern.procedures.stages import Event
from govern.procedures.states import (
    EVENT_LABELS,
    STATE_LABELS,
    IllegalTransition,
    State,
    allowed_events,
    can_be_revised,
    has_voting_started,
    is_final,
    what_happens_next,
)
from govern.web import get_by_id, page_number

bp = Blueprint("amendments", __name__)

PAGE_SIZE = 25
TIMELINE_LABELS = {
    **EVENT_LABELS,
    TimelineEntry.STARTED: _l("Draft started"),
    TimelineEntry.UPDATED: _l("Draft edited"),
    TimelineEntry.REBASED: _l("Rebased"),
    TimelineEntry.REVISED: _l("Revised"),
}
REFUSED = (services.AmendmentError, IllegalTransition)


@bp.before_request
def _members_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def load_amendment(amendment_id: int) -> Amendment:
    """The amendment, if the member may see it: a draft only its proposer sees."""
    amendment = db.session.get(Amendment, amendment_id) or abort(404)
    if amendment.state == State.DRAFT and amendment.proposer_id != current_user.id:
        abort(404)
    return amendment


# The list and the inbox -------------------------------------------------------------------


@bp.route("/amendments/")
def index():
    state = request.args.get("state", "")
    slug = request.args.get("document", "")
    query = request.args.get("q", "").strip()[:200]
    statement = select(Amendment).where(
        or_(Amendment.state != State.DRAFT, Amendment.proposer_id == current_user.id)
    )
    if state in STATE_LABELS:
        statement = statement.where(Amendment.state == state)
    if slug:
        statement = statement.join(Document).where(Document.slug == slug)
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Amendment.title.ilike(f"%{escaped}%", escape="\\"))
    statement = statement.order_by(Amendment.updated_at.desc(), Amendment.id.desc())
    page = db.paginate(statement, page=page_number(), per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "amendments/index.html",
        page=page,
        state=state,
        document_slug=slug,
        query=query,
        documents=documents.all_documents(),
        state_labels=STATE_LABELS,
    )


@bp.route("/amendments/inbox")
@role_required(Role.RECEIVER)
def inbox():
    """What waits for a receiver: submissions to acknowledge, then discussions to schedule."""
    to_acknowledge = (
        select(Amendment)
        .where(
            Amendment.state == State.SUBMITTED,
            Amendment.proposer_id != current_user.id,
            or_(Amendment.addressed_to_id.is_(None), Amendment.addressed_to_id == current_user.id),
        )
        .order_by(Amendment.submitted_at, Amendment.id)
    )
    # Any receiver may schedule; whether the procedure has a discussion shows in the state.
    to_schedule = (
        select(Amendment)
        .where(Amendment.state == State.ACKNOWLEDGED)
        .order_by(Amendment.updated_at, Amendment.id)
    )
    return render_template(
        "amendments/inbox.html",
        amendments=db.session.scalars(to_acknowledge).all(),
        to_schedule=[
            amendment
            for amendment in db.session.scalars(to_schedule)
            if Event.SCHEDULE_DISCUSSION in allowed_events(amendment.procedure, amendment.state)
        ],
        action_form=ActionForm(),
    )


# Drafting ---------------------------------------------------------------------------------


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
        return _amendment_page(amendment, _why_not_editable(amendment)), 400
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


class _TooLarge(services.AmendmentError):
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
    limit = current_app.config["MAX_DOCUMENT_BYTES"]
    size = len(proposed.encode("utf-8", "surrogatepass"))
    if size > limit:
        message = gettext(
            "The proposed text is too large (%(size)s); the limit is %(limit)s.",
            size=documents.human_size(size),
            limit=documents.human_size(limit),
        )
        raise _TooLarge(message, "proposed_text")
    return diff_texts(base_text, proposed)


def _refusal_status(error: Exception) -> int:
    if isinstance(error, sections.StaleSection):
        return 409
    if isinstance(error, _TooLarge):
        return 413
    return 400


# The amendment page -----------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>")
def show(amendment_id: int):
    return _amendment_page(load_amendment(amendment_id))


def _amendment_page(
    amendment: Amendment, error: str | None = None, submit_form=None, comment_form=None
):
    if amendment.is_frozen:
        diff = diff_texts(amendment.frozen_base_text, amendment.frozen_text)
    else:
        diff = diff_texts(amendment.base_version.text, amendment.proposed_text)
    status = services.base_status(amendment)
    if submit_form is None:
        submit_form = SubmitAmendmentForm(formdata=None)
    submit_form.set_receivers(amendment.proposer)
    return render_template(
        "amendments/show.html",
        amendment=amendment,
        diff=diff,
        status=status,
        state_label=STATE_LABELS[State(amendment.state)],
        next_sentence=what_happens_next(amendment.procedure, amendment.state),
        timeline_labels=TIMELINE_LABELS,
        state_labels=STATE_LABELS,
        can=_permitted_actions(amendment, status),
        submit_form=submit_form,
        resolve_form=ResolveConflictsForm(
            formdata=None, data={"resolved_text": status.in_force.text}
        ),
        action_form=ActionForm(),
        comments=[(comment, render_comment(comment.body)) for comment in amendment.comments],
        comments_closed=why_comments_are_closed(amendment),
        comment_form=comment_form or CommentForm(formdata=None),
        error=error,
    )


def _permitted_actions(amendment: Amendment, status: services.BaseStatus) -> set[str]:
    """The buttons to show; the services still decide, these only spare useless buttons."""
    events = allowed_events(amendment.procedure, amendment.state)
    me = current_user
    is_proposer = amendment.proposer_id == me.id
    can = set()
    if is_proposer:
        if amendment.state == State.DRAFT:
            can.add("edit")
        if Event.SUBMIT in events and me.is_eligible:
            can.add("submit")
        if Event.WITHDRAW in events:
            can.add("withdraw")
        if can_be_revised(amendment.state) and amendment.revised_by is None and me.is_eligible:
            can.add("revise")
        is_open = not (is_final(amendment.state) or has_voting_started(amendment.state))
        if status.is_stale and is_open and not amendment.is_frozen:
            can.add("resolve" if status.has_conflicts else "rebase")
    addressee = amendment.addressed_to
    if (
        Event.ACKNOWLEDGE in events
        and not is_proposer
        and me.has_role(Role.RECEIVER)
        and me.is_eligible
        and (addressee is None or addressee.id == me.id or not addressee.is_eligible)
    ):
        can.add("acknowledge")
    if Event.SCHEDULE_DISCUSSION in events and services.may_act(
        amendment, me, Event.SCHEDULE_DISCUSSION
    ):
        can.add("schedule")
    return can


# Actions ----------------------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>/submit", methods=["POST"])
def submit(amendment_id: int):
    amendment = load_amendment(amendment_id)
    form = SubmitAmendmentForm()
    choose = gettext("Choose a receiver from the list, or all receivers.")
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            return _amendment_page(amendment, gettext("The form expired; try again.")), 400
        return _amendment_page(amendment, choose, form), 400
    addressed_to = None
    if form.addressed_to.data != ALL_RECEIVERS:
        addressed_to = get_by_id(Member, form.addressed_to.data)
        if addressed_to is None:
            return _amendment_page(amendment, choose, form), 400
    return _act(
        amendment,
        lambda: services.submit(amendment, current_user, addressed_to),
        gettext("Your proposal is submitted."),
        form,
    )


@bp.route("/amendments/<id:amendment_id>/withdraw", methods=["GET", "POST"])
def withdraw(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if request.method == "GET":
        if amendment.proposer_id != current_user.id:
            abort(403)
        if Event.WITHDRAW not in allowed_events(amendment.procedure, amendment.state):
            refused = IllegalTransition(
                State(amendment.state),
                Event.WITHDRAW,
                allowed_events(amendment.procedure, amendment.state),
            )
            return _amendment_page(amendment, str(refused)), 400
        return render_template(
            "amendments/withdraw.html", amendment=amendment, action_form=ActionForm()
        )
    return _act(
        amendment,
        lambda: services.withdraw(amendment, current_user),
        gettext("Your proposal is withdrawn."),
    )


@bp.route("/amendments/<id:amendment_id>/acknowledge", methods=["POST"])
def acknowledge(amendment_id: int):
    amendment = load_amendment(amendment_id)
    return _act(
        amendment,
        lambda: services.acknowledge(amendment, current_user),
        gettext("You acknowledged the proposal; its proposer and the receivers are told."),
    )


@bp.route("/amendments/<id:amendment_id>/rebase", methods=["POST"])
def rebase(amendment_id: int):
    amendment = load_amendment(amendment_id)
    # With conflicts, the proposer sends the whole text resolved against the new version.
    resolved_text = ResolveConflictsForm().resolved_text.data or None
    return _act(
        amendment,
        lambda: services.rebase(amendment, current_user, resolved_text),
        gettext("Your proposal is now based on the version in force."),
    )


@bp.route("/amendments/<id:amendment_id>/revise", methods=["POST"])
def revise(amendment_id: int):
    amendment = load_amendment(amendment_id)
    if not ActionForm().validate_on_submit():
        return _amendment_page(amendment, gettext("The form expired; try again.")), 400
    try:
        draft = services.revise(amendment, current_user)
    except REFUSED as error:
        db.session.rollback()
        return _amendment_page(amendment, str(error)), 400
    db.session.commit()
    flash(gettext("A new draft revises #%(number)s; edit it, then submit it.", number=amendment.id))
    return redirect(url_for(".edit", amendment_id=draft.id))


def _act(amendment: Amendment, action, done: str, submit_form=None):
    """Run one service; commit and go back to the page, or show why nothing changed."""
    if submit_form is None and not ActionForm().validate_on_submit():
        return _amendment_page(amendment, gettext("The form expired; try again.")), 400
    try:
        action()
    except REFUSED as error:
        db.session.rollback()
        return _amendment_page(amendment, str(error), submit_form), 400
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".show", amendment_id=amendment.id))


# The written discussion -------------------------------------------------------------------


@bp.route("/amendments/<id:amendment_id>/comments", methods=["POST"])
def comment(amendment_id: int):
    amendment = load_amendment(amendment_id)
    # CSRF is checked app-wide before this; the service checks the body.
    form = CommentForm()
    try:
        posted = add_comment(amendment, current_user, form.body.data or "", form.form_token.data)
    except services.AmendmentError as error:
        db.session.rollback()
        if error.field == "body":
            form.body.errors = [*form.body.errors, str(error)]
            return _amendment_page(amendment, comment_form=form), 400
        return _amendment_page(amendment, str(error), comment_form=form), 400
    db.session.commit()
    flash(gettext("Your comment is posted."), "success")
    return redirect(url_for(".show", amendment_id=amendment.id, _anchor=f"comment-{posted.id}"))
