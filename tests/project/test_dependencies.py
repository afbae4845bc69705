"""What the running product imports is installed by `pip install .` alone — not only by the
dev extras the test suite itself is installed with (make dev installs no extras)."""

import ast
import importlib.metadata as metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# Everything that runs in `make dev` / production; tests and bench install the dev extras.
RUNTIME = [
    "analytics",
    "config",
    "contacts",
    "messaging",
    "scoring",
    "scripts",
    "segments",
    "workflows",
    "workspaces",
    "manage.py",
]


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level module → a file importing it, for every absolute import in runtime code."""
    found: dict[str, str] = {}
    for entry in RUNTIME:
        path = ROOT / entry
        files = [path] if path.is_file() else path.rglob("*.py")
        for file in files:
            if "migrations" in file.parts:
                continue
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.partition(".")[0], str(file.relative_to(ROOT)))
    return found


def _installed_by(distribution: str) -> set[str]:
    """Canonical names of `distribution` and everything it requires, extras followed."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(canonicalize_name(distribution), frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            wanted = extras or frozenset({""})
            if requirement.marker and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in wanted
            ):
                continue
            todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in seen}


def test_every_third_party_import_of_the_product_is_a_runtime_dependency():
    local = {path.stem for path in ROOT.iterdir()}
    runtime = _installed_by("tendril")
    distributions = metadata.packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_level_modules().items()):
        if module in sys.stdlib_module_names or module in local or module == "__future__":
            continue
        providers = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not providers & runtime:
            missing.append(f"{module} (imported by {where}; from {sorted(providers) or '?'})")
    assert len(runtime) > 20  # the walk really followed the dependencies
    assert missing == []
