# Sourced by scripts that need Radicale (PyPI): installs it into the calendar peers' venv (see
# PEERS.md: kept apart from schemathesis's) unless that version is there, and sets RADICALE to
# its executable.
#
# Env: VENDROME_PEERS_DIR (see env.sh), PYTHON, RADICALE_VERSION.
# shellcheck shell=bash
# shellcheck source=scripts/peers/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

RADICALE_VERSION="${RADICALE_VERSION:-3.5.10}"
CALENDAR_VENV="$PEERS_DIR/calendar-venv"
RADICALE="$CALENDAR_VENV/bin/radicale"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

radicale_ok() {
  [[ -x "$RADICALE" ]] && [[ "$("$RADICALE" --version 2>/dev/null)" == "$RADICALE_VERSION" ]]
}

mkdir -p "$PEERS_DIR"
if ! radicale_ok; then
  echo "peers: installing radicale==$RADICALE_VERSION into $CALENDAR_VENV"
  [[ -x "$CALENDAR_VENV/bin/python" ]] || "$PYTHON" -m venv "$CALENDAR_VENV"
  "$CALENDAR_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "radicale==$RADICALE_VERSION"
  radicale_ok || { echo "peers: Radicale is not usable after install" >&2; exit 1; }
fi
export RADICALE
