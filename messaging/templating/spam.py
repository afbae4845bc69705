"""A spam score for an email before it is sent: Debian's SpamAssassin, run locally.

`spamassassin -t -L` reads the real MIME message on its standard input and prints it back with
a report: the score, the threshold and every rule that fired with its points and description.
Local tests only (-L: no DNS blocklists, no network), the rules shipped in the package (no
sa-update), no Bayes database and no per-user preferences written (-x). Bounded in time; when
the program is not installed the result says so instead of failing (`available` is False).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field

ARGS = (
    "-t",
    "-L",
    "-x",
    "--cf=use_bayes 0",
    "--cf=bayes_auto_learn 0",
    "--cf=use_auto_whitelist 0",
)
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
STATUS = re.compile(r"^X-Spam-Status:.*?score=(-?[\d.]+)\s+required=(-?[\d.]+)", re.M | re.S)
TABLE_HEAD = re.compile(r"^\s*pts\s+rule name\s+description\s*$")
RULE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*?)\s*$")
CONTINUED = re.compile(r"^\s{10,}(\S.*?)\s*$")


@dataclass(frozen=True)
class SpamRule:
    name: str
    points: float
    description: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "points": self.points, "description": self.description}


@dataclass
class SpamResult:
    available: bool
    score: float | None = None
    required: float | None = None
    rules: list[SpamRule] = field(default_factory=list)
    problem: str = ""


def spam_score(message: bytes, *, command: str, timeout: float) -> SpamResult:
    """Score one serialised message. Never raises: a missing program, a timeout or output
    that cannot be read is a result with `available` False and the reason in `problem`."""
    program = shutil.which(command)
    if program is None:
        return SpamResult(
            available=False, problem="spam check unavailable: SpamAssassin is not installed"
        )
    try:
        finished = subprocess.run(
            [program, *ARGS],
            input=message[:MAX_MESSAGE_BYTES],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return SpamResult(
            available=False, problem=f"spam check unavailable: SpamAssassin took over {timeout:g} s"
        )
    except OSError as error:
        return SpamResult(available=False, problem=f"spam check unavailable: {error}")
    return parse_report(finished.stdout.decode("utf-8", errors="replace"))


def parse_report(output: str) -> SpamResult:
    """The score, threshold and rules out of `spamassassin -t` output."""
    status = STATUS.search(output)
    if status is None:
        return SpamResult(
            available=False, problem="spam check unavailable: SpamAssassin gave no score"
        )
    rules: list[SpamRule] = []
    in_table = False
    for line in output.splitlines():
        if not in_table:
            in_table = bool(TABLE_HEAD.match(line))
            continue
        if line.startswith("----"):
            continue
        rule = RULE_LINE.match(line)
        if rule is not None:
            points, name, description = rule.groups()
            rules.append(SpamRule(name=name, points=float(points), description=description))
            continue
        more = CONTINUED.match(line)
        if more is not None and rules:
            last = rules[-1]
            rules[-1] = SpamRule(last.name, last.points, f"{last.description} {more.group(1)}")
            continue
        break  # the table ends at the first line that is neither
    return SpamResult(
        available=True,
        score=float(status.group(1)),
        required=float(status.group(2)),
        rules=sorted(rules, key=lambda r: -r.points),
    )
