#!/usr/bin/env bash
# The investments benchmark: runs vendrome-server/examples/investments_bench.rs (its doc comment
# says what it measures) in release on PostgreSQL (VENDROME_TEST_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/postgres), on a fresh database it creates.
# Options pass through, e.g. `scripts/bench/investments.sh --clients 1,16 --commitments 4000 --settle 10000`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo run --release -q -p vendrome-server --example investments_bench -- "$@"
