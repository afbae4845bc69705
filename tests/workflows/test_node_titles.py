"""Every config property of every workflow node is labelled in words written for it, so the
builder never shows a label made from a property's name ("Check every minutes")."""

from typing import Any

from workflows.nodes import registry
from workflows.nodes.forms import form_schema


def titles(schema: dict[str, Any], path: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        found[path + name] = prop.get("title")
        if prop.get("type") == "object" and "properties" in prop:
            found.update(titles(prop, f"{path}{name}."))
        items = prop.get("items")
        if isinstance(items, dict) and items.get("type") == "object":
            found.update(titles(items, f"{path}{name}[]."))
    return found


def test_every_node_config_property_has_a_title_of_its_own():
    untitled = [
        f"{type_name}: {path}"
        for type_name, spec in registry().items()
        for path, title in titles(form_schema(spec)).items()
        if not title
    ]
    assert untitled == []
    check = titles(form_schema(registry()["wait.until_condition"]))
    assert check["check_every_minutes"] != "Check every minutes"
