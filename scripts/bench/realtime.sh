#!/usr/bin/env bash
# The realtime benchmark: raises the open-file limit (each connection is a descriptor in this
# process and in a server), builds the release binaries, then runs
# vendrome-server/examples/realtime_bench (its doc comment says what it measures).
# Options pass through, e.g. `scripts/bench/realtime.sh --connections 2000 --instances 1`.
# Needs PostgreSQL; the two-instance run also NATS and Valkey/Redis (the test URLs' defaults).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
want=32768
hard="$(ulimit -Hn)"
if [[ "$hard" != "unlimited" && "$hard" -lt "$want" ]]; then want="$hard"; fi
ulimit -n "$want"
echo "open-file limit: $(ulimit -n)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -q -p vendrome-cli
exec cargo run --release -q -p vendrome-server --example realtime_bench -- \
  --vendrome "$CARGO_TARGET_DIR/release/vendrome" "$@"
