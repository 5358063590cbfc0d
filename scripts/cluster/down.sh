#!/usr/bin/env bash
# Stops what scripts/cluster/up.sh started: nginx, then each instance (SIGTERM: in-flight
# requests finish, sockets close with 1001), by the pid files in CLUSTER_DIR.
set -uo pipefail

CLUSTER_DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/vendrome-cluster}"
[[ -d "$CLUSTER_DIR" ]] || exit 0

if [[ -f "$CLUSTER_DIR/nginx.pid" ]]; then
  nginx -c "$CLUSTER_DIR/nginx.conf" -p "$CLUSTER_DIR" -e "$CLUSTER_DIR/nginx-error.log" -s stop 2>/dev/null ||
    kill "$(cat "$CLUSTER_DIR/nginx.pid")" 2>/dev/null
fi
for pidfile in "$CLUSTER_DIR"/instance-*.pid; do
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$pidfile"
done
echo "cluster: stopped"
