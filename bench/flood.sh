#!/usr/bin/env bash
# bench/flood.sh: what a client can make ovfinit's SSH server hold (issue 13):
# the server's RSS after N_ENV "env" requests of 16 KiB in one session, and the
# connections it keeps open for N_IDLE idle unauthenticated sockets, from one
# source address and from 50.
#
#   sudo bench/flood.sh
#
# Environment: OVFINIT (a built binary; built from this tree, stripped, if
# unset), N_ENV (20000), N_IDLE (5000), KEEP=1 keeps the work dir. Needs root
# (the server logs in root) and `ulimit -n` above N_IDLE + 100.
set -euo pipefail

N_ENV=${N_ENV:-20000}
N_IDLE=${N_IDLE:-5000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench/flood.sh: run as root" >&2; exit 2; }
FDS=$((N_IDLE * 2 + 200))
[ "$FDS" -ge 4096 ] || FDS=4096
ulimit -n "$FDS" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

NAME=flood
# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"
(cd "$HERE" && go build -o "$WORK/sshflood" ./bench/sshflood)

start_server() { # start_server: sets PORT and PID
	PORT=$(free_port)
	mkdir -p "$WORK/state"
	"$OVFINIT" sshd --listen "127.0.0.1:$PORT" --authorized-keys "$WORK/authorized_keys" \
		--state-dir "$WORK/state" --log-level warn >"$WORK/sshd.out" 2>>"$WORK/sshd.log" &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 600); do
		ss -Hltn "sport = :$PORT" | grep -q . && break
		sleep 0.1
	done
	sleep 2
}

echo "$("$OVFINIT" version 2>/dev/null | head -1)"
start_server
echo "## $N_ENV env requests of 16 KiB in one session"
"$WORK/sshflood" -mode env -addr "127.0.0.1:$PORT" -key "$WORK/client" -pid "$PID" -n "$N_ENV"
kill "$PID"
wait "$PID" 2>/dev/null || true

for sources in 1 50; do
	start_server
	echo "## $N_IDLE idle unauthenticated connections from $sources address(es)"
	"$WORK/sshflood" -mode idle -addr "127.0.0.1:$PORT" -pid "$PID" -n "$N_IDLE" -sources "$sources"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
done
