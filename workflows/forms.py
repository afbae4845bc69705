"""Django forms of the workflow pages: labels, help texts and shapes in one place."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from workspaces.errors import TendrilError

DOCUMENT_PLACEHOLDER = '{"name": "…", "graph": {"nodes": [...], "edges": [...]}}'


class WorkflowImportForm(forms.Form):
    """A draft from a ready-made workflow (`library`, the gallery's Use buttons) or from JSON
    pasted or uploaded (the Import card). `open=builder` goes to the builder afterwards."""

    name = forms.CharField(max_length=200, required=False, label="Name (optional)")
    document = forms.CharField(
        required=False,
        strip=False,
        label="Workflow document",
        widget=forms.Textarea(
            attrs={"class": "input wf-json", "placeholder": DOCUMENT_PLACEHOLDER}
        ),
    )
    file = forms.FileField(
        required=False,
        label="…or a file",
        widget=forms.ClearableFileInput(attrs={"accept": "application/json"}),
    )
    library = forms.SlugField(required=False, widget=forms.HiddenInput)
    open = forms.ChoiceField(
        choices=[("", "the workflow's page"), ("builder", "the builder")],
        required=False,
        widget=forms.HiddenInput,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("library") or self.errors:
            return data
        upload = data.get("file")
        raw = upload.read().decode("utf-8", "replace") if upload else data.get("document", "")
        if not raw.strip():
            self.add_error("document", "Paste a workflow's JSON or pick a ready-made one.")
            return data
        try:
            data["parsed"] = json.loads(raw)
        except json.JSONDecodeError as error:
            self.add_error(
                "document", f"This is not valid JSON ({error.msg}, line {error.lineno})."
            )
        return data

    def add_service_errors(self, error: TendrilError) -> None:
        """Under the document: what is wrong in words, then each problem with where it is
        (`nodes.a: unknown node type 'nope'.`)."""
        self.add_error("document", error.message)
        for key, problems in error.fields.items():
            if key not in ("document", "graph"):
                for problem in problems if isinstance(problems, list) else [problems]:
                    self.add_error("document", f"{key}: {problem}")
