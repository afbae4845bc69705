"""Management API of scoring: models and rules, a contact's score, the leads list for CRMs,
and CRM updates of stages and deals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.models import Contact
from workspaces.api.base import WorkspaceAPIView, WorkspaceModelViewSet, WorkspaceReadOnlyViewSet
from workspaces.api.pagination import IdCursorPagination
from workspaces.api.params import query_int
from workspaces.errors import NotFound, ValidationFailed
from workspaces.roles import Capability

from .. import selectors, services
from ..models import ContactScore, Deal, ScoringModel, ScoringRule
from ..services import config
from .serializers import (
    DealSerializer,
    LeadSerializer,
    ScoreChangeSerializer,
    ScoringModelSerializer,
    ScoringRuleSerializer,
    StageChangeSerializer,
)


class ScoringModelViewSet(WorkspaceModelViewSet):
    """Scoring models. Writes need EDIT_MARKETING; validation is the UI's."""

    queryset = ScoringModel.objects.all()
    serializer_class = ScoringModelSerializer
    write_capability = Capability.EDIT_MARKETING

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = config.model_save(
            workspace=self.workspace, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = config.model_save(
            workspace=self.workspace,
            data=dict(serializer.validated_data),
            instance=serializer.instance,
        )

    def perform_destroy(self, instance: ScoringModel) -> None:
        config.model_delete(workspace=self.workspace, model=instance)


class ScoringRuleViewSet(WorkspaceModelViewSet):
    """The rules of one model: /scoring/models/{model_id}/rules/."""

    queryset = ScoringRule.objects.all()
    serializer_class = ScoringRuleSerializer
    write_capability = Capability.EDIT_MARKETING

    def _model(self) -> ScoringModel:
        return get_object_or_404(
            ScoringModel.objects.filter(workspace=self.workspace), pk=self.kwargs["model_id"]
        )

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(model=self._model())

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = config.rule_save(
            workspace=self.workspace, model=self._model(), data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = config.rule_save(
            workspace=self.workspace,
            model=serializer.instance.model,
            data=dict(serializer.validated_data),
            instance=serializer.instance,
        )

    def perform_destroy(self, instance: ScoringRule) -> None:
        config.rule_delete(workspace=self.workspace, rule=instance)


class ContactScoreView(WorkspaceAPIView):
    """A contact's score under every model (corrected for decay on read), why, and history."""

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("history", int, description="How many ledger entries (max 500).")
        ],
    )
    def get(self, request: Request, contact_id: int) -> Response:
        contact = Contact.objects.for_workspace(self.workspace).filter(pk=contact_id).first()
        if contact is None:
            raise NotFound("No such contact.")
        limit = query_int(request.query_params, "history", default=50, minimum=0, maximum=500)
        rows = {
            row.model_id: row
            for row in ContactScore.objects.for_workspace(self.workspace).filter(contact=contact)
        }
        models = []
        for model in ScoringModel.objects.for_workspace(self.workspace):
            row = rows.get(model.pk)
            score = selectors.scores_corrected(
                workspace=self.workspace, model=model, contact_ids=[contact.pk]
            )[contact.pk]
            breakdown = selectors.score_breakdown(
                workspace=self.workspace, contact=contact, model=model
            )
            models.append(
                {
                    "model_id": model.pk,
                    "model": model.name,
                    "primary": model.is_primary,
                    "score": score,
                    "qualified": bool(row and row.qualified),
                    "mql_threshold": model.mql_threshold,
                    "valid_until": row.valid_until if row else None,
                    "breakdown": [
                        {
                            "rule_id": b.rule_id,
                            "label": b.label,
                            "kind": b.kind,
                            "entries": b.entries,
                            "awarded": b.awarded,
                            "current": round(b.current, 2),
                            "decayed": round(b.decayed, 2),
                        }
                        for b in breakdown
                    ],
                    "history": ScoreChangeSerializer(
                        selectors.score_changes(
                            workspace=self.workspace, contact=contact, model=model, limit=int(limit)
                        ),
                        many=True,
                    ).data,
                }
            )
        primary = next((m for m in models if m["primary"]), None)
        return Response(
            {
                "contact_id": contact.pk,
                "score": primary["score"] if primary else contact.score,
                "lifecycle_stage": contact.lifecycle_stage,
                "models": models,
            }
        )


