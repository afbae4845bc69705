"""The import-linter contracts in pyproject.toml cover every module (issue #14).

`lint-imports` (run by `make lint` and `make test`) checks the contracts; this checks the
contracts themselves: a module an app gains is either protected (other apps may not import it)
or one of the public kinds the contract documents — otherwise it would escape the check."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "contacts",
    "predictions",
    "commerce",
    "segments",
    "scoring",
    "messaging",
    "workflows",
    "analytics",
)
# What other apps may import, as documented above the contracts in pyproject.toml.
PUBLIC = {"services", "selectors", "hooks", "apps", "migrations", "__init__"}
ALSO_PUBLIC = {"contacts": {"models"}, "segments": {"filters"}}


def contracts():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def children(package: Path, name: str):
    for path in sorted(package.iterdir()):
        if path.name == "__pycache__" or path.name.startswith("."):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            yield f"{name}.{path.name}"
        elif path.suffix == ".py" and path.stem != "__init__":
            yield f"{name}.{path.stem}"


def test_every_module_of_an_app_is_protected_or_documented_as_public():
    found = contracts()
    unprotected = []
    for app in APPS:
        protected = set(found[f"public-surface-{app}"]["protected_modules"])
        for module in children(ROOT / app, app):
            leaf = module.split(".")[1]
            if leaf in PUBLIC | ALSO_PUBLIC.get(app, set()):
                continue
            if module not in protected:
                unprotected.append(module)
    for module in children(ROOT / "segments" / "filters", "segments.filters"):
        if module not in set(found["public-surface-segments"]["protected_modules"]):
            unprotected.append(module)
    assert unprotected == []


def test_every_exception_in_the_contracts_says_why():
    text = (ROOT / "pyproject.toml").read_text()
    for contract in contracts().values():
        for ignored in contract.get("ignore_imports", []):
            before = text[: text.index(f'"{ignored}"')].rstrip().splitlines()
            assert any(line.strip().startswith("#") for line in before[-3:]), ignored


def test_the_layers_are_the_documented_ones():
    layers = contracts()["layers"]["layers"]
    assert layers == [
        "analytics",
        "workflows",
        "segments : scoring : messaging",
        "predictions : commerce",
        "contacts",
        "workspaces",
    ]


def test_every_app_has_a_no_cycles_contract():
    found = contracts()
    for app in ("workspaces", *APPS):
        contract = found[f"acyclic-{app}"]
        assert (contract["type"], contract["ancestors"]) == ("acyclic_siblings", [app])


# Loading a module by its name hides the import from import-linter. Allowed only where a name is
# discovered, never to reach another app: each app's demo data (like Django's autodiscover) and
# workflows' own node modules (one per node type).
LOADS_BY_NAME = {"workspaces/management/commands/demo_seed.py", "workflows/nodes/__init__.py"}


def test_no_app_loads_a_module_by_its_name_to_hide_an_import():
    found = []
    for app in ("workspaces", *APPS):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in LOADS_BY_NAME:
                continue
            text = path.read_text()
            if any(call in text for call in ("import_module(", "__import__(", "import_string(")):
                found.append(relative)
    assert found == []
