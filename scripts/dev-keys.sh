#!/usr/bin/env bash
# Writes .dev/keys.env once: the admin token, the access-token key pair, the SCIM token key and
# the webhook secrets' key ring of the local development stack (a file without the key ring gets
# it added). Never used outside development; production keys come from Secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .dev
chmod 700 .dev
umask 077
if [ ! -s .dev/keys.env ]; then
  bin=target/debug/control-plane
  [ -x "$bin" ] || cargo build -q -p uapi-control-plane --bin control-plane
  "$bin" keygen > .dev/keys.env.tmp
  mv .dev/keys.env.tmp .dev/keys.env
  echo "wrote .dev/keys.env (dev-only secrets)"
fi
if ! grep -q '^UAPI_SECRETS__KEYS=' .dev/keys.env; then
  bin=target/debug/webhook-dispatcher
  [ -x "$bin" ] || cargo build -q -p uapi-webhook-dispatcher --bin webhook-dispatcher
  "$bin" keygen >> .dev/keys.env
  echo "added the webhook secrets' key ring to .dev/keys.env"
fi
