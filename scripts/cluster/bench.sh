#!/usr/bin/env bash
# Feed reads per second through nginx with 1, 2 and 3 instances, when the database is not the
# bottleneck: one member's home feed, read again and again, is served from each instance's
# home-feed cache. Prints a table with each instance's CPU, nginx's, and the whole machine's during the
# run, so what the machine's cores cap is visible. Bounded: DURATION seconds per step.
#
# Env: VENDROME_BIN (a release build gives the meaningful figures: cargo build --release -p
# vendrome-cli), DURATION (10), CONNECTIONS (32), STEPS ("1 2 3").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/vendrome-cluster-bench}"
CLUSTER_PORT="${CLUSTER_PORT:-18180}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
STEPS="${STEPS:-1 2 3}"
export CLUSTER_DIR CLUSTER_PORT
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
trap '"$ROOT/scripts/cluster/down.sh" >/dev/null' EXIT
TICKS="$(getconf CLK_TCK)"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The machine's busy and total ticks, all cores together (from the first line of /proc/stat).
machine_ticks() { awk '/^cpu / { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print total - idle, total }' /proc/stat; }
base="http://127.0.0.1:$CLUSTER_PORT"

rows=()
for n in $STEPS; do
  INSTANCES="$n" "$ROOT/scripts/cluster/up.sh" >/dev/null
  token="$(curl -fsS "$base/v1/auth/register" -H 'content-type: application/json' \
    -d '{"email":"reader@example.com","password":"a benchmark passphrase","display_name":"Reader"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')"
  for i in $(seq 1 30); do
    curl -fsS "$base/v1/posts" -H 'content-type: application/json' -H "authorization: Bearer $token" \
      -d "{\"body\":\"benchmark post $i\"}" >/dev/null
  done
  # Warm every instance's cache (nginx goes round the instances).
  for _ in $(seq 1 $((n * 4))); do curl -fsS "$base/v1/feed" -H "authorization: Bearer $token" >/dev/null; done

  pids=()
  for i in $(seq 1 "$n"); do pids+=("$(cat "$CLUSTER_DIR/instance-$i.pid")"); done
  nginx_pids=($(pgrep -f "nginx: worker process" || true))
  before=(); for p in "${pids[@]}"; do before+=("$(cpu_ticks "$p")"); done
  nginx_before=0; for p in "${nginx_pids[@]}"; do nginx_before=$((nginx_before + $(cpu_ticks "$p"))); done
  read -r busy_before total_before < <(machine_ticks)
  out="$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "authorization: Bearer $token" "$base/v1/feed")"
  read -r busy_after total_after < <(machine_ticks)
  machine="$(awk -v b="$((busy_after - busy_before))" -v t="$((total_after - total_before))" -v n="$(nproc)" 'BEGIN { printf "%d%% of %d%%", 100 * n * b / t, 100 * n }')"
  cpus=""
  for k in "${!pids[@]}"; do
    used=$(( $(cpu_ticks "${pids[$k]}") - before[k] ))
    cpus+="$(awk -v t="$used" -v hz="$TICKS" -v d="$DURATION" 'BEGIN { printf "%d%%", 100 * t / hz / d }') "
  done
  nginx_after=0; for p in "${nginx_pids[@]}"; do nginx_after=$((nginx_after + $(cpu_ticks "$p"))); done
  nginx_cpu="$(awk -v t="$((nginx_after - nginx_before))" -v hz="$TICKS" -v d="$DURATION" 'BEGIN { printf "%d%%", 100 * t / hz / d }')"
  rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ { print $NF }' <<<"$out")"
  rows+=("| $n | $rps | $p50 | $p99 | ${non2xx:-0} | $cpus| $nginx_cpu | $machine |")
  "$ROOT/scripts/cluster/down.sh" >/dev/null
done

echo
echo "Feed reads through nginx ($(nproc) cores, ${DURATION}s per step, $CONNECTIONS connections, wrk on the same machine)"
echo
echo "| instances | reads/s | p50 | p99 | non-2xx | CPU per instance (100% = one core) | nginx CPU | machine busy (wrk, database and all) |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
