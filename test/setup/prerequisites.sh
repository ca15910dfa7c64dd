#!/usr/bin/env bash
# What the test suite needs from the machine: a Redis answering on REDIS_URL (default
# 127.0.0.1:6379) and Debian's redis-server, kubectl, prometheus-alertmanager, prometheus
# (for promtool, which checks the chart's alert rules) and chromium (the sandbox's browser test).
# Installs what is missing when it can (root with apt-get); otherwise says what to install.
set -euo pipefail

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
