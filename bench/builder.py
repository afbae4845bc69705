"""Scenario `builder`: the workflow builder island in a real browser (Debian Chromium).

    .venv/bin/python -m bench builder [--nodes 200] [--runs 5]

1. Fresh database `tendril_bench_builder`, one workspace and its owner, a workflow of
   --nodes steps (a chain of tag/wait steps with an if/else every 20 steps, each "no" arm
   ending in an exit), saved as the draft; and a 2-step workflow as the baseline.
2. gunicorn (2 workers) and Playwright on Debian Chromium at 1280×800.
3. Open: from navigation to the builder page until the steps on screen are drawn (a tall
   workflow draws its top rows first, the rest when the browser is idle) AND a click on
   the trigger has selected it and filled the side panel (interactive). Median of --runs
   fresh page loads, for the big workflow and for the 2-step one (the ratio is the cost of
   size).
4. Insert (once every step is drawn): open the picker on the edge under the trigger, then,
   timed in the page (performance.now), choose a step until the new card is in the DOM and
   a frame painted: the graph edit, the whole re-layout and React Flow's render. Median of
   --runs.
Each figure also gives the page's main-thread CPU time over the same span (Chromium's
ThreadTime metric): on a shared machine the wall clock is mostly waiting for a core.
Nothing is asserted; docs/benchmarks.md keeps the figures.
"""

from __future__ import annotations

import argparse
import os
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


class ThreadClock:
    """CPU time of the page's main thread (Chromium's ThreadTime metric through DevTools):
    the work the page did, whatever else the machine's cores were busy with. The wall-clock
    figures on a shared machine are mostly waiting for a core."""

    def __init__(self, context, page) -> None:  # noqa: ANN001
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})

    def read(self) -> float:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "ThreadTime")


def _open(page, url: str, expect: int, clock: ThreadClock) -> tuple[float, float]:  # noqa: ANN001
    """Until the canvas has drawn what is on screen and a click on the trigger has selected
    it and filled the side panel: (wall seconds, main-thread CPU seconds). A tall workflow
    draws its top rows first and the rest when the browser is idle."""
    page.goto("about:blank")
    cpu = clock.read()
    started = time.perf_counter()
    page.goto(url)
    page.locator(".wb-node").nth(min(expect, 4) - 1).wait_for()
    page.click('.wb-node[data-node="start"]')
    page.wait_for_selector(".wb-step h2:has-text('Enrolled by API')")
    wall = time.perf_counter() - started
    return wall, clock.read() - cpu


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


def _insert(page, runs: int, clock: ThreadClock) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """(wall seconds, main-thread CPU seconds) of each insert under the trigger."""
    times, cpus = [], []
    for _ in range(runs):
        page.click('[data-edge="start:default"]')
        page.wait_for_selector(".wb-picker")
        page.fill(".wb-picker input", "add tags")
        cpu = clock.read()
        times.append(page.evaluate(INSERT_JS, "action.tag_add") / 1000)
        cpus.append(clock.read() - cpu)
    return times, cpus


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
        clock = ThreadClock(context, page)
        _open(page, f"/workflows/{small}/builder/", 2, clock)  # warm the server and the cache
        opens_small = [
            _open(page, f"/workflows/{small}/builder/", 2, clock) for _ in range(args.runs)
        ]
        opens_big = [
            _open(page, f"/workflows/{big}/builder/", args.nodes, clock) for _ in range(args.runs)
        ]
        page.locator(".wb-node").nth(args.nodes - 1).wait_for()  # all drawn before edits
        inserts_big = list(zip(*_insert(page, args.runs, clock), strict=True))
        _open(page, f"/workflows/{small}/builder/", 2, clock)
        inserts_small = list(zip(*_insert(page, args.runs, clock), strict=True))
        context.close()

    def med(values: list, i: int) -> float:
        return statistics.median(v[i] for v in values) * 1000

    def row(label: str, values: list, base: list, digits: int = 0) -> tuple[str, str]:
        wall, cpu = med(values, 0), med(values, 1)
        if base is values:
            return label, f"{wall:.{digits}f} ms  (main thread CPU {cpu:.{digits}f} ms)"
        return label, (
            f"{wall:.{digits}f} ms  (×{wall / med(base, 0):.2f}; "
            f"main thread CPU {cpu:.{digits}f} ms, ×{cpu / med(base, 1):.2f})"
        )

    harness.report(
        f"builder ({note}; medians of {args.runs})",
        [
            row("open 2 steps (baseline)", opens_small, opens_small),
            row(f"open {args.nodes} steps, interactive", opens_big, opens_small),
            row("insert into 2 steps (baseline)", inserts_small, inserts_small, 1),
            row(f"insert into {args.nodes} steps, re-laid out", inserts_big, inserts_small, 1),
            ("load average at the end", f"{os.getloadavg()[0]:.2f}"),
        ],
    )
