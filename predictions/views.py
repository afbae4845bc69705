"""The Predictions page: models, their training reports, train now."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts import selectors as contact_selectors
from contacts.models import Contact
from workspaces.errors import Conflict, ValidationFailed
from workspaces.forms import form_errors_from
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from . import selectors, services
from .forms import PredictionModelForm
from .models import PredictionModel, TrainingRun
from .training import MIN_AUC, MIN_HOLDOUT_CLASS, MIN_NEGATIVES, MIN_POSITIVES

MARKETING = Capability.EDIT_MARKETING


def _model(request: HttpRequest, model_id: int) -> PredictionModel:
    model = selectors.prediction_model_find(workspace=request.workspace, model_id=model_id)  # type: ignore[attr-defined]
    if model is None:
        raise Http404("No such prediction model.")
    return model


def _can_edit(request: HttpRequest) -> bool:
    return bool(request.membership.can(MARKETING))  # type: ignore[attr-defined]


@workspace_view(write=MARKETING)
def prediction_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = PredictionModelForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                model = services.prediction_model_create(workspace=workspace, **form.cleaned_data)
            except ValidationFailed as error:
                form_errors_from(form, error)
            else:
                messages.success(
                    request, f"“{model.name}” created. Train it to see how good it is."
                )
                return redirect("predictions:detail", model.pk)
        status = 400
    models = selectors.prediction_model_list(workspace=workspace)
    latest = selectors.training_latest(workspace=workspace)
    rows = [{"model": m, "latest": latest.get(m.pk)} for m in models]
    context = {
        "rows": rows,
        "form": form,
        "can_edit": _can_edit(request),
        "next_training": selectors.next_training(),
        "goal_names": [
            d.name for d in contact_selectors.event_definition_list(workspace=workspace, limit=200)
        ],
    }
    return render(request, "predictions/list.html", context, status=status)


def _report_context(run: TrainingRun | None) -> dict[str, Any]:
    if run is None or not run.report.get("deciles"):
        return {}
    report = run.report
    reliability = report.get("reliability", [])
    return {
        "reliability_labels": json.dumps([f"{r['predicted'] * 100:.1f}%" for r in reliability]),
        "reliability_series": json.dumps(
            [
                {
                    "label": "Observed rate (%)",
                    "data": [round(r["observed"] * 100, 2) for r in reliability],
                },
                {
                    "label": "Perfectly calibrated",
                    "data": [round(r["predicted"] * 100, 2) for r in reliability],
                    "borderDash": [4, 4],
                    "fill": False,
                },
            ]
        ),
        "lift_labels": json.dumps([str(d["decile"]) for d in report["deciles"]]),
        "lift_series": json.dumps(
            [
                {
                    "label": "Lift over the average",
                    "data": [round(d["lift"], 2) for d in report["deciles"]],
                }
            ]
        ),
    }


@workspace_view
def prediction_detail(request: HttpRequest, model_id: int) -> HttpResponse:
    model = _model(request, model_id)
    runs = list(selectors.training_runs(model=model))
    shown = runs[0] if runs else None
    if request.GET.get("run"):
        shown = selectors.training_run_find(model=model, run_id=request.GET["run"])
        if shown is None:
            raise Http404("No such training run.")
    context = {
        "model": model,
        "runs": runs,
        "run": shown,
        "active": next((r for r in runs if r.is_active), None),
        "can_edit": _can_edit(request),
        "next_training": selectors.next_training() if model.is_active else None,
        "bars": {
            "min_positives": MIN_POSITIVES,
            "min_negatives": MIN_NEGATIVES,
            "min_holdout": MIN_HOLDOUT_CLASS,
            "min_auc": MIN_AUC,
        },
        "fields": model.filter_fields,
        **_report_context(shown),
    }
    return render(request, "predictions/detail.html", context)


@workspace_view
def prediction_progress(request: HttpRequest, model_id: int) -> HttpResponse:
    """The running training's progress (polled by the page every second while it runs)."""
    model = _model(request, model_id)
    runs = list(selectors.training_runs(model=model, limit=1))
    run = runs[0] if runs else None
    active = run if run and run.is_active else None
    response = render(
        request, "predictions/detail.html#progress", {"model": model, "active": active, "run": run}
    )
    if active is None:
        response["HX-Refresh"] = "true"  # finished: reload the page to show the report
    return response


@workspace_view(write=MARKETING)
@require_POST
def prediction_train(request: HttpRequest, model_id: int) -> HttpResponse:
    model = _model(request, model_id)
    try:
        services.training_run_request(model=model)
    except Conflict as error:
        messages.error(request, error.message)
        return redirect("predictions:detail", model.pk)
    messages.success(request, "Training started.")
    return redirect("predictions:detail", model.pk)


@workspace_view(write=MARKETING)
@require_POST
def prediction_delete(request: HttpRequest, model_id: int) -> HttpResponse:
    model = _model(request, model_id)
    services.prediction_model_delete(model=model)
    messages.success(request, f"“{model.name}” deleted, with its stored predictions.")
    return redirect("predictions:list")


@workspace_view
def contact_predictions(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A contact's probabilities and reasons: a fragment the contact page and the lead page
    `hx-get` into a card (neither app imports predictions)."""
    contact = get_object_or_404(scoped(request, Contact), pk=contact_id)
    rows = selectors.contact_predictions(workspace=request.workspace, contact=contact)  # type: ignore[attr-defined]
    has_models = bool(rows) or bool(selectors.prediction_model_list(workspace=request.workspace))  # type: ignore[attr-defined]
    return render(
        request,
        "predictions/contact_predictions.html",
        {"contact": contact, "predictions": rows, "has_models": has_models},
    )
