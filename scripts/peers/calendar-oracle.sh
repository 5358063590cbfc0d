#!/usr/bin/env bash
# Recurrence expansion against recurring-ical-events (PyPI), an independent oracle: installs the
# calendar peers' own venv (kept apart from schemathesis's: the calendar peers' dependencies
# disagree with it, see PEERS.md), prints Vendrome's expansion of a set of RRULEs with exceptions,
# and compares occurrence by occurrence.
#
# Env: VENDROME_PEERS_DIR (see env.sh), PYTHON.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

ICALENDAR_VERSION="${ICALENDAR_VERSION:-7.3.2}"
RECURRING_VERSION="${RECURRING_VERSION:-3.8.2}"
CALENDAR_VENV="$PEERS_DIR/calendar-venv"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

venv_ok() {
  [[ -x "$CALENDAR_VENV/bin/python" ]] &&
    "$CALENDAR_VENV/bin/python" - "$ICALENDAR_VERSION" "$RECURRING_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import icalendar, recurring_ical_events  # noqa: F401
sys.exit(0 if (version("icalendar"), version("recurring-ical-events")) == (sys.argv[1], sys.argv[2]) else 1)
PY
}

mkdir -p "$PEERS_DIR"
if ! venv_ok; then
  echo "peers: installing icalendar==$ICALENDAR_VERSION recurring-ical-events==$RECURRING_VERSION into $CALENDAR_VENV"
  [[ -x "$CALENDAR_VENV/bin/python" ]] || "$PYTHON" -m venv "$CALENDAR_VENV"
  "$CALENDAR_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "icalendar==$ICALENDAR_VERSION" "recurring-ical-events==$RECURRING_VERSION"
  venv_ok || { echo "peers: the calendar venv is not usable after install" >&2; exit 1; }
fi

cases="$(mktemp "${TMPDIR:-/tmp}/vendrome-oracle.XXXXXX.json")"
trap 'rm -f "$cases"' EXIT
cargo run -q -p vendrome-calendar --example oracle_cases >"$cases"
"$CALENDAR_VENV/bin/python" "$ROOT/scripts/peers/calendar_oracle.py" <"$cases"
