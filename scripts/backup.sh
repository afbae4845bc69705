#!/usr/bin/env bash
# Back up Tendril's PostgreSQL database to one file (pg_dump's custom format: compressed,
# restorable table by table). Redis holds nothing that needs a backup: it is the broker and
# the cache, and work in flight is recovered from PostgreSQL (docs/operations.md).
#
#   DATABASE_URL=postgres://… scripts/backup.sh tendril-$(date +%F).dump
#
# Run it as the database owner (or a superuser): Row Level Security hides tenant rows from
# the application's own role, so a dump taken as that role would be empty.
set -euo pipefail
out="${1:?usage: scripts/backup.sh FILE}"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tendril}"
pg_dump --format=custom --no-owner --file "$out" "$url"
echo "backed up to $out ($(du -h "$out" | cut -f1))"
