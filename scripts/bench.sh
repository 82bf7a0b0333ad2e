#!/usr/bin/env bash
# `make bench`: builds release binaries, starts control-plane, scim-ingress, employee-store,
# webhook-dispatcher (its API role; uapi-bench starts and stops the worker processes itself) and the portal on
# bench ports with fresh databases and bench-only queue names (so a running `make run` is not
# disturbed), runs uapi-bench against them, prints the figures and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
RATE=${BENCH_RATE:-1000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
LOGS=.dev/bench

echo "==> building release binaries"
cargo build --release --bins -q
# BENCH_BIN: a folder of another build's release binaries (another commit's, built in a worktree
# of it with `cargo build --release --bins --target-dir <dir>`) whose services this run measures,
# with this tree's uapi-bench: two runs, one per folder, compare builds on the same box
# (docs/performance.md, "Comparing two builds").
BIN=${BENCH_BIN:-target/release}

# shellcheck source=scripts/lib/system.sh
. scripts/lib/system.sh
isolate bench
export UAPI_SCIM__PUBLIC_URL=http://127.0.0.1:18081

SERVICES=(control-plane scim-ingress employee-store webhook-dispatcher)
declare -A PORTS=([control-plane]=18080 [scim-ingress]=18081 [employee-store]=18082 [webhook-dispatcher]=18083)
declare -A DBS=([control-plane]=uapi_bench_control_plane [scim-ingress]=uapi_bench_scim_ingress
  [employee-store]=uapi_bench_employee_store [webhook-dispatcher]=uapi_bench_webhook_dispatcher)
# The dispatcher serves its API for the whole run; uapi-bench runs its workers (own queue, loopback sink).
export UAPI_DISPATCHER__ROLE=api
# The bench's webhook sink listens on 127.0.0.1.
export UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true

fresh_state
start_services
# The portal: no database; its pages call the bench's APIs.
UAPI_HTTP__PORT=18084 UAPI_SERVICES__CONTROL_PLANE=http://127.0.0.1:18080 UAPI_SERVICES__SCIM_INGRESS=http://127.0.0.1:18081 \
  UAPI_SERVICES__EMPLOYEE_STORE=http://127.0.0.1:18082 UAPI_SERVICES__WEBHOOK_DISPATCHER=http://127.0.0.1:18083 \
  "$BIN/portal" serve >"$LOGS/portal.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do curl -fsS http://127.0.0.1:18084/readyz >/dev/null 2>&1 && break; sleep 0.5; done

echo "==> machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); everything on this box; binaries: $BIN"
target/release/uapi-bench --dispatcher-bin "$BIN/webhook-dispatcher" --control-plane http://127.0.0.1:18080 --employee-store http://127.0.0.1:18082 \
  --dispatcher http://127.0.0.1:18083 --dispatcher-db "$PG/${DBS[webhook-dispatcher]}" \
  --dispatcher-queue bench.webhook-dispatcher.events --portal http://127.0.0.1:18084 \
  --connections "$CONNECTIONS" --seconds "$SECONDS_PER_RUN" --rate "$RATE" "$@"