class LeadCursorPagination(IdCursorPagination):
    """Ordered as the view says (`-score` by default, `-id` for full syncs)."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "ordering", None) or ("-score", "-id"))


LEAD_PARAMETERS = [
    OpenApiParameter(
        "stage",
        str,
        enum=list(selectors.STAGE_FILTERS),
        description="Default: open (lead, MQL, SQL).",
    ),
    OpenApiParameter("owner", str, description="all, unassigned, or a user id."),
    OpenApiParameter("min_score", int),
    OpenApiParameter("max_score", int),
    OpenApiParameter("active_days", int, description="Active in the last N days."),
    OpenApiParameter(
        "updated_since", OpenApiTypes.DATETIME, description="Profile or score changed since."
    ),
    OpenApiParameter("sort", str, enum=["-score", "-id"]),
    OpenApiParameter("limit", int, description="Page size (max 500)."),
]


@extend_schema_view(list=extend_schema(parameters=LEAD_PARAMETERS))
class LeadViewSet(WorkspaceReadOnlyViewSet):
    """Leads for CRMs: ranked by score, filterable, cursor-paginated; stage and deal updates."""

    queryset = Contact.objects.all()
    serializer_class = LeadSerializer
    pagination_class = LeadCursorPagination
    write_capability = Capability.WORK_LEADS

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset.select_related("owner")
        params = self.request.query_params
        if params.get("owner") == "mine":
            raise ValidationFailed(
                "owner: an API key has no 'mine'; use a user id.",
                fields={"owner": "all, unassigned or a user id"},
            )
        filters = selectors.LeadFilters.from_params(params)
        leads = selectors.lead_queryset(workspace=self.workspace, filters=filters, user=None)
        since = params.get("updated_since")
        if since:
            leads = leads.filter(_changed_since(self.workspace, _datetime(since)))
        sort = params.get("sort") or "-score"
        if sort not in ("-score", "-id"):
            raise ValidationFailed("sort: -score or -id.", fields={"sort": "-score or -id"})
        self.ordering = ("-score", "-id") if sort == "-score" else ("-id",)
        return leads

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        leads = selectors.leads_correct(workspace=self.workspace, contacts=list(page or []))
        return self.get_paginated_response(self.get_serializer(leads, many=True).data)

    @extend_schema(request=StageChangeSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def stage(self, request: Request, pk: str | None = None) -> Response:
        """Set the lifecycle stage (a CRM accepted, disqualified or closed the lead)."""
        contact = self.get_object()
        data = StageChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lifecycle_stage_set(
            workspace=self.workspace,
            contact=contact,
            stage=data.validated_data["stage"],
            reason=data.validated_data["reason"] or "Set through the API",
        )
        return Response(LeadSerializer(contact).data)

    @extend_schema(methods=["GET"], responses=DealSerializer(many=True))
    @extend_schema(methods=["POST"], request=DealSerializer, responses={201: DealSerializer})
    @action(detail=True, methods=["get", "post"])
    def deals(self, request: Request, pk: str | None = None) -> Response:
        """The lead's deals; POST records one (by external_id: created or updated). A won deal
        records `deal.won` with its revenue and makes the contact a customer."""
        contact = self.get_object()
        if request.method == "GET":
            deals = Deal.objects.for_workspace(self.workspace).filter(contact=contact)
            return Response(DealSerializer(deals, many=True).data)
        data = DealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deal = services.deal_record(
            workspace=self.workspace,
            contact=contact,
            value=data.validated_data["value"],
            status=data.validated_data.get("status", Deal.Status.WON),
            currency=data.validated_data.get("currency") or "USD",
            name=data.validated_data.get("name", ""),
            external_id=data.validated_data.get("external_id", ""),
        )
        return Response(DealSerializer(deal).data, status=status.HTTP_201_CREATED)


def _datetime(raw: str) -> datetime:
    parsed = parse_datetime(raw)
    if parsed is None:
        raise ValidationFailed(
            "updated_since: an ISO 8601 date-time.", fields={"updated_since": "ISO 8601"}
        )
    return parsed


def _changed_since(workspace: Any, since: datetime) -> Q:
    scored = ContactScore.objects.for_workspace(workspace).filter(
        model__is_primary=True, last_changed_at__gte=since
    )
    return Q(updated_at__gte=since) | Q(pk__in=scored.values("contact_id"))
