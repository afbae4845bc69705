"""The workspace's brand for block emails: logo, colours and font, set once and used by every
block template (a block's own style overrides it). Messages → Settings → Brand and
GET/PATCH /api/v1/messaging/brand/ write through `brand_update`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from ..models import MediaAsset, MessagingSettings
from .config import messaging_settings
from .templates import block_templates_rebrand

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
COLOURS = ("primary_color", "text_color", "background_color", "content_color")
# The font keys of the block compiler (messaging/blocks: key → CSS font stack).
SPEC_FONTS = ("helvetica", "arial", "georgia", "verdana", "trebuchet", "times", "courier")
UNSET: Any = object()


def brand_fonts() -> tuple[str, ...]:
    """The font keys a brand may name: the block compiler's table once it has one."""
    try:
        from ..blocks import FONTS  # type: ignore[attr-defined]
    except ImportError:
        return SPEC_FONTS
    return tuple(FONTS)


@dataclass
class Brand:
    logo: MediaAsset | None
    primary_color: str
    text_color: str
    background_color: str
    content_color: str
    font: str


def brand_of(config: MessagingSettings) -> Brand:
    return Brand(
        logo=config.brand_logo,
        primary_color=config.brand_primary_color,
        text_color=config.brand_text_color,
        background_color=config.brand_background_color,
        content_color=config.brand_content_color,
        font=config.brand_font,
    )


def brand_get(*, workspace: Workspace) -> Brand:
    return brand_of(messaging_settings(workspace=workspace))


def brand_problems(values: dict[str, Any], *, workspace: Workspace) -> dict[str, str]:
    """Field → what is wrong, for each given value (colours "#rrggbb", a known font key, a
    logo that is an image of this workspace)."""
    problems: dict[str, str] = {}
    for name in COLOURS:
        value = values.get(name, UNSET)
        if value is not UNSET and not (isinstance(value, str) and HEX_COLOUR.match(value)):
            problems[name] = "a colour is written #rrggbb, e.g. #2563eb"
    font = values.get("font", UNSET)
    if font is not UNSET and font not in brand_fonts():
        problems["font"] = f"choose one of {', '.join(brand_fonts())}"
    logo = values.get("logo", UNSET)
    if logo not in (UNSET, None) and (
        not isinstance(logo, MediaAsset) or logo.workspace_id != workspace.pk
    ):
        problems["logo"] = "no such image in this workspace"
    return problems


@transaction.atomic
def brand_update(*, workspace: Workspace, **values: Any) -> Brand:
    """Change the given brand fields; an invalid value changes nothing (ValidationFailed
    naming every bad field)."""
    unknown = sorted(set(values) - {*COLOURS, "font", "logo"})
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown field", fields={unknown[0]: "unknown field"})
    problems = brand_problems(values, workspace=workspace)
    if problems:
        first = next(iter(problems))
        raise ValidationFailed(f"{first}: {problems[first]}", fields=problems)
    current = messaging_settings(workspace=workspace)
    for name in COLOURS:
        if name in values:
            setattr(current, f"brand_{name}", values[name].lower())
    if "font" in values:
        current.brand_font = values["font"]
    if "logo" in values:
        current.brand_logo = values["logo"]
    before = brand_of(messaging_settings(workspace=workspace))
    current.save()
    after = brand_of(current)
    if after != before:  # block templates are compiled with the brand: recompile them
        block_templates_rebrand(workspace=workspace)
    return after
