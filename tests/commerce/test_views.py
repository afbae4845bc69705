"""The catalogue pages and the commerce API: what a member sees and can do, and that another
workspace's product, import, contact or run is a 404 — never data."""

from __future__ import annotations

import io
import json

import pytest

from commerce.models import CommerceRun, Product, ProductImport
from commerce.services import ProductRow, products_upsert

from .conftest import day, ordered, shopper, viewed

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(ws):
    ada = shopper(ws, "ada")
    viewed(ws, ada, "A", day(0), name="Blue mug", category="Kitchen")
    ordered(ws, ada, ["A", "B"], day(1))
    return ada


def test_the_catalogue_lists_products_with_their_figures_and_searches(
    owner_client, ws, shop, django_assert_max_num_queries
):
    with django_assert_max_num_queries(16):
        page = owner_client.get("/products/").content.decode()
    assert "Product A" in page and "Product B" in page
    response = owner_client.get("/products/?q=B", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Product B" in html and "Product A" not in html and "<html" not in html


def test_a_product_page_shows_its_buyers_and_what_goes_with_it(owner_client, ws, shop):
    a = Product.objects.get(workspace=ws, product_id="A")
    html = owner_client.get(f"/products/{a.pk}/").content.decode()
    assert "Ada" in html  # the buyer
    assert 'Product B</a> <span class="muted small">· 1 contact</span>' in html  # with A


def test_uploading_a_bad_feed_answers_400_with_the_reason_and_stores_nothing(owner_client, ws):
    upload = io.BytesIO(b"name,price\nMug,3\n")
    upload.name = "feed.csv"
    response = owner_client.post("/products/", {"file": upload})
    assert response.status_code == 400
    assert "no product id column" in response.content.decode()
    assert not ProductImport.objects.filter(workspace=ws).exists()


def test_uploading_a_feed_imports_it_and_shows_progress(
    owner_client, ws, django_capture_on_commit_callbacks
):
    upload = io.BytesIO(b"id,name,price\nA,Mug,3\nB,Tote,x\n")
    upload.name = "feed.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/products/", {"file": upload})
    imp = ProductImport.objects.get(workspace=ws)
    assert response.status_code == 302 and response["Location"] == f"/products/imports/{imp.pk}/"
    html = owner_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "Import complete" in html and "price: &#x27;x&#x27; is not a price" in html


def test_a_viewer_can_look_but_not_upload_or_compute(client, ws, django_user_model):
    from tests.conftest import add_member, login_client

    viewer = add_member(ws, "viewer@example.com", "viewer")
    c = login_client(viewer)
    assert c.get("/products/").status_code == 200
    assert c.post("/products/run/").status_code == 403
    assert not CommerceRun.objects.filter(workspace=ws).exists()


def test_the_contact_page_shows_what_they_bought_and_what_is_recommended(owner_client, ws, shop):
    bob = shopper(ws, "bob")
    ordered(ws, bob, ["A", "C"], day(2))
    page = owner_client.get(f"/contacts/{shop.pk}/").content.decode()
    assert f'hx-get="/products/contact/{shop.pk}/"' in page
    html = owner_client.get(f"/products/contact/{shop.pk}/").content.decode()
    assert "Product A" in html and "Product B" in html  # bought
    assert 'id="contact-recommendations"' in html and "Product C" in html  # A–C by bob


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/products/{product}/"),
        ("get", "/products/imports/{import}/"),
        ("get", "/products/contact/{contact}/"),
    ],
)
def test_pages_404_for_another_workspace(outsider_client, ws, method, url):
    products_upsert(workspace=ws, rows=[ProductRow(product_id="A", name="Ours")], source="feed")
    product = Product.objects.get(workspace=ws)
    contact = shopper(ws, "ada")
    imp = ProductImport.objects.create(
        workspace=ws, filename="f.csv", data=b"id\nA\n", total_rows=1
    )
    path = url.format(product=product.pk, contact=contact.pk, **{"import": imp.pk})
    response = getattr(outsider_client, method)(path)
    assert response.status_code == 404


def test_the_outsiders_catalogue_and_run_are_their_own(
    outsider_client, ws, other_ws, shop, django_capture_on_commit_callbacks
):
    html = outsider_client.get("/products/").content.decode()
    assert "Product A</a>" not in html
    with django_capture_on_commit_callbacks(execute=True):
        assert outsider_client.post("/products/run/").status_code == 302
    assert not CommerceRun.objects.filter(workspace=ws).exists()
    assert CommerceRun.objects.filter(workspace=other_ws).count() == 1


# --- API ---------------------------------------------------------------------------------------


def test_the_api_lists_creates_and_changes_products(api, ws, shop):
    listed = api.get("/api/v1/products/?q=A").json()
    assert [p["product_id"] for p in listed["results"]] == ["A"]
    created = api.post(
        "/api/v1/products/", {"product_id": "N", "name": "New", "price": 5}, format="json"
    )
    assert created.status_code == 201 and created.json()["managed"] is True
    changed = api.patch(f"/api/v1/products/{created.json()['id']}/", {"price": -1}, format="json")
    assert changed.status_code == 400
    assert changed.json()["error"]["fields"] == {"price": ["a price is from 0 to 9999999999.99"]}
    changed = api.patch(
        f"/api/v1/products/{created.json()['id']}/", {"in_stock": False}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["in_stock"] is False


def test_the_api_gives_a_contacts_purchases_reorders_and_recommendations(api, ws, shop):
    body = api.get(f"/api/v1/commerce/contacts/{shop.pk}/").json()
    assert sorted(p["product"] for p in body["purchases"]) == ["A", "B"]
    assert body["reorders"] == [] and body["recommendations"] == []  # nothing else to suggest


def test_the_api_uploads_a_feed_and_starts_a_run_once(api, ws, django_capture_on_commit_callbacks):
    upload = io.BytesIO(json.dumps([{"id": "A", "price": 2}]).encode())
    upload.name = "feed.json"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/products/imports/", {"file": upload}, format="multipart")
    assert response.status_code == 201
    assert (
        api.get(f"/api/v1/products/imports/{response.json()['id']}/").json()["status"]
        == "completed"
    )
    CommerceRun.objects.create(workspace=ws, status="running")
    conflict = api.post("/api/v1/commerce/runs/", {}, format="json")
    assert conflict.status_code == 409


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/products/{product}/"),
        ("patch", "/api/v1/products/{product}/"),
        ("get", "/api/v1/products/imports/{import}/"),
        ("get", "/api/v1/commerce/contacts/{contact}/"),
    ],
)
def test_the_api_404s_for_another_workspace(outsider_api, ws, shop, method, url):
    product = Product.objects.get(workspace=ws, product_id="A")
    imp = ProductImport.objects.create(
        workspace=ws, filename="f.csv", data=b"id\nA\n", total_rows=1
    )
    path = url.format(product=product.pk, contact=shop.pk, **{"import": imp.pk})
    response = getattr(outsider_api, method)(path, {"name": "Hijack"}, format="json")
    assert response.status_code == 404
    assert Product.objects.get(pk=product.pk).name == "Product A"
    assert outsider_api.get("/api/v1/products/").json()["results"] == []
    CommerceRun.objects.create(workspace=ws, status="completed")
    assert outsider_api.get("/api/v1/commerce/runs/").json() == {"run": None}
    assert outsider_api.get("/api/v1/products/imports/").json()["results"] == []
