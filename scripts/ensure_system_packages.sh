#!/usr/bin/env bash
# Debian packages Tendril needs besides Python and npm ones, installed when missing:
#   chromium      the real browser of the end-to-end tests (driven by Playwright; no browser
#                 download is possible)
#   spamassassin  the pre-send checklist's spam score (messaging/templating/spam.py), run
#                 locally with the rules shipped in the package (sa-update needs the network)
# Usage: ensure_system_packages.sh chromium spamassassin   (each name: "<package>")
set -euo pipefail
declare -A PROGRAM=([chromium]=/usr/bin/chromium [spamassassin]=/usr/bin/spamassassin)
missing=()
for package in "$@"; do
  program="${PROGRAM[$package]:-}"
  if [ -z "$program" ]; then echo "unknown system package: $package" >&2; exit 2; fi
  [ -x "$program" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's ${missing[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Tendril needs Debian's ${missing[*]}: run 'sudo apt-get install ${missing[*]}'." >&2
  exit 1
fi
