#!/usr/bin/env bash
# Regenerates crates/keqing-care/tests/data/*.csv from independent Python
# packages (lunardate: table-driven lunar calendar; ephem: VSOP87 sun
# position for Qingming). See scripts/calendar/generate.py.
#
# The venv lives in <repo>/target-calendar-venv (ignored by git via /target-*).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${KEQING_CALENDAR_VENV:-$repo/target-calendar-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    "lunardate==0.3.0" "ephem==4.2.1"
"$venv/bin/python" "$here/generate.py" --out-dir "$repo/crates/keqing-care/tests/data" "$@"
