"""axe-core (npm, package.json) in the page under test: serious and critical violations.

The app's Content-Security-Policy refuses inline scripts and eval, so axe cannot come in as
a <script> tag; its source runs through the DevTools protocol (`page.evaluate`, which page
policies do not govern), the same way tests/support/browser.py polls predicates."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN = """async () => {
  const result = await window.axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('').trim()),
  }));
}"""


@cache
def _source() -> str:
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci` (axe-core is a dev dependency)")
    # A function body, so the UMD bundle's top-level `this`/window assignment lands on window.
    return "() => { " + AXE.read_text() + "\n; return typeof window.axe; }"


def axe_violations(page: Any, *, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; the violations of the given impacts."""
    if page.evaluate("typeof window.axe") != "object":
        page.evaluate(_source())
    return [v for v in page.evaluate(RUN) if v["impact"] in impacts]


def describe(path: str, violations: list[dict[str, Any]]) -> list[str]:
    """One line per violation: page, rule id, what it asks, and the first elements."""
    return [
        f"{path}: {v['id']} ({v['impact']}) {v['help']}\n      " + "\n      ".join(v["targets"])
        for v in violations
    ]
