#!/usr/bin/env bash
# Installs the client generators and schemathesis at pinned versions into
# target/sdk-tools (the SDK tests find them there; nothing is installed globally).
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="${LEADFLOW_SDK_TOOLS:-$PWD/target/sdk-tools}"
mkdir -p "$TOOLS"

if [ ! -x "$TOOLS/venv/bin/schemathesis" ] || [ ! -x "$TOOLS/venv/bin/openapi-python-client" ]; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
    "openapi-python-client==0.29.1" "python-dateutil==2.9.0.post0" "schemathesis==4.32.5"
fi

if [ ! -x "$TOOLS/node/node_modules/.bin/openapi-typescript" ] || [ ! -x "$TOOLS/node/node_modules/.bin/tsc" ]; then
  mkdir -p "$TOOLS/node"
  cp tests/sdk/typescript/package.json "$TOOLS/node/package.json"
  (cd "$TOOLS/node" && npm install --silent --no-audit --no-fund)
fi
echo "SDK tools in $TOOLS"
