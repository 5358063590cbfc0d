#!/usr/bin/env bash
# The marketing benchmark: builds the release binaries, then runs
# vendrome-server/examples/marketing_bench (its doc comment says what it measures) on PostgreSQL
# (VENDROME_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres): event
# ingest in batches of 500 at 1 and 8 clients with 5 % repeats and budgets running out mid-run,
# spend beside the expected, and the home feed with sponsored delivery off and on.
# Options pass through, e.g. `scripts/bench/marketing.sh --events 100000 --clients 1,8`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -q -p vendrome-cli
cargo run --release -q -p vendrome-server --example marketing_bench -- \
  --vendrome "$CARGO_TARGET_DIR/release/vendrome" "$@"
