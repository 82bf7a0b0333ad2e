# Starts services of this workspace on their own ports, databases and queues, for scripts that
# measure or check a running system (bench.sh, conformance.sh), and stops them on exit.
# The caller sets, then calls the functions in order:
#   SERVICES=(name …)   PORTS[name]=port   DBS[name]=database   LOGS=dir   PG=postgres://…   BIN=target/…
# and calls `isolate PREFIX` first. fresh_state deletes the run's durable queues with their DLQs (a
# queue left by an earlier run would collect this run's events before its consumer starts).

# The dev keys (admin token, access-token key pair, SCIM token key), quiet logs, and an exchange and
# queues named after $1 (e.g. bench.events), so a running `make run` is not disturbed.
isolate() {
  scripts/dev-keys.sh >/dev/null
  set -a
  # shellcheck disable=SC1091
  . .dev/keys.env
  set +a
  export UAPI_TELEMETRY__LOG_FORMAT=json UAPI_TELEMETRY__LOG_FILTER=warn RUST_LOG=warn
  export UAPI_AMQP__EXCHANGE=$1.events
  export UAPI_OUTBOX__CONNECTION_EVENTS_QUEUE=$1.scim-ingress.connections
  export UAPI_CONNECTIONS__QUEUE=$1.scim-ingress.connections
  export UAPI_CONSUMER__QUEUE=$1.employee-store.events
  export UAPI_OUTBOX__CONSUMER_QUEUES=$1.employee-store.events,$1.webhook-dispatcher.events
  QUEUES=("$1.scim-ingress.connections" "$1.employee-store.events" "$1.webhook-dispatcher.events")
}

pids=()
stop_services() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_services EXIT INT TERM

# Fresh queues (rabbitmqctl only where the broker runs locally; otherwise skipped) and databases,
# migrated by each service's own `migrate`.
fresh_state() {
  mkdir -p "$LOGS"
  if command -v rabbitmqctl >/dev/null; then
    for q in "${QUEUES[@]}"; do
      rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
      rabbitmqctl -q delete_queue "$q.dlq" >/dev/null 2>&1 || true
    done
  fi
  for svc in "${SERVICES[@]}"; do
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS ${DBS[$svc]} WITH (FORCE)" >/dev/null 2>&1
    UAPI_DATABASE__URL="$PG/${DBS[$svc]}" "$BIN/$svc" migrate >"$LOGS/$svc-migrate.log" 2>&1
  done
}

# Starts every service in the background and waits (up to 30 s each) until it reports ready.
start_services() {
  for svc in "${SERVICES[@]}"; do
    UAPI_DATABASE__URL="$PG/${DBS[$svc]}" UAPI_HTTP__PORT=${PORTS[$svc]} "$BIN/$svc" serve >"$LOGS/$svc.log" 2>&1 &
    pids+=($!)
  done
  for svc in "${SERVICES[@]}"; do
    local ready=
    for _ in $(seq 1 60); do
      curl -fsS "http://127.0.0.1:${PORTS[$svc]}/readyz" >/dev/null 2>&1 && { ready=1; break; }
      sleep 0.5
    done
    [ -n "$ready" ] || { echo "$svc did not become ready; its log: $LOGS/$svc.log" >&2; tail -20 "$LOGS/$svc.log" >&2; return 1; }
  done
}
