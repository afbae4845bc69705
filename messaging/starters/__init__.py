"""Starter templates: block documents (docs/messaging.md "Block document") a marketer starts
from — welcome, newsletter, abandoned cart, receipt, re-engagement. Each is a JSON file here
with its name, description, subject and preheader; each compiles and passes every pre-send
check, the spam score included (tests/messaging/test_starters.py)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEYS = ("welcome", "newsletter", "abandoned_cart", "receipt", "re_engagement")


@dataclass(frozen=True)
class Starter:
    key: str
    name: str
    description: str
    subject: str
    preheader: str
    document: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "subject": self.subject,
            "preheader": self.preheader,
            "document": copy.deepcopy(self.document),
        }


@cache
def _load(key: str) -> Starter:
    data = json.loads((HERE / f"{key}.json").read_text(encoding="utf-8"))
    return Starter(key=key, **data)


def all_starters() -> list[Starter]:
    return [_load(key) for key in KEYS]


def starter(key: str) -> Starter | None:
    return _load(key) if key in KEYS else None
