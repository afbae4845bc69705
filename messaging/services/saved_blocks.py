"""Saved blocks: a block (a footer, a promo) saved by name to reuse across block templates.
Inserting one copies it into the document (later edits to either do not touch the other)."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import User, Workspace

from ..blocks.document import BLOCK_TYPES
from ..models import SavedBlock

MAX_BLOCK_BYTES = 64 * 1024
NAME_MAX = 120


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: message})


def _block_problem(block: Any) -> str | None:
    if not isinstance(block, dict):
        return "a block is a JSON object"
    if block.get("type") not in BLOCK_TYPES:
        return f"the block's type must be one of {', '.join(BLOCK_TYPES)}"
    if "condition" in block:
        return "a saved block carries no condition (set it where the block is used)"
    if len(json.dumps(block)) > MAX_BLOCK_BYTES:
        return f"the block is over {MAX_BLOCK_BYTES // 1024} KB"
    try:
        from ..blocks import validate
    except ImportError:
        return None
    # The compiler's own rules: the block alone in a document (a footer is required there).
    blocks = [block] if block["type"] == "footer" else [block, {"id": "_f", "type": "footer"}]
    errors = validate({"version": 1, "blocks": blocks})
    for path, message in (errors or {}).items():
        if str(path).startswith("blocks[0]"):
            return f"{str(path)[len('blocks[0]') :].lstrip('.') or 'block'}: {message}"
    return None


@transaction.atomic
def saved_block_create(
    *, workspace: Workspace, name: str, block: Any, user: User | None = None
) -> SavedBlock:
    name = (name or "").strip()
    if not name:
        raise _refuse("name", "a saved block needs a name")
    if len(name) > NAME_MAX:
        raise _refuse("name", f"at most {NAME_MAX} characters")
    problem = _block_problem(block)
    if problem is not None:
        raise _refuse("block", problem)
    if SavedBlock.objects.filter(workspace=workspace, name=name).exists():
        raise _refuse("name", f"a saved block is already named “{name}”")
    try:
        with transaction.atomic():
            return SavedBlock.objects.create(
                workspace=workspace, name=name, block=block, created_by=user
            )
    except IntegrityError:  # saved at the same moment by someone else
        raise _refuse("name", f"a saved block is already named “{name}”")


def saved_block_delete(*, workspace: Workspace, pk: int) -> None:
    deleted, _ = SavedBlock.objects.filter(workspace=workspace, pk=pk).delete()
    if not deleted:
        raise NotFound("No such saved block.")


def saved_block_list(*, workspace: Workspace) -> QuerySet[SavedBlock]:
    return SavedBlock.objects.filter(workspace=workspace).order_by("name")
