#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a NEW, empty database, then check that its
# schema matches this version of Tendril (run `manage.py migrate` first when it is older).
#
#   DATABASE_URL=postgres://…/tendril_restored scripts/restore.sh tendril-2026-12-03.dump
#
# The target database must not exist yet: restoring over live data is refused.
set -euo pipefail
in="${1:?usage: scripts/restore.sh FILE}"
url="${DATABASE_URL:?set DATABASE_URL to the database to create and restore into}"
db="${url##*/}"; db="${db%%\?*}"
server="${url%/*}/postgres"
if psql "$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  echo "database $db exists; restore into a new database name" >&2
  exit 1
fi
psql "$server" -qc "CREATE DATABASE \"$db\""
pg_restore --no-owner --exit-on-error --dbname "$url" "$in"
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
"$python" "$here/manage.py" migrate --check >/dev/null \
  || echo "restored; the schema is older than this code: run manage.py migrate" >&2
echo "restored $in into $db"
