#!/usr/bin/env bash
# The feed benchmark: builds the release binaries, then runs
# vendrome-server/examples/feed_bench (its doc comment says what it measures).
# Options pass through, e.g. `scripts/bench/feed.sh --store postgres --users 10000 --posts 100000`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -q -p vendrome-cli
exec cargo run --release -q -p vendrome-server --example feed_bench -- \
  --vendrome "$CARGO_TARGET_DIR/release/vendrome" "$@"
