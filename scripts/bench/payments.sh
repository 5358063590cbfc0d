#!/usr/bin/env bash
# The payments benchmark: builds the release binaries, then runs
# vendrome-server/examples/payments_bench (its doc comment says what it measures) on PostgreSQL
# (VENDROME_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
# Then the notification verification per provider scheme (verify_bench, one core).
# Options pass through, e.g. `scripts/bench/payments.sh --events 500 --clients 1,16 --orders 1000`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -q -p vendrome-cli
cargo run --release -q -p vendrome-server --example payments_bench -- \
  --vendrome "$CARGO_TARGET_DIR/release/vendrome" "$@"
echo
echo "Notification verification per provider scheme, one core (vendrome-payments/examples/verify_bench.rs):"
cargo run --release -q -p vendrome-payments --example verify_bench
