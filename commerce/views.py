"""The catalogue pages: products with their views, adds and purchases, a product's buyers and
what is bought with it, feed imports with live progress, and the batch job's state."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from contacts.models import Contact
from workspaces.errors import Conflict, ValidationFailed
from workspaces.forms import form_errors_from
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from . import selectors, services
from .forms import CatalogueFilterForm, FeedUploadForm, RunForm
from .models import Product, ProductImport

EDIT = Capability.EDIT_MARKETING
PAGE_SIZE = 50


@workspace_view(write=EDIT)
def catalogue(request: HtmxHttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    posted = request.method == "POST"
    upload = FeedUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and upload.is_valid():
        feed = upload.cleaned_data["file"]
        try:
            imp = services.feed_import_create(
                workspace=workspace,
                upload=feed,
                filename=feed.name,
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ValidationFailed as error:
            form_errors_from(upload, error)
        else:
            return redirect("commerce:import_detail", import_id=imp.pk)
    filters = CatalogueFilterForm(request.GET or None)
    clean = filters.cleaned_data if filters.is_valid() else {}
    products = selectors.product_list(
        workspace=workspace,
        search=clean.get("q", ""),
        category=clean.get("category", ""),
        order=clean.get("sort") or "popular",
    )
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "clean": clean,
        "upload": upload,
        "run_form": RunForm(),
        "categories": selectors.category_list(workspace=workspace),
        "figures": selectors.catalogue_figures(workspace=workspace),
        "imports": selectors.import_list(workspace=workspace, limit=5),
        "run": selectors.run_latest(workspace=workspace),
        "min_sample": settings.COMMERCE_REORDER_MIN_SAMPLE,
    }
    template = "commerce/catalogue.html"
    if request.htmx and not posted:
        template += "#results"
    return render(request, template, context, status=400 if upload.errors else 200)


@workspace_view
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    product = get_object_or_404(scoped(request, Product), pk=product_id)
    context = {
        "product": product,
        "buyers": selectors.product_buyers(workspace=workspace, product=product),
        "together": selectors.bought_together(workspace=workspace, product=product),
    }
    return render(request, "commerce/product.html", context)


@workspace_view
def import_detail(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    imp = get_object_or_404(scoped(request, ProductImport).defer("data"), pk=import_id)
    template = "commerce/import.html#progress" if request.htmx else "commerce/import.html"
    return render(request, template, {"imp": imp})


@workspace_view(write=EDIT)
def run_start(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("commerce:catalogue")
    form = RunForm(request.POST)
    if form.is_valid():
        try:
            services.commerce_run_start(workspace=request.workspace)  # type: ignore[attr-defined]
        except Conflict as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Computing recommendations and reorder dates…")
    return redirect("commerce:catalogue")


@workspace_view
def contact_panel(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A contact's purchases, predicted reorders and recommendations: a fragment the contact
    page `hx-get`s into a card (contacts does not import commerce)."""
    contact = get_object_or_404(scoped(request, Contact), pk=contact_id)
    profile = selectors.contact_commerce(workspace=request.workspace, contact_id=contact.pk)  # type: ignore[attr-defined]
    return render(request, "commerce/contact_panel.html", {"contact": contact, **profile})
