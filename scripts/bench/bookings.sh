#!/usr/bin/env bash
# The bookings benchmark: runs vendrome-server/examples/bookings_bench (its doc comment says what
# it measures) in release mode on PostgreSQL (VENDROME_TEST_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/postgres), or on SQLite with `--store sqlite`.
# Options pass through, e.g. `scripts/bench/bookings.sh --months 12 --reads 2000 --clients 16`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export VENDROME_TEST_DATABASE_URL="${VENDROME_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
exec cargo run --release -q -p vendrome-server --example bookings_bench -- "$@"
