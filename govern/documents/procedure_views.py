"""Choosing and adjusting a document's amendment procedure (admins)."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from govern.amendments.services import set_procedure
from govern.documents import services
from govern.documents.forms import NO, YES, ProcedureForm
from govern.documents.views import bp
from govern.extensions import db
from govern.members.permissions import admin_required
from govern.procedures import catalog
from govern.procedures.stages import STAGE_LABELS, Procedure, ProcedureError, StageKind
from govern.procedures.states import describe_stage


@bp.route("/admin/documents/<slug>/procedure", methods=["GET", "POST"])
@admin_required
def procedure(slug: str):
    document = services.find_document(slug) or abort(404)
    current = document.procedure
    # A posted form stands alone: a setting left out of it is the template's default.
    form = ProcedureForm() if request.method == "POST" else ProcedureForm(data=_form_data(current))
    if form.validate_on_submit():
        try:
            set_procedure(document, form.template.data, current_user, **form.settings)
        except ProcedureError as error:
            db.session.rollback()
            _field_for(form, error.field).errors.append(str(error))
        else:
            db.session.commit()
            flash(gettext("Saved"), "success")
            return redirect(url_for(".procedure", slug=document.slug))
    status = 400 if form.errors else 200
    return render_template(
        "documents/procedure.html",
        document=document,
        procedure=current,
        is_customized=catalog.is_customized(current),
        stages=[
            (STAGE_LABELS[stage.kind], describe_stage(current, stage)) for stage in current.stages
        ],
        reminder_hours=_settings_of(current)["reminder_hours"]
        if current.stage(StageKind.BALLOT)
        else None,
        templates=catalog.TEMPLATES,
        templates_with={
            kind.value: [str(t.name) for t in catalog.TEMPLATES.values() if t.stage(kind)]
            for kind in (StageKind.MEETING_VOTE, StageKind.BALLOT)
        },
        form=form,
    ), status


def _settings_of(procedure: Procedure) -> dict[str, object]:
    """The value of each setting the procedure has, as `catalog.customize` names it."""
    values: dict[str, object] = {
        "abstentions_count_as_cast": procedure.abstentions_count_as_cast,
        "reminder_hours": procedure.reminder_before_close // timedelta(hours=1),
    }
    if meeting := procedure.stage(StageKind.MEETING_VOTE):
        values["meeting_vote_threshold"] = meeting.threshold
        values["amendments_from_floor"] = meeting.amendments_from_floor
    if ballot := procedure.stage(StageKind.BALLOT):
        values["ballot_threshold"] = ballot.threshold
        values["ballot_days"] = ballot.duration.days if ballot.duration else None
        values["ballot_roll_call"] = ballot.roll_call
    return values


def _form_data(procedure: Procedure) -> dict[str, object]:
    """The form for `procedure`: only the settings that differ from its template are filled,
    so choosing another template brings that template's defaults."""
    defaults = _settings_of(catalog.get_template(procedure.key))
    data: dict[str, object] = {"template": procedure.key}
    for name, value in _settings_of(procedure).items():
        if value == defaults.get(name):
            continue
        if isinstance(value, bool):
            value = YES if value else NO
        data[name] = value
    return data


def _field_for(form: ProcedureForm, name: str | None):
    """The form field a ProcedureError is about; the procedure choice when none fits."""
    if name in catalog.SETTINGS:
        return getattr(form, name)
    return form.template
