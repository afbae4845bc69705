"""Every knob is read once, in config/settings, with its default (issue #14): application
code reads `settings.X`, never the environment and never a setting with a fallback of its
own (which would be a second default, out of the README's configuration table)."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("workspaces", "contacts", "segments", "scoring", "messaging", "workflows", "analytics")
READS = re.compile(r"\bos\.environ\b|\bos\.getenv\(|\bgetattr\(\s*settings\s*,")


def test_application_code_reads_no_environment_variable_and_no_setting_with_a_default():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READS.search(line)
    ]
    assert found == []


def test_the_knobs_moved_out_of_the_code_are_settings_and_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in (
        "WORKFLOWS_LEASE_SECONDS",
        "WORKFLOWS_CHUNK_SIZE",
        "WORKFLOWS_MAX_IN_FLIGHT",
        "WORKFLOWS_STEP_MAX_ATTEMPTS",
        "WORKFLOWS_RETRY_BASE_SECONDS",
        "WORKFLOWS_SHIFTABLE_CLOCK",
        "TENDRIL_INGEST_SYNCHRONOUS_COMMIT",
        "TENDRIL_FORM_RATE_LIMIT",
        "TENDRIL_IMPORT_MAX_BYTES",
    ):
        assert hasattr(settings, name), name
        assert f"`{name}`" in readme, name
