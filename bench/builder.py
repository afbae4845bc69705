"""Scenario `builder`: the workflow builder island in a real browser (Debian Chromium).

    .venv/bin/python -m bench builder [--nodes 200] [--runs 5]

1. Fresh database `tendril_bench_builder`, one workspace and its owner, a workflow of
   --nodes steps (a chain of tag/wait steps with an if/else every 20 steps, each "no" arm
   ending in an exit), saved as the draft; and a 2-step workflow as the baseline.
2. gunicorn (2 workers) and Playwright on Debian Chromium at 1280×800.
3. Open: from navigation to the builder page until the steps on screen are drawn (React
   Flow renders only the visible ones) AND a click on the trigger has selected it and
   filled the side panel (interactive). Median of --runs
   fresh page loads, for the big workflow and for the 2-step one (the ratio is the cost of
   size).
4. Insert: open the picker on an edge near the top, then, timed in the page
   (performance.now), choose a step until the new card is in the DOM and a frame painted:
   the graph edit, the whole re-layout and React Flow's render. Median of --runs.
Nothing is asserted; docs/benchmarks.md keeps the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import harness

DATABASE = "tendril_bench_builder"
PORT = 18170
REDIS_DB = 7
PASSWORD = "bench-builder-password-1"  # noqa: S105 — a throwaway bench user


def big_graph(size: int) -> dict:
    nodes = [{"id": "start", "type": "trigger.api", "config": {}}]
    edges = []
    last, port = "start", "default"
    for i in range(1, size):
        if len(nodes) >= size:
            break
        if i % 20 == 10 and len(nodes) + 2 <= size:
            branch = f"if_{i}"
            nodes.append(
                {
                    "id": branch,
                    "type": "branch.condition",
                    "config": {"filter": {"all": [{"tag": "vip"}]}},
                }
            )
            nodes.append({"id": f"exit_{i}", "type": "action.exit", "config": {}})
            edges.append({"source": last, "target": branch, "port": port})
            edges.append({"source": branch, "target": f"exit_{i}", "port": "no"})
            last, port = branch, "yes"
            continue
        step = (
            {"id": f"wait_{i}", "type": "wait.duration", "config": {"hours": i}}
            if i % 2
            else {"id": f"tag_{i}", "type": "action.tag_add", "config": {"tags": [f"t{i}"]}}
        )
        nodes.append(step)
        edges.append({"source": last, "target": step["id"], "port": port})
        last, port = step["id"], "default"
    return {
        "nodes": nodes,
        "edges": [
            e if e["port"] != "default" else {"source": e["source"], "target": e["target"]}
            for e in edges
        ],
    }


def _workflows(size: int) -> tuple[int, int, str]:
    from workflows.services import draft_save, workflow_create
    from workspaces.services import user_get_or_create, workspace_create

    owner, _ = user_get_or_create(email="bench-builder@tendril.test", password=PASSWORD)
    ws = workspace_create(name="Bench builder", owner=owner).workspace
    big = workflow_create(workspace=ws, data={"name": f"{size} steps"})
    draft_save(workspace=ws, workflow=big, graph=big_graph(size))
    small = workflow_create(workspace=ws, data={"name": "2 steps"})
    draft_save(workspace=ws, workflow=small, graph=big_graph(2))
    return big.pk, small.pk, owner.email


def _open(page, url: str, expect: int) -> float:  # noqa: ANN001
    """Until the canvas has drawn what is on screen (React Flow draws only the visible
    steps) and a click on the trigger has selected it and filled the side panel."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(f"document.querySelectorAll('.wb-node').length >= {min(expect, 4)}")
    page.click('.wb-node[data-node="start"]')
    page.wait_for_selector(".wb-step h2:has-text('Enrolled by API')")
    return time.perf_counter() - started


INSERT_JS = """async (type) => {
  const before = new Set([...document.querySelectorAll('.wb-node')].map((n) => n.dataset.node));
  const option = document.querySelector(`.wb-picker [data-type="${type}"]`);
  const t0 = performance.now();
  const appeared = new Promise((resolve) => {
    const check = () => [...document.querySelectorAll('.wb-node')].some((n) => !before.has(n.dataset.node));
    const observer = new MutationObserver(() => { if (check()) { observer.disconnect(); resolve(); } });
    observer.observe(document.body, { childList: true, subtree: true });
  });
  option.click();
  await appeared;
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def _insert(page, runs: int) -> list[float]:  # noqa: ANN001
    times = []
    for _ in range(runs):
        page.click('[data-edge="start:default"]')
        page.wait_for_selector(".wb-picker")
        page.fill(".wb-picker input", "add tags")
        times.append(page.evaluate(INSERT_JS, "action.tag_add") / 1000)
    return times


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench builder")
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    note = harness.machine_note()
    big, small, email = _workflows(args.nodes)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # gunicorn serves the build
    from tests.support.browser import chromium

    with harness.server(port=PORT, workers=2) as url, chromium() as browser:
        context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto("/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        _open(page, f"/workflows/{small}/builder/", 2)  # warm the server and the cache
        opens_small = [_open(page, f"/workflows/{small}/builder/", 2) for _ in range(args.runs)]
        opens_big = [
            _open(page, f"/workflows/{big}/builder/", args.nodes) for _ in range(args.runs)
        ]
        inserts_big = _insert(page, args.runs)
        _open(page, f"/workflows/{small}/builder/", 2)
        inserts_small = _insert(page, args.runs)
        context.close()
    med = statistics.median
    harness.report(
        f"builder ({note})",
        [
            ("open 2 steps (baseline)", f"{med(opens_small) * 1000:.0f} ms"),
            (
                f"open {args.nodes} steps, interactive",
                f"{med(opens_big) * 1000:.0f} ms  (×{med(opens_big) / med(opens_small):.2f})",
            ),
            ("insert into 2 steps (baseline)", f"{med(inserts_small) * 1000:.1f} ms"),
            (
                f"insert into {args.nodes} steps, re-laid out",
                f"{med(inserts_big) * 1000:.1f} ms  (×{med(inserts_big) / med(inserts_small):.2f})",
            ),
        ],
    )
