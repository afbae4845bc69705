"""Forms of the catalogue pages."""

from __future__ import annotations

from django import forms


class FeedUploadForm(forms.Form):
    file = forms.FileField(
        label="Catalogue feed (CSV or JSON)",
        help_text="Columns or keys: id, name, url, image, price, category, in_stock "
        "(also sku, currency). Google Shopping column names work too.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    category = forms.CharField(label="Category", required=False, max_length=200)
    sort = forms.ChoiceField(
        label="Sort",
        required=False,
        choices=[
            ("popular", "Most purchased"),
            ("viewed", "Most viewed"),
            ("name", "Name"),
            ("recent", "Newest"),
        ],
    )


class RunForm(forms.Form):
    """The "Compute now" button (nothing to fill in: the form carries the CSRF check)."""
