#!/usr/bin/env bash
# CalDAV sync against a real Radicale server (PyPI): installs Radicale into the calendar peers'
# venv (see PEERS.md: kept apart from schemathesis's), then runs the API tests that start their
# own Radicale on a free port (vendrome-server/tests/api/caldav.rs) on both stores.
#
# Env: VENDROME_PEERS_DIR (see env.sh), PYTHON, RADICALE_VERSION.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/env.sh
source "$ROOT/scripts/peers/env.sh"

RADICALE_VERSION="${RADICALE_VERSION:-3.5.10}"
CALENDAR_VENV="$PEERS_DIR/calendar-venv"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

radicale_ok() {
  [[ -x "$CALENDAR_VENV/bin/radicale" ]] &&
    [[ "$("$CALENDAR_VENV/bin/radicale" --version 2>/dev/null)" == "$RADICALE_VERSION" ]]
}

mkdir -p "$PEERS_DIR"
if ! radicale_ok; then
  echo "peers: installing radicale==$RADICALE_VERSION into $CALENDAR_VENV"
  [[ -x "$CALENDAR_VENV/bin/python" ]] || "$PYTHON" -m venv "$CALENDAR_VENV"
  "$CALENDAR_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "radicale==$RADICALE_VERSION"
  radicale_ok || { echo "peers: Radicale is not usable after install" >&2; exit 1; }
fi

cd "$ROOT"
VENDROME_RADICALE="$CALENDAR_VENV/bin/radicale" \
  cargo test -q -p vendrome-server --test api calendar_caldav_ -- --test-threads=2
