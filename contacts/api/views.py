"""Management API of contacts: contacts, their timeline and tags, events, attributes, tags."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts import selectors
from contacts.models import AttributeDefinition, Contact, Event
from contacts.services import contacts as contact_services
from workspaces.api.base import (
    WorkspaceAPIView,
    WorkspaceReadOnlyViewSet,
    WorkspaceViewSet,
)
from workspaces.api.pagination import IdCursorPagination
from workspaces.api.params import query_int
from workspaces.errors import NotFound, ValidationFailed
from workspaces.roles import Capability

from .serializers import (
    AttributeDefinitionSerializer,
    AttributeDefinitionUpdateSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    EventSerializer,
    TagsChangeSerializer,
    TagSerializer,
    TimelineSerializer,
)

# Sorts the API's cursor can follow: non-null columns only (a cursor cannot point at NULL).
API_CONTACT_SORTS = {
    "-updated_at",
    "updated_at",
    "-created_at",
    "created_at",
    "-score",
    "score",
    "email",
    "-email",
}


class FilterOrderedCursorPagination(IdCursorPagination):
    """Cursor pagination in the order the selector chose (the view's `ordering`)."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)


CONTACT_FILTER_PARAMETERS = [
    OpenApiParameter(
        "q", str, description="Search email, names and company (every word must match)."
    ),
    OpenApiParameter("email", str, description="Exact email (normalised)."),
    OpenApiParameter(
        "user_id", str, description="Your own id of the contact (Segment's `userId`): exact."
    ),
    OpenApiParameter("anonymous_id", str, description="An anonymous id the contact holds."),
    OpenApiParameter(
        "tag", str, many=True, description="Has all of these tags (repeat or comma-separate)."
    ),
    OpenApiParameter("stage", str, many=True, description="Lifecycle stage(s)."),
    OpenApiParameter("owner", str, description="Owner's user id, or `none`."),
    OpenApiParameter(
        "attribute", str, many=True, description="`key=value`, typed by the attribute registry."
    ),
    OpenApiParameter("updated_since", OpenApiTypes.DATETIME),
    OpenApiParameter("sort", str, enum=sorted(API_CONTACT_SORTS)),
    OpenApiParameter("limit", int, description="Page size (max 500)."),
]


def _identifier_in_path(name: str, value: str) -> str:
    """An identifier from the URL: 1-255 characters, no NUL (PostgreSQL cannot store it)."""
    value = value.strip()
    if not value or len(value) > 255 or "\x00" in value:
        problem = "1 to 255 characters, without NUL"
        raise ValidationFailed(f"{name}: {problem}.", fields={name: problem})
    return value


def _by_identifier_schema(view: Any) -> Any:
    """GET answers the contact; PUT takes the create fields and answers 201 or 200."""
    view = extend_schema(methods=["GET"], request=None, responses=ContactSerializer)(view)
    return extend_schema(
        methods=["PUT"],
        request=ContactWriteSerializer,
        responses={200: ContactSerializer, 201: ContactSerializer},
    )(view)


@extend_schema_view(
    list=extend_schema(parameters=CONTACT_FILTER_PARAMETERS),
    create=extend_schema(request=ContactWriteSerializer, responses={201: ContactSerializer}),
    partial_update=extend_schema(request=ContactWriteSerializer, responses=ContactSerializer),
    update=extend_schema(request=ContactWriteSerializer, responses=ContactSerializer),
)
class ContactViewSet(WorkspaceViewSet):
    """Contacts. Create and edit run the same validation as the UI and enqueue the pipeline
    (segments, scoring, workflows) with the changed fields."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    pagination_class = FilterOrderedCursorPagination
    write_capability = Capability.EDIT_CONTACTS
    delete_capability = Capability.DELETE_CONTACTS  # sales edit contacts, never erase them

    def safely_get_queryset(self, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        if self.action != "list":
            return queryset
        filters = selectors.ContactFilters.from_params(self.request.query_params)
        if filters.sort not in API_CONTACT_SORTS:
            allowed = ", ".join(sorted(API_CONTACT_SORTS))
            raise ValidationFailed(
                f"sort: the API can sort by {allowed}.",
                fields={"sort": [f"Choose one of: {allowed}."]},
            )
        self.ordering = filters.ordering
        return selectors.contact_list(workspace=self.workspace, filters=filters)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ContactSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        data = self._validated(request)
        contact = contact_services.contact_create(workspace=self.workspace, data=data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        contact, _ = contact_services.contact_update(
            workspace=self.workspace, contact=self.get_object(), data=self._validated(request)
        )
        return Response(ContactSerializer(contact).data)

    def update(self, request: Request, pk: str) -> Response:
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: str) -> Response:
        contact_services.contact_delete(workspace=self.workspace, contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _validated(self, request: Request) -> dict[str, Any]:
        serializer = ContactWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    # --- by the integration's own identifiers (Segment's profile API, HubSpot's idProperty)

    @_by_identifier_schema
    @action(detail=False, methods=["get", "put"], url_path=r"by-user-id/(?P<user_id>.+)")
    def by_user_id(self, request: Request, user_id: str) -> Response:
        """The contact with this user id (`external_id`, Segment's `userId`); PUT creates or
        updates it (upsert: 201 when created, 200 when it existed)."""
        return self._by_identifier(request, user_id=_identifier_in_path("user_id", user_id))

    @_by_identifier_schema
    @action(detail=False, methods=["get", "put"], url_path=r"by-anonymous-id/(?P<anonymous_id>.+)")
    def by_anonymous_id(self, request: Request, anonymous_id: str) -> Response:
        """The contact holding this anonymous id; PUT creates or updates it (an email or
        user id in the body identifies it further, merging as an identify call does)."""
        return self._by_identifier(
            request, anonymous_id=_identifier_in_path("anonymous_id", anonymous_id)
        )

    def _by_identifier(self, request: Request, **identifier: str) -> Response:
        if request.method == "PUT":
            contact, created = contact_services.contact_upsert_by_identifier(
                workspace=self.workspace,
                data=self._validated(request),
                external_id=identifier.get("user_id", ""),
                anonymous_id=identifier.get("anonymous_id", ""),
            )
            code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            return Response(ContactSerializer(contact).data, status=code)
        found = selectors.contact_get_by_identifier(workspace=self.workspace, **identifier)
        if found is None:
            raise NotFound("No contact has this identifier.")
        return Response(ContactSerializer(found).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("before", str, description="`next` of the previous page."),
            OpenApiParameter("limit", int, description="Events per page (max 200)."),
        ],
        responses=TimelineSerializer,
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """Everything the contact did or received, newest first."""
        contact = self.get_object()
        limit_n = query_int(request.query_params, "limit", default=50, minimum=1, maximum=200)
        page = selectors.contact_timeline(
            workspace=self.workspace,
            contact=contact,
            before=request.query_params.get("before") or None,
            limit=limit_n,
        )
        return Response(
            {"results": EventSerializer(page.events, many=True).data, "next": page.next_before}
        )

    @extend_schema(request=TagsChangeSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"], url_path="tags")
    def tags_add(self, request: Request, pk: str) -> Response:
        """Add tags: `{"tags": ["vip"]}`."""
        serializer = TagsChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = contact_services.contact_tags_add(
            workspace=self.workspace,
            contact=self.get_object(),
            tags=serializer.validated_data["tags"],
        )
        return Response(ContactSerializer(contact).data)

    @extend_schema(request=None, responses=ContactSerializer)
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<tag>[^/]+)")
    def tags_remove(self, request: Request, pk: str, tag: str) -> Response:
        """Remove one tag."""
        contact = contact_services.contact_tags_remove(
            workspace=self.workspace, contact=self.get_object(), tags=[tag]
        )
        return Response(ContactSerializer(contact).data)


EVENT_FILTER_PARAMETERS = [
    OpenApiParameter("name", str, many=True, description="Event name(s)."),
    OpenApiParameter(
        "type", str, many=True, description="identify, track, page, screen, group, alias."
    ),
    OpenApiParameter("contact", int),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="timestamp ≥ since"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="timestamp < until"),
    OpenApiParameter("limit", int),
]


class EventCursorPagination(IdCursorPagination):
    ordering = ("-timestamp", "-id")  # type: ignore[assignment]


@extend_schema_view(list=extend_schema(parameters=EVENT_FILTER_PARAMETERS))
class EventViewSet(WorkspaceReadOnlyViewSet):
    """Events (read-only here: they arrive through /v1/ and the platform)."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    pagination_class = EventCursorPagination

    def safely_get_queryset(self, queryset: QuerySet[Event]) -> QuerySet[Event]:
        if self.action != "list":
            return queryset
        filters = selectors.EventFilters.from_params(self.request.query_params)
        return selectors.event_list(workspace=self.workspace, filters=filters)


class AttributeDefinitionViewSet(WorkspaceViewSet):
    """The attribute registry: each custom attribute's type, which segments rely on.

    Attributes are registered automatically the first time a value arrives; create one
    ahead of time to fix its type, or change the type (refused while stored values
    contradict it).
    """

    queryset = AttributeDefinition.objects.all()
    serializer_class = AttributeDefinitionSerializer
    write_capability = Capability.EDIT_MARKETING

    def safely_get_queryset(
        self, queryset: QuerySet[AttributeDefinition]
    ) -> QuerySet[AttributeDefinition]:
        return queryset.order_by("key")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AttributeDefinitionSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(AttributeDefinitionSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = AttributeDefinitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = contact_services.attribute_definition_create(
            workspace=self.workspace,
            key=serializer.validated_data["key"],
            type=serializer.validated_data.get("type", AttributeDefinition.Type.STRING),
            label=serializer.validated_data.get("label", ""),
        )
        return Response(AttributeDefinitionSerializer(definition).data, status=201)

    @extend_schema(
        request=AttributeDefinitionUpdateSerializer, responses=AttributeDefinitionSerializer
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        serializer = AttributeDefinitionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = contact_services.attribute_definition_update(
            definition=self.get_object(),
            type=serializer.validated_data.get("type"),
            label=serializer.validated_data.get("label"),
        )
        return Response(AttributeDefinitionSerializer(definition).data)


class TagListView(WorkspaceAPIView):
    """Tags in use, with how many contacts carry each, most used first."""

    @extend_schema(responses=TagSerializer(many=True))
    def get(self, request: Request) -> Response:
        tags = selectors.tag_list(workspace=self.workspace)
        return Response({"results": [{"name": t.name, "count": t.count} for t in tags]})
