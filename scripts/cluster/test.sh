#!/usr/bin/env bash
# The SDK's suite against the three-instance cluster behind nginx (scripts/cluster/up.sh):
# sessions, refresh, idempotency keys, read-only mode, feed paging and realtime delivery and
# resume must behave as on one instance while nginx spreads the requests and sockets over the
# instances. Checks afterwards that every instance served part of the run, then stops the
# cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/vendrome-cluster}"
CLUSTER_PORT="${CLUSTER_PORT:-18080}"
INSTANCES="${INSTANCES:-3}"
export CLUSTER_DIR CLUSTER_PORT INSTANCES

trap '"$ROOT/scripts/cluster/down.sh" >/dev/null' EXIT
"$ROOT/scripts/cluster/up.sh"
# shellcheck disable=SC1091
source "$CLUSTER_DIR/env"
SDK_SKIP_PACK=1 "$ROOT/scripts/peers/sdk.sh" || {
  for i in $(seq 1 "$INSTANCES"); do echo "--- instance $i" >&2; tail -n 20 "$CLUSTER_DIR/instance-$i.log" >&2; done
  exit 1
}

served() {
  curl -fsS "http://127.0.0.1:$((CLUSTER_PORT + $1))/metrics" |
    awk '/^http_requests_total\{/ && !/route="\/(readyz|healthz|metrics)"/ { n += $NF } END { print n + 0 }'
}
for i in $(seq 1 "$INSTANCES"); do
  n="$(served "$i")"
  echo "cluster: instance $i served $n API requests"
  [[ "${n%.*}" -gt 0 ]] || { echo "cluster: instance $i served nothing: nginx did not spread the load" >&2; exit 1; }
done
echo "cluster: ok"
