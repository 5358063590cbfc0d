#!/usr/bin/env bash
# CalDAV sync against a real Radicale server (PyPI): installs Radicale into the calendar peers'
# venv (radicale.sh), then runs the API tests that start their own Radicale on a free port
# (vendrome-server/tests/api/caldav.rs) on both stores.
#
# Env: VENDROME_PEERS_DIR (see env.sh), PYTHON, RADICALE_VERSION.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/peers/radicale.sh
source "$ROOT/scripts/peers/radicale.sh"

cd "$ROOT"
VENDROME_RADICALE="$RADICALE" \
  cargo test -q -p vendrome-server --test api calendar_caldav_ -- --test-threads=2
