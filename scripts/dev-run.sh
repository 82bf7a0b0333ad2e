#!/usr/bin/env bash
# `make run`: the whole system on this machine's Postgres and RabbitMQ, in the foreground.
# Builds, creates each service's database and runs its migrations, starts every service with
# readable logs, prints the dev admin token and the next steps, and stops everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

# Services and their ports, in start order. Each binary supports `migrate` and `serve`.
SERVICES=(control-plane:8080 scim-ingress:8081 employee-store:8082 webhook-dispatcher:8083)
# The portal keeps no state: no database, nothing to migrate.
PORTAL=portal:8084

PG_HOST=${PG_HOST:-127.0.0.1} PG_PORT=${PG_PORT:-5432}
AMQP_HOST=${AMQP_HOST:-127.0.0.1} AMQP_PORT=${AMQP_PORT:-5672}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

ensure_dependencies() {
  local missing=()
  reachable "$PG_HOST" "$PG_PORT" || missing+=(postgres)
  reachable "$AMQP_HOST" "$AMQP_PORT" || missing+=(rabbitmq)
  [ ${#missing[@]} -eq 0 ] && return 0
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    say "starting ${missing[*]} with docker compose"
    if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
    scripts/dev-keys.sh
    "${compose[@]}" up -d "${missing[@]}"
    for _ in $(seq 1 60); do
      reachable "$PG_HOST" "$PG_PORT" && reachable "$AMQP_HOST" "$AMQP_PORT" && return 0
      sleep 1
    done
    echo "docker compose started ${missing[*]} but they are not reachable after 60 s" >&2
    exit 1
  fi
  {
    echo "error: not reachable: ${missing[*]} (and no Docker engine to start them)."
    echo "Start them, then run 'make run' again:"
    for m in "${missing[@]}"; do
      case $m in
        postgres) echo "  PostgreSQL on $PG_HOST:$PG_PORT (trust auth for user postgres):"
                  echo "    pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
                  echo "    # or: sudo systemctl start postgresql" ;;
        rabbitmq) echo "  RabbitMQ on $AMQP_HOST:$AMQP_PORT (guest/guest):"
                  echo "    rabbitmq-server -detached" 
                  echo "    # or: sudo systemctl start rabbitmq-server" ;;
      esac
    done
  } >&2
  exit 1
}

ensure_dependencies

say "building"
cargo build --workspace --bins

scripts/dev-keys.sh
set -a
# shellcheck disable=SC1091
. .dev/keys.env
set +a
export UAPI_TELEMETRY__LOG_FORMAT=${UAPI_TELEMETRY__LOG_FORMAT:-pretty}
# The local journey delivers webhooks to `uapi webhooks listen` on 127.0.0.1: allow loopback targets.
export UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS=${UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS:-true}
export RUST_LOG=${RUST_LOG:-info,actix_server=warn,lapin=warn}
# The portal's API Explorer calls every API from its page.
export UAPI_HTTP__CORS_ORIGINS=${UAPI_HTTP__CORS_ORIGINS:-http://127.0.0.1:8084}

for entry in "${SERVICES[@]}"; do
  name=${entry%%:*}
  say "migrating $name"
  "target/debug/$name" migrate
done

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

for entry in "${SERVICES[@]}" "$PORTAL"; do
  name=${entry%%:*}
  # Each line is prefixed with the service name; sed -u keeps the lines flowing as they come.
  # The prefixer ignores Ctrl-C so the services' own shutdown lines still get printed.
  "target/debug/$name" serve > >(trap '' INT; exec sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
done

for entry in "${SERVICES[@]}" "$PORTAL"; do
  name=${entry%%:*} port=${entry##*:}
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || { echo "$name did not become ready" >&2; exit 1; }
done

# A development application to sign in to the portal with: made on the first run, made again when
# the databases no longer know it.
DEV_APP=.dev/dev-application.env
dev_app_valid() {
  [ -f "$DEV_APP" ] || return 1
  # shellcheck disable=SC1090
  . "$DEV_APP"
  curl -fsS -X POST http://127.0.0.1:8080/api/auth -H 'Content-Type: application/json' \
    -d "{\"apiKey\":\"$DEV_API_KEY\",\"applicationId\":\"$DEV_APPLICATION_ID\",\"scope\":\"application\"}" >/dev/null 2>&1
}
if ! dev_app_valid; then
  created=$(curl -fsS -X POST http://127.0.0.1:8080/admin/applications -H "Authorization: Bearer $UAPI_ADMIN__TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"Development"}')
  id=$(sed -n 's/.*"applicationId":"\([^"]*\)".*/\1/p' <<<"$created")
  key=$(sed -n 's/.*"apiKey":"\([^"]*\)".*/\1/p' <<<"$created")
  (umask 077; printf 'DEV_APPLICATION_ID=%s\nDEV_API_KEY=%s\n' "$id" "$key" > "$DEV_APP")
  dev_app_valid || echo "warning: no development application (create one: uapi admin create-application)" >&2
fi

cat <<MSG

$(say "uapi-hris is running")

  Open the portal:  http://127.0.0.1:8084
  Sign in with      application id  $DEV_APPLICATION_ID
                    API key         $DEV_API_KEY
  (a development application, kept in $DEV_APP)

  portal          http://127.0.0.1:8084   (webhooks, consumers, Okta SCIM, employees, API Explorer)
  control-plane   http://127.0.0.1:8080   (admin API, /api/auth, consumers, connections)
  scim-ingress    http://127.0.0.1:8081   (SCIM 2.0 for Okta: /scim/v2)
  employee-store  http://127.0.0.1:8082   (/api/hris/employees)
  webhook-dispatcher http://127.0.0.1:8083 (/api/webhooks; loopback targets allowed)

  Dev admin token: $UAPI_ADMIN__TOKEN
  (stored in .dev/keys.env; 'make clean-dev' forgets it)

Or from a terminal, with the uapi CLI (README.md):
  export UAPI_ADMIN__TOKEN=$UAPI_ADMIN__TOKEN
  alias uapi=\$PWD/target/debug/uapi
  uapi admin create-application --name "Acme"
  uapi auth --application-id <applicationId> --api-key <apiKey>
  uapi webhooks create --url http://127.0.0.1:8090/    # prints the secret
  uapi webhooks listen --port 8090 --secret <secret>    # in a third terminal
  uapi consumers create --name "Globex"
  uapi connections create --consumer <consumerId>
  # provision a user with curl as Okta would (README.md): the listener prints employee.created, then:
  uapi employees list --consumer <consumerId>

Ctrl-C stops everything.
MSG

wait
