#!/usr/bin/env bash
# Installs the peers that scripts/bench-peers measures tailtape against, each at a pinned
# version, into ${PEERS_DIR:-~/.cache/tailtape-bench}: WireMock standalone (Maven Central, via
# mvn), mountebank, Prism and ajv-cli (npm), mitmproxy and check-jsonschema (PyPI, one venv
# each). Idempotent: what is there already is kept. Prints each version.
# Sourced by bench-peers (sets PEERS_DIR and the tools' paths) or run alone.
set -euo pipefail
PEERS_DIR=${PEERS_DIR:-$HOME/.cache/tailtape-bench}
WIREMOCK_VERSION=3.13.2
MOUNTEBANK_VERSION=2.9.1
PRISM_VERSION=5.16.0
AJV_CLI_VERSION=5.0.0
AJV_FORMATS_VERSION=3.0.1
MITMPROXY_SPEC='mitmproxy>=11,<12'
CHECK_JSONSCHEMA_VERSION=0.39.0
mkdir -p "$PEERS_DIR"

need() { command -v "$1" >/dev/null || { echo "bench-peers-setup needs $1 ($2)" >&2; exit 2; }; }
need java "apt-get install default-jre-headless"
need mvn "apt-get install maven"
need npm "apt-get install npm"
need python3 "apt-get install python3-venv"


WIREMOCK_JAR=$PEERS_DIR/wiremock/wiremock-standalone-$WIREMOCK_VERSION.jar
if [ ! -s "$WIREMOCK_JAR" ]; then
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="org.wiremock:wiremock-standalone:$WIREMOCK_VERSION" \
    -DoutputDirectory="$PEERS_DIR/wiremock" >&2
fi

NODE_DIR=$PEERS_DIR/node
want_node="mountebank@$MOUNTEBANK_VERSION @stoplight/prism-cli@$PRISM_VERSION ajv-cli@$AJV_CLI_VERSION ajv-formats@$AJV_FORMATS_VERSION"
if [ "$(cat "$NODE_DIR/.installed" 2>/dev/null)" != "$want_node" ]; then
  mkdir -p "$NODE_DIR"
  # shellcheck disable=SC2086
  npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" $want_node >&2
  echo "$want_node" > "$NODE_DIR/.installed"
fi
MB=$NODE_DIR/node_modules/.bin/mb
PRISM=$NODE_DIR/node_modules/.bin/prism
AJV=$NODE_DIR/node_modules/.bin/ajv

# venv NAME SPEC: a virtualenv of its own for one PyPI package.
venv() {
  local dir=$PEERS_DIR/$1
  if [ "$(cat "$dir/.installed" 2>/dev/null)" != "$2" ]; then
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q "$2" >&2
    echo "$2" > "$dir/.installed"
  fi
}
venv mitmproxy "$MITMPROXY_SPEC"
venv check-jsonschema "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
MITMDUMP=$PEERS_DIR/mitmproxy/bin/mitmdump
CHECK_JSONSCHEMA=$PEERS_DIR/check-jsonschema/bin/check-jsonschema

node_version() { node -p "require('$NODE_DIR/node_modules/$1/package.json').version"; }
PEER_VERSIONS="WireMock $WIREMOCK_VERSION (Java $(java -version 2>&1 | awk -F'"' '/version/ {print $2}'))
mountebank $(node_version mountebank) (Node $(node --version))
Prism $(node_version @stoplight/prism-cli)
ajv-cli $(node_version ajv-cli) (ajv $(node_version ajv), ajv-formats $(node_version ajv-formats))
mitmproxy $("$PEERS_DIR/mitmproxy/bin/python" -c 'import importlib.metadata as m; print(m.version("mitmproxy"))') (Python $("$PEERS_DIR/mitmproxy/bin/python" -c 'import platform; print(platform.python_version())'))
check-jsonschema $("$PEERS_DIR/check-jsonschema/bin/python" -c 'import importlib.metadata as m; print(m.version("check-jsonschema"))')
wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo 'not installed')"
echo "$PEER_VERSIONS" | sed 's/^/peer: /'
