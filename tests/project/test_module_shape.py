"""How an app's code is laid out is checked, not only written down (docs/architecture.md, "Shapes").

- HTML pages live in `views.py` until it passes ~400 lines, then in a `views/` package with one
  module per section; a section's module is split again past ~600 lines (the general hint).
- No module grows past a hard ceiling: CONVENTIONS.md says a module past ~600 lines becomes a
  package; the ceiling is set above that hint so a module near it fails only once it is clearly
  two things.
"""

from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
VIEWS_LIMIT = 400
SECTION_LIMIT = 600
MODULE_CEILING = 800


def _project_apps() -> list[Path]:
    """The project's own apps (those whose code sits in this repository), however many there are."""
    paths = [Path(config.path) for config in apps.get_app_configs()]
    return sorted(path for path in paths if path.parent == ROOT)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_the_project_apps_are_found():
    names = {path.name for path in _project_apps()}
    assert {"workspaces", "contacts", "segments", "messaging", "workflows", "analytics"} <= names


def test_a_views_module_past_the_limit_is_a_package_instead():
    too_long = [
        f"{path.relative_to(ROOT)} ({_lines(path)} lines)"
        for app in _project_apps()
        if (path := app / "views.py").exists() and _lines(path) > VIEWS_LIMIT
    ]
    assert too_long == [], f"split into a views/ package, one module per section: {too_long}"


def test_a_views_package_keeps_each_section_under_the_hint():
    too_long = [
        f"{path.relative_to(ROOT)} ({_lines(path)} lines)"
        for app in _project_apps()
        for path in sorted((app / "views").glob("*.py"))
        if _lines(path) > SECTION_LIMIT
    ]
    assert too_long == [], f"split the section: {too_long}"


def test_an_app_has_either_a_views_module_or_a_views_package():
    both = [
        app.name
        for app in _project_apps()
        if (app / "views.py").exists() and (app / "views").is_dir()
    ]
    assert both == []


def test_no_module_grows_past_the_ceiling():
    too_long = [
        f"{path.relative_to(ROOT)} ({_lines(path)} lines)"
        for app in _project_apps()
        for path in sorted(app.rglob("*.py"))
        if "migrations" not in path.parts and _lines(path) > MODULE_CEILING
    ]
    assert too_long == [], f"make it a package of named parts: {too_long}"
