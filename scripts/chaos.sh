#!/usr/bin/env bash
# `make chaos`: the fault campaign (docs/reliability.md). Fresh databases and queues named chaos.*,
# then uapi-bench --chaos starts every service itself from the debug binaries, drives steady SCIM
# traffic and, in turn, restarts RabbitMQ, restarts Postgres, SIGKILLs and restarts each service and
# scales dispatcher workers 1 → 3 → 1; it prints one table and fails if anything acknowledged was
# lost. It restarts the local Postgres and RabbitMQ: run it alone, never beside the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${CHAOS_PG:-postgres://postgres@127.0.0.1:5432}
LOGS=.dev/chaos
BIN=target/debug

echo "==> building"
cargo build -q --bins

# shellcheck source=scripts/lib/system.sh
. scripts/lib/system.sh
isolate chaos
export UAPI_SCIM__PUBLIC_URL=http://127.0.0.1:19181
# The services log at warn: the table is what the run is for.
SERVICES=(control-plane scim-ingress employee-store webhook-dispatcher)
declare -A DBS=([control-plane]=uapi_chaos_control_plane [scim-ingress]=uapi_chaos_scim_ingress
  [employee-store]=uapi_chaos_employee_store [webhook-dispatcher]=uapi_chaos_webhook_dispatcher)
rm -f "$LOGS"/*.log
fresh_state

"$BIN/uapi-bench" --chaos --bin-dir "$BIN" --pg "$PG"
