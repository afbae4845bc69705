"""`python -m bench <scenario> [options]` runs one scenario; `python -m bench all` runs each.

A scenario is a module bench/<name>.py with `main(argv: list[str]) -> None`; it prints its
figures and the ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

NOT_SCENARIOS = {"generator", "harness"}


def scenarios() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        if not info.name.startswith("_")
        and info.name not in NOT_SCENARIOS
        and hasattr(importlib.import_module(f"bench.{info.name}"), "main")
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("scenarios:", ", ".join(scenarios()))
        return 0
    name, rest = argv[0], argv[1:]
    names = scenarios() if name == "all" else [name]
    for scenario in names:
        if scenario not in scenarios():
            print(f"unknown scenario {scenario!r}; known: {', '.join(scenarios())}")
            return 2
        if len(names) > 1:
            # Each scenario sets up Django for its own database: run each in its own process.
            import subprocess

            code = subprocess.call([sys.executable, "-m", "bench", scenario, *rest])
            if code:
                return code
        else:
            importlib.import_module(f"bench.{scenario}").main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
