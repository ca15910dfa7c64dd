#!/bin/sh
# azora-chatops restore: the guide's `psql -U azora < backup-YYYYMMDD.sql` then
# `SELECT COUNT(*) FROM users;`, as a Kubernetes Job the bot creates from the policy's
# template (src/backups/domain/job.ts) in the postgres image. POSIX sh, coreutils and the
# PostgreSQL client tools only.
#
# In (the Job's environment): PGHOST, PGPORT, PGDATABASE, PGUSER (default azora),
# PGPASSWORD (from a Secret, optional; never printed), BACKUP_DIR (default /backups),
# BACKUP_ID (the backup to restore), VERIFY_QUERY (default SELECT COUNT(*) FROM users;).
#
# Out: progress lines, then the last lines the bot reads (parseScriptReport):
#   azora-verify: <first field of the first row of VERIFY_QUERY>
#   azora-restore: ok file=<path>                   exit 0
#   azora-restore: failed <reason>                  exit 1
#
# Nothing is touched unless BACKUP_ID is a backup id and its dump is there and complete.
# The dump (backup.sh: pg_dump --clean --if-exists) is replayed with ON_ERROR_STOP in a
# single transaction: it replaces the database's objects all at once, or not at all.
set -euf # no pathname expansion: nothing here globs, and file names are data

PGUSER=${PGUSER:-azora}
PGDATABASE=${PGDATABASE:-$PGUSER}
export PGUSER PGDATABASE
dir=${BACKUP_DIR:-/backups}
id=${BACKUP_ID:-}
query=${VERIFY_QUERY:-SELECT COUNT(*) FROM users;}

say() { printf 'azora-restore: %s\n' "$*"; }

step='starting'
errors=''
out=''
child=''
finished=0
interrupted=''

# The line a failure ends with: the step, and psql's own error when it gave one.
finish() {
  trap - EXIT INT TERM HUP
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; fi
  detail=''
  if [ -n "$interrupted" ]; then
    detail="interrupted by SIG$interrupted"
  elif [ "$finished" != 1 ] && [ -n "$errors" ] && [ -s "$errors" ]; then
    cat "$errors" >&2
    detail=$(grep -m 1 -e 'ERROR:' -e 'error:' "$errors" || tail -n 1 "$errors")
    # One line the bot can post: psql's `psql:<file>:<line>: ` becomes `line <line>: `.
    detail=$(printf '%s' "$detail" | tr -d '\r' | tr '\n\t' '  ' | tr -s ' ' |
      sed 's/^psql:.*:\([0-9][0-9]*\): /line \1: /' | cut -c 1-160)
  fi
  if [ -n "$errors" ]; then rm -f "$errors"; fi
  if [ -n "$out" ]; then rm -f "$out"; fi
  if [ "$finished" != 1 ]; then
    say "failed $step${detail:+: $detail}"
    exit 1
  fi
}
trap finish EXIT
# A signal (SIGTERM: the Job's deadline, or its deletion) ends the run through the trap.
for signal in INT TERM HUP; do
  trap "interrupted=$signal; exit 143" "$signal"
done

# Runs one client command in the background (so a TERM reaches the trap at once), its
# errors kept for the failed line.
run() {
  "$@" 2>"$errors" &
  child=$!
  code=0
  wait "$child" || code=$?
  child=''
  return "$code"
}

d='[0-9]'
h='[0-9a-f]'
case $id in
azora-backup-staging-$d$d$d$d$d$d$d$d-$d$d$d$d-$h$h$h$h) ;;
azora-backup-production-$d$d$d$d$d$d$d$d-$d$d$d$d-$h$h$h$h) ;;
*)
  finished=1
  say "failed BACKUP_ID is not a backup id (azora-backup-<staging|production>-<yyyymmdd>-<hhmm>-<4 hex>)"
  exit 1
  ;;
esac

file=$dir/$id.sql
if [ ! -f "$file" ] || [ ! -r "$file" ]; then
  finished=1
  say "failed no backup $id: $file does not exist"
  exit 1
fi
if ! tail -n 20 "$file" | grep -q '^-- PostgreSQL database dump complete'; then
  finished=1
  say "failed $file has no end-of-dump marker: not a complete pg_dump"
  exit 1
fi
bytes=$(wc -c <"$file" | tr -d ' ')
step='making a temporary file'
# psql's messages and the verify query's answer, in /tmp (the dumps' volume may be read-only).
errors=$(mktemp "${TMPDIR:-/tmp}/azora-restore.XXXXXX")

step="restoring $file into $PGDATABASE on ${PGHOST:-local socket}:${PGPORT:-5432} as $PGUSER"
say "$step ($bytes bytes, one transaction)"
run psql --no-password --no-psqlrc --quiet --set ON_ERROR_STOP=1 --single-transaction \
  --output=/dev/null --file="$file"
say "restored $file"

step="restored $file; verifying"
say "verifying: $query"
sep=$(printf '\037')
out=$(mktemp "${TMPDIR:-/tmp}/azora-verify.XXXXXX")
if ! run psql --no-password --no-psqlrc --set ON_ERROR_STOP=1 --tuples-only --no-align \
  --field-separator="$sep" --command="$query" >"$out"; then
  step="restored $file, but the verify query failed"
  exit 1
fi
# The first field of the first row, on one line, as long as the bot reads it.
first=$(head -n 1 "$out" | cut -d "$sep" -f 1 | tr -d '\r' | cut -c 1-100)
rows=$(wc -l <"$out" | tr -d ' ')
if [ "$rows" = 0 ]; then first='(no rows)'; elif [ -z "$first" ]; then first='(empty)'; fi

finished=1
printf 'azora-verify: %s\n' "$first"
say "ok file=$file"
