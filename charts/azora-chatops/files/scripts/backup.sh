#!/bin/sh
# azora-chatops backup: the guide's `pg_dump -U azora > backup.sql`, as a Kubernetes Job
# the bot creates from the policy's template (src/backups/domain/job.ts) in the postgres
# image. POSIX sh, coreutils and the PostgreSQL client tools only.
#
# In (the Job's environment): PGHOST, PGPORT, PGDATABASE, PGUSER (default azora),
# PGPASSWORD (from a Secret, optional; never printed), BACKUP_DIR (default /backups, a
# PersistentVolumeClaim), BACKUP_ID (azora-backup-<env>-<yyyymmdd>-<hhmm>-<4 hex>),
# BACKUP_KEEP (default 30).
#
# Out: progress lines, then the last line the bot reads (parseScriptReport):
#   azora-backup: ok file=<path> bytes=<n>          exit 0
#   azora-backup: failed <reason>                   exit 1
#
# The dump is plain SQL made with --clean --if-exists, so restore.sh can replay it over the
# existing database in one transaction. It is written to a hidden temporary file on the same
# volume, checked for pg_dump's end-of-dump marker, synced, then renamed into place: a file
# named <BACKUP_ID>.sql is always a complete dump. Then only the newest BACKUP_KEEP dumps of
# the environment are kept (by name, which sorts by time).
set -euf # no pathname expansion: nothing here globs, and file names are data

PGUSER=${PGUSER:-azora}
PGDATABASE=${PGDATABASE:-$PGUSER}
export PGUSER PGDATABASE
dir=${BACKUP_DIR:-/backups}
keep=${BACKUP_KEEP:-30}
id=${BACKUP_ID:-}

say() { printf 'azora-backup: %s\n' "$*"; }

step='starting'
tmp=''
errors=''
child=''
finished=0
interrupted=''

# The line a failure ends with: the step, and pg_dump's own error when it gave one.
finish() {
  trap - EXIT INT TERM HUP
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; fi
  if [ -n "$tmp" ]; then rm -f "$tmp"; fi
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

# Runs one client command in the background (so a TERM, the Job's deadline, reaches the
# trap at once rather than after it), its errors kept for the failed line.
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
is_backup_id() {
  case $1 in
  azora-backup-staging-$d$d$d$d$d$d$d$d-$d$d$d$d-$h$h$h$h) return 0 ;;
  azora-backup-production-$d$d$d$d$d$d$d$d-$d$d$d$d-$h$h$h$h) return 0 ;;
  *) return 1 ;;
  esac
}

step='checking its input'
if ! is_backup_id "$id"; then
  finished=1
  say "failed BACKUP_ID is not a backup id (azora-backup-<staging|production>-<yyyymmdd>-<hhmm>-<4 hex>)"
  exit 1
fi
case $keep in
'' | *[!0-9]* | 0 | 0*)
  finished=1
  say "failed BACKUP_KEEP must be a whole number of at least 1"
  exit 1
  ;;
esac
if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
  finished=1
  say "failed $dir is not a writable directory (the backups volume)"
  exit 1
fi

file=$dir/$id.sql
if [ -e "$file" ]; then
  finished=1
  say "failed $file exists already: a backup id is made once"
  exit 1
fi
tmp=$dir/.$id.sql.partial
step='making a temporary file'
# pg_dump's messages, for the failed line; on the volume if /tmp is read-only.
errors=$(mktemp "${TMPDIR:-/tmp}/azora-backup.XXXXXX" 2>/dev/null || mktemp "$dir/.azora-backup-errors.XXXXXX")

step="dumping $PGDATABASE on ${PGHOST:-local socket}:${PGPORT:-5432} as $PGUSER"
say "$step into $file"
run pg_dump --no-password --clean --if-exists --format=plain --file="$tmp"

step='checking the dump'
if ! tail -n 20 "$tmp" | grep -q '^-- PostgreSQL database dump complete'; then
  step='checking the dump: it has no end-of-dump marker, pg_dump stopped early'
  exit 1
fi
sync "$tmp"
mv "$tmp" "$file"
tmp=''
bytes=$(wc -c <"$file" | tr -d ' ')
say "wrote $file ($bytes bytes)"

step='pruning old backups'
environment=${id#azora-backup-}
environment=${environment%%-*}
# The guide's retention is BACKUP_KEEP days: a dump goes once it is older than that (by the
# time in its name, UTC) and not among the newest BACKUP_KEEP, so a day of many backups
# never pushes out the days before it. Newest first by name (the name sorts by time); the
# one just made is never removed.
cutoff=$(date -u -d "@$(($(date -u +%s) - keep * 86400))" +%Y%m%d%H%M)
kept=0
for old in $(ls -1 "$dir" | LC_ALL=C sort -r); do
  name=${old%.sql}
  [ "$old" = "$name.sql" ] && is_backup_id "$name" || continue
  case $name in azora-backup-$environment-*) ;; *) continue ;; esac
  # yyyymmdd-hhmm-salt → yyyymmddhhmm, compared as a number.
  taken=${name#azora-backup-"$environment"-}
  taken=${taken%-*}
  taken=${taken%-*}${taken#*-}
  if [ "$name" = "$id" ] || [ "$kept" -lt "$keep" ] || [ "$taken" -ge "$cutoff" ]; then
    kept=$((kept + 1))
    continue
  fi
  rm -f "$dir/$old"
  say "removed $dir/$old (older than $keep days, and not among the newest $keep)"
done
# Leftovers of runs that were killed (SIGKILL leaves no trap to clean up), after a day.
find "$dir" -maxdepth 1 -name '.azora-backup-*.sql.partial' -mmin +1440 -exec rm -f {} + 2>/dev/null || true

finished=1
say "ok file=$file bytes=$bytes"
