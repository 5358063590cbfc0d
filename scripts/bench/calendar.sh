#!/usr/bin/env bash
# The calendar benchmark: builds vendrome-server/examples/calendar_bench (its doc comment says
# what it measures) in release mode and runs it on PostgreSQL (VENDROME_TEST_DATABASE_URL,
# default postgres://postgres@127.0.0.1:5432/postgres), or on SQLite with `--store sqlite`,
# against Google's and Microsoft's fakes and a real Radicale (installed by
# scripts/peers/radicale.sh). Options pass through, e.g.
# `scripts/bench/calendar.sh --events 10000 --changes 10 --rounds 5 --runs 2000`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/peers/radicale.sh
source "$ROOT/scripts/peers/radicale.sh"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export VENDROME_TEST_DATABASE_URL="${VENDROME_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo build --release -q -p vendrome-server --example calendar_bench
VENDROME_RADICALE="$RADICALE" exec "$CARGO_TARGET_DIR/release/examples/calendar_bench" "$@"
