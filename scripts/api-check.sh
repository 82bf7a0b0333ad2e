#!/usr/bin/env bash
# `make api-check`: every service's OpenAPI document against the running service. Starts the four
# services on their own ports, databases and queues, creates an application, a consumer and an
# Okta SCIM connection through the public APIs, pushes a user and a group through SCIM, then runs
# schemathesis (PyPI, installed on demand into .dev/schemathesis) against each /openapi.json with
# real tokens: no 5xx, and every response as its document describes it.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${API_CHECK_PG:-postgres://postgres@127.0.0.1:5432}
LOGS=.dev/api-check
BIN=target/debug
EXAMPLES=${API_CHECK_EXAMPLES:-50}
VENV=.dev/schemathesis

echo "==> building"
cargo build -q --bins
if [ ! -x "$VENV/bin/st" ]; then
  echo "==> installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi

# shellcheck source=scripts/lib/system.sh
. scripts/lib/system.sh
isolate apicheck
export UAPI_SCIM__PUBLIC_URL=http://127.0.0.1:19281
export UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true
SERVICES=(control-plane scim-ingress employee-store webhook-dispatcher)
declare -A PORTS=([control-plane]=19280 [scim-ingress]=19281 [employee-store]=19282 [webhook-dispatcher]=19283)
declare -A DBS=([control-plane]=uapi_apicheck_control_plane [scim-ingress]=uapi_apicheck_scim_ingress
  [employee-store]=uapi_apicheck_employee_store [webhook-dispatcher]=uapi_apicheck_webhook_dispatcher)
fresh_state
start_services

CP=http://127.0.0.1:${PORTS[control-plane]}
post() { curl -fsS -X POST -H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} -d "$3" "$CP$1"; }
app=$(post /admin/applications "$UAPI_ADMIN__TOKEN" '{"name":"api-check"}')
key=$(jq -r .apiKey <<<"$app")
app_token=$(post /api/auth "" "$(jq -c '{apiKey, applicationId, scope: "application"}' <<<"$app")" | jq -r .accessToken)
consumer=$(post /api/consumers "$app_token" '{"name":"api-check"}' | jq -r .id)
consumer_token=$(post /api/auth "" "{\"apiKey\":\"$key\",\"consumerId\":\"$consumer\",\"scope\":\"consumer\"}" | jq -r .accessToken)
connection=$(post /api/connections "$consumer_token" '{"serviceId":"okta-scim"}')
scim_base=$(jq -r .metadata.baseUrl <<<"$connection")
scim_token=$(jq -r .metadata.apiToken <<<"$connection")
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $scim_token" "$scim_base/Users?count=1")" = 200 ] && break
  sleep 0.1
done
# Something to read: a user and a group, and a subscription with a delivery.
scim_post() { curl -fsS -X POST -H 'Content-Type: application/scim+json' -H "Authorization: Bearer $scim_token" -d "$2" "$scim_base$1"; }
user=$(scim_post /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","type":"work","primary":true}],"active":true}' | jq -r .id)
scim_post /Groups "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Engineering\",\"members\":[{\"value\":\"$user\"}]}" >/dev/null
curl -fsS -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $app_token" \
  -d '{"deliveryUrl":"http://127.0.0.1:9/hook","events":["*"]}' "http://127.0.0.1:${PORTS[webhook-dispatcher]}/api/webhooks" >/dev/null

# Each run: a service, the token its routes take, and which of its routes (by path).
RUNS=(
  "control-plane|$UAPI_ADMIN__TOKEN|^/(admin/|api/auth|api/setup-links/)"
  "control-plane|$app_token|^/api/consumers"
  "control-plane|$consumer_token|^/api/connections"
  "scim-ingress|$scim_token|."
  "employee-store|$consumer_token|."
  "webhook-dispatcher|$app_token|."
)
rc=0
for run in "${RUNS[@]}"; do
  IFS='|' read -r svc token paths <<<"$run"
  echo "==> schemathesis: $svc $paths"
  log="$LOGS/schemathesis-$svc-$(tr -c 'a-z' '_' <<<"$paths").log"
  "$VENV/bin/st" run "http://127.0.0.1:${PORTS[$svc]}/openapi.json" \
    --url "http://127.0.0.1:${PORTS[$svc]}" \
    -H "Authorization: Bearer $token" \
    --include-path-regex "$paths" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$EXAMPLES" --seed 1 --no-color >"$log" 2>&1 || rc=1
  grep -E "^  [0-9]+ generated|^  ❌|Failures" "$log" || true
done
[ "$rc" = 0 ] && echo "api-check: every document holds against its service" || echo "api-check: failures, logs in $LOGS"
exit "$rc"
