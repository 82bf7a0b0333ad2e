#!/usr/bin/env bash
# Writes .dev/keys.env once: the admin token, the access-token key pair and the SCIM token key of
# the local development stack. Never used outside development; production keys come from Secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -s .dev/keys.env ]; then
  exit 0
fi
mkdir -p .dev
chmod 700 .dev
bin=target/debug/control-plane
[ -x "$bin" ] || cargo build -q -p uapi-control-plane --bin control-plane
umask 077
"$bin" keygen > .dev/keys.env.tmp
mv .dev/keys.env.tmp .dev/keys.env
echo "wrote .dev/keys.env (dev-only secrets)"
