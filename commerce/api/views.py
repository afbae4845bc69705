"""Management API of commerce: the catalogue, feed imports, a contact's commerce profile
(purchases, reorder dates, recommendations) and the batch job."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from commerce import selectors, services
from commerce.models import CommerceRun, Product, ProductImport
from contacts.models import Contact
from workspaces.api.base import WorkspaceAPIView, WorkspaceReadOnlyViewSet, WorkspaceViewSet
from workspaces.api.pagination import IdCursorPagination
from workspaces.errors import ValidationFailed
from workspaces.models import User
from workspaces.roles import Capability

from .serializers import (
    CommerceRunSerializer,
    FeedUploadSerializer,
    ProductImportSerializer,
    ProductSerializer,
    ProductWriteSerializer,
)


class ProductViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    WorkspaceViewSet,
):
    """The catalogue. `?q=` searches name, id and SKU; `?category=` filters. Creating or
    changing a product here makes it managed: events no longer change its price or stock."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    pagination_class = IdCursorPagination
    write_capability = Capability.EDIT_MARKETING

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action == "list":
            q = self.request.query_params.get("q", "")[:200]
            category = self.request.query_params.get("category", "")[:200]
            if q or category:
                ids = selectors.product_list(
                    workspace=self.workspace, search=q, category=category
                ).values("id")
                queryset = queryset.filter(id__in=ids)
        return queryset

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ProductWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.row_from_mapping(dict(request.data))
        outcome = services.products_upsert(
            workspace=self.workspace, rows=[row], source=Product.Source.API
        )
        product = Product.objects.for_workspace(self.workspace).get(pk=outcome.ids[row.product_id])
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductWriteSerializer, responses=ProductSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ProductWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = {k: v for k, v in dict(request.data).items() if k != "product_id"}
        product = services.product_update(workspace=self.workspace, product=product, data=data)
        return Response(ProductSerializer(product).data)


class ProductImportViewSet(mixins.CreateModelMixin, WorkspaceReadOnlyViewSet):
    """Catalogue feeds: POST a file (multipart `file`), then follow `status` and `percent`."""

    queryset = ProductImport.objects.defer("data").order_by("-id")
    serializer_class = ProductImportSerializer
    pagination_class = IdCursorPagination
    parser_classes = [MultiPartParser, FormParser]
    write_capability = Capability.EDIT_MARKETING

    @extend_schema(
        request={"multipart/form-data": FeedUploadSerializer},
        responses={201: ProductImportSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed(
                "file: upload a CSV or JSON file as `file`.", fields={"file": ["required"]}
            )
        imp = services.feed_import_create(
            workspace=self.workspace,
            upload=upload,
            filename=upload.name or "feed",
            created_by=request.user if isinstance(request.user, User) else None,  # not a key
        )
        return Response(ProductImportSerializer(imp).data, status=status.HTTP_201_CREATED)


class ContactCommerceView(WorkspaceAPIView):
    """A contact's purchases (latest 50), predicted reorders and recommendations."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, contact_id: int) -> Response:
        contact = get_object_or_404(Contact.objects.for_workspace(self.workspace), pk=contact_id)
        return Response(selectors.contact_commerce(workspace=self.workspace, contact_id=contact.pk))


class CommerceRunView(WorkspaceAPIView):
    """The batch job: GET the latest run (`run` is null before the first), POST to start one
    (409 while one runs)."""

    write_capability = Capability.EDIT_MARKETING

    @extend_schema(
        responses={
            200: inline_serializer(
                "CommerceRunLatest", {"run": CommerceRunSerializer(allow_null=True)}
            )
        }
    )
    def get(self, request: Request) -> Response:
        run = selectors.run_latest(workspace=self.workspace)
        return Response({"run": CommerceRunSerializer(run).data if run else None})

    @extend_schema(request=None, responses={202: CommerceRunSerializer})
    def post(self, request: Request) -> Response:
        run: CommerceRun = services.commerce_run_start(workspace=self.workspace)
        return Response(CommerceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
