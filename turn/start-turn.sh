#!/bin/sh
# Starts coturn with roomcast's configuration, its log on stdout.
#
#   TURN_SECRET=...        turn/start-turn.sh [extra turnserver options]
#   TURN_SECRET_FILE=/run/secrets/turn turn/start-turn.sh
#
# Environment:
#   TURN_SECRET / TURN_SECRET_FILE  the shared secret (exactly one of them; same value as the
#                                   roomcast server's). Never stored in a config file.
#   TURN_CONFIG                     config file (default: turn/turnserver.conf next to this script)
#   TURN_REALM                      overrides the config's realm
#   TURNSERVER_PATH                 turnserver binary (default: turnserver on PATH)
#
# The secret reaches coturn as --static-auth-secret, which other users of the same host can read
# in the process list: run coturn on a host (or container) of its own.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
config=${TURN_CONFIG:-"$here/turnserver.conf"}
turnserver=${TURNSERVER_PATH:-turnserver}

fail() {
  echo "start-turn: $*" >&2
  exit 2
}

secret=${TURN_SECRET:-}
secret_file=${TURN_SECRET_FILE:-}
if [ -n "$secret" ] && [ -n "$secret_file" ]; then
  fail "set TURN_SECRET or TURN_SECRET_FILE, not both"
fi
if [ -n "$secret_file" ]; then
  [ -r "$secret_file" ] || fail "cannot read TURN_SECRET_FILE ($secret_file)"
  # Surrounding whitespace (the trailing newline) is ignored, as the roomcast server does.
  secret=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -- "$secret_file" | grep -v '^$' || true)
fi
[ -n "$secret" ] || fail "TURN_SECRET or TURN_SECRET_FILE is required (use-auth-secret)"
case $secret in
  *[[:space:]]*) fail "the TURN secret must not contain whitespace" ;;
esac
[ "${#secret}" -ge 16 ] || fail "the TURN secret must be at least 16 characters"
[ -r "$config" ] || fail "cannot read config file $config"
command -v "$turnserver" >/dev/null 2>&1 || fail "turnserver not found (apt-get install coturn)"

set -- -c "$config" --log-file stdout --static-auth-secret "$secret" "$@"
if [ -n "${TURN_REALM:-}" ]; then
  set -- "$@" --realm "$TURN_REALM"
fi
unset TURN_SECRET secret
exec "$turnserver" "$@"
