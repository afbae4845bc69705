"""Commerce signals: the product catalogue, purchases, what each contact did with each
product, recommendations and reorder predictions (docs/commerce.md).

Everything here is derived from the event stream (Segment's e-commerce spec: Product Viewed,
Product Added, Checkout Started, Order Completed with products[]) or from a catalogue feed;
the pipeline step (processors.py) and the nightly job (services/) keep it current.
"""

from __future__ import annotations

from django.db import models

from contacts.models import Contact
from workspaces.models import TenantModel, User


class Product(TenantModel):
    """One product of the workspace's catalogue, keyed by the shop's own id."""

    class Source(models.TextChoices):
        EVENTS = "events", "Events"
        FEED = "feed", "Feed"
        API = "api", "API"

    product_id = models.CharField("product id", max_length=200)
    sku = models.CharField("SKU", max_length=200, blank=True, default="")
    name = models.CharField(max_length=300, blank=True, default="")
    url = models.CharField("URL", max_length=1000, blank=True, default="")
    image_url = models.CharField("image URL", max_length=1000, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    category = models.CharField(max_length=200, blank=True, default="")
    in_stock = models.BooleanField("in stock", default=True)
    price_at = models.DateTimeField(null=True, blank=True)  # when the price was last set
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.EVENTS)
    # A feed or the API owns the product's price and stock once it has set them: events
    # (which may arrive late and out of order) then only fill in what is missing.
    managed = models.BooleanField(default=False)
    views = models.PositiveIntegerField(default=0)
    adds = models.PositiveIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0)
    # Counted up on each price drop / return to stock: the signal events' message ids carry
    # it, so each change reaches each contact exactly once.
    price_changes = models.PositiveIntegerField(default=0)
    restocks = models.PositiveIntegerField(default=0)
    # Median days between repeat purchases across contacts (nightly; None below the sample).
    reorder_days = models.FloatField(null=True, blank=True)
    reorder_sample = models.PositiveIntegerField(default=0)
    # How good the predictions were: each prediction is checked once, against the reorder that
    # replaced it (days between the predicted date and the real one, summed).
    reorder_checked = models.PositiveIntegerField(default=0)
    reorder_error_days = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "product_id"], name="product_unique_id")
        ]
        indexes = [
            models.Index(fields=["workspace", "category"], name="product_ws_category"),
            models.Index(fields=["workspace", "-purchases"], name="product_ws_purchases"),
        ]

    def __str__(self) -> str:
        return self.name or self.product_id

    @property
    def reorder_mean_error(self) -> float | None:
        """Mean absolute error of the reorder predictions checked so far, in days."""
        return self.reorder_error_days / self.reorder_checked if self.reorder_checked else None


class ProductActivity(TenantModel):
    """What one contact did with one product: the last view, add and purchase, counts.
    Browse abandonment, back-in-stock and price-drop audiences read it."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    last_added_at = models.DateTimeField(null=True, blank=True)
    last_purchased_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    purchase_count = models.PositiveIntegerField(default=0)
    # The view that a browse-abandonment signal was recorded for (never twice for one view).
    abandoned_view_at = models.DateTimeField(null=True, blank=True)
    # The newest event counted here: a retried pipeline batch does not count its views twice.
    counted_event_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact", "product"], name="activity_unique_pair"
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "product", "last_viewed_at"], name="activity_product"
            ),
            models.Index(fields=["workspace", "last_viewed_at"], name="activity_viewed"),
        ]


class Purchase(TenantModel):
    """One product line of an Order Completed event (idempotent on the event and product)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    event_id = models.BigIntegerField()
    order_id = models.CharField(max_length=200, blank=True, default="")
    ordered_at = models.DateTimeField()
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "event_id", "product"], name="purchase_unique_line"
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "contact", "product", "ordered_at"], name="purchase_contact"
            ),
            models.Index(fields=["workspace", "product", "ordered_at"], name="purchase_product"),
        ]


class Recommendation(TenantModel):
    """A contact's recommended products, best first, as the last computation left them:
    [{"product": pk, "score": n, "reason": "bought_together" | "category" | "popular"}]."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    items = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "contact"], name="recommendation_contact")
        ]


class ProductPartner(TenantModel):
    """Bought together, as the last batch job counted it: how many contacts bought both
    `product` and `partner` (each product keeps its best partners). Reads at send time use
    these instead of counting co-purchases again."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    together = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "product", "partner"], name="partner_unique_pair"
            )
        ]


class ReorderPrediction(TenantModel):
    """When a contact is expected to buy a product again."""

    class Basis(models.TextChoices):
        OWN = "own", "The contact's own interval"
        PRODUCT = "product", "The product's median interval"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    last_purchased_at = models.DateTimeField()
    interval_days = models.FloatField()
    basis = models.CharField(max_length=8, choices=Basis.choices)
    predicted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact", "product"], name="reorder_unique_pair"
            )
        ]
        indexes = [models.Index(fields=["workspace", "predicted_at"], name="reorder_ws_due")]


class CommerceRun(TenantModel):
    """One run of the batch job (recommendations and reorder dates) and its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Computing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, default="schedule")  # schedule | manual
    contacts_total = models.PositiveIntegerField(default=0)
    contacts_done = models.PositiveIntegerField(default=0)
    predictions = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="commerce_run_recent")]

    @property
    def percent(self) -> int:
        if not self.contacts_total:
            return 100 if self.status == self.Status.COMPLETED else 0
        return min(100, int(100 * self.contacts_done / self.contacts_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)


class ProductImport(TenantModel):
    """A catalogue feed (CSV or JSON) and its progress, run in chunks by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=255)
    size_bytes = models.PositiveIntegerField(default=0)
    data = models.BinaryField()  # on the row, as contacts' imports: no shared disk needed
    format = models.CharField(max_length=4, default="csv")  # csv | json
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"row": n, "error": "price: …"}], capped (services.feed.MAX_STORED_ERRORS)
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="product_import_recent")]

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.COMPLETED else 0
        return min(100, int(100 * self.processed_rows / self.total_rows))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)
