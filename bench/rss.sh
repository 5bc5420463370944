#!/usr/bin/env bash
# bench/rss.sh: the resident memory of ovfinit's SSH server at each stage of
# its life, split into anonymous memory (heap, stacks) and file-backed pages
# (of the ovfinit binary), read from /proc/PID/status. Quick (well under a
# minute), for re-checking the issue's "RSS <= 10 MiB fresh" goal.
#
#   sudo bench/rss.sh
#
# Stages of `ovfinit sshd --listen 127.0.0.1:PORT --authorized-keys F`:
#   fresh            listening, RSA host key made, nobody logged in yet
#   login            right after one `ssh true` (before the idle trim)
#   login+idle       3 s later (past sshd.DefaultIdleDelay)
#   load             right after LOGINS logins, a STREAM_MB upload through
#                    cat and CONC_N concurrent sessions
#   load+idle        3 s later
# and, for information, `ovfinit run --root DIR --env FILE` (an offline root:
# nothing on this host is changed) at ready, then 3 s later.
#
# Environment: OVFINIT (a built binary; built from this tree, stripped, if
# unset), LOGINS (20), STREAM_MB (256), CONC_N (100), KEEP=1 keeps the work
# dir. Needs root (the server logs in root).
set -euo pipefail

LOGINS=${LOGINS:-20}
STREAM_MB=${STREAM_MB:-256}
CONC_N=${CONC_N:-100}
HERE=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench/rss.sh: run as root" >&2; exit 2; }

NAME=rss
# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"
SSHOPTS=(-F /dev/null -i "$WORK/client" -o IdentitiesOnly=yes -o BatchMode=yes
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

row() { # row PID STAGE
	awk -v stage="$2" '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} /^VmHWM/ {h=$2}
		END {printf "| %s | %.1f | %.1f | %.1f | %.1f |\n", stage, r/1024, a/1024, f/1024, h/1024}' "/proc/$1/status"
}
wait_listen() {
	for _ in $(seq 600); do
		ss -Hltn "sport = :$1" | grep -q . && return
		sleep 0.1
	done
	echo "bench/rss.sh: nothing listens on port $1" >&2
	exit 1
}
load() { # load PORT
	local i
	local -a kids=()
	for i in $(seq "$LOGINS"); do ssh "${SSHOPTS[@]}" -p "$1" root@127.0.0.1 true; done
	head -c $((STREAM_MB << 20)) /dev/zero | ssh "${SSHOPTS[@]}" -p "$1" root@127.0.0.1 'cat >/dev/null'
	for i in $(seq "$CONC_N"); do
		ssh "${SSHOPTS[@]}" -p "$1" root@127.0.0.1 'sleep 2' &
		kids+=($!)
	done
	wait "${kids[@]}" || true
}

echo "$("$OVFINIT" version 2>/dev/null | head -1), binary $(stat -c %s "$OVFINIT") bytes, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| stage | VmRSS MiB | RssAnon MiB | RssFile MiB | VmHWM MiB |"
echo "|---|---:|---:|---:|---:|"

PORT=$(free_port)
mkdir -p "$WORK/state"
# Startup limits raised so that CONC_N concurrent logins from 127.0.0.1 are
# not refused (10 per source by default).
"$OVFINIT" sshd --listen "127.0.0.1:$PORT" --authorized-keys "$WORK/authorized_keys" \
	--state-dir "$WORK/state" --log-level warn --max-startups 1000 --per-source-max-startups 1000 \
	>"$WORK/sshd.out" 2>"$WORK/sshd.log" &
PIDS+=($!)
PID=$!
wait_listen "$PORT"
for _ in $(seq 600); do
	grep -q 'END SSH HOST KEY FINGERPRINTS' "$WORK/sshd.out" && break
	sleep 0.1
done
sleep 3
row "$PID" "sshd fresh"
ssh "${SSHOPTS[@]}" -p "$PORT" root@127.0.0.1 true
row "$PID" "sshd after one login"
sleep 3
row "$PID" "sshd one login, 3 s idle"
load "$PORT"
row "$PID" "sshd after $LOGINS logins, $STREAM_MB MiB up, $CONC_N concurrent"
sleep 3
row "$PID" "sshd load, 3 s idle"

# ovfinit run on an offline root: the user and its key, the SSH server on a
# free port, no callback, no network or host name change on this host.
ROOT=$WORK/root
mkdir -p "$ROOT/etc"
for f in passwd group shadow gshadow; do
	[ ! -e "/etc/$f" ] || cp -p "/etc/$f" "$ROOT/etc/$f"
done
PORT=$(free_port)
"$OVFINIT" env make -o "$WORK/ovf-env.xml" --prop "ovfinit.ssh.port=$PORT" \
	--prop "instance-id=rss-bench" >/dev/null 2>"$WORK/env.log" ||
	{ echo "bench/rss.sh: env make failed:"; cat "$WORK/env.log"; exit 1; }
"$OVFINIT" run --root "$ROOT" --env "$WORK/ovf-env.xml" --log-file "" --log-level warn \
	>"$WORK/run.out" 2>"$WORK/run.log" &
PIDS+=($!)
PID=$!
if "$OVFINIT" status --root "$ROOT" --wait --timeout 2m >/dev/null 2>&1; then
	row "$PID" "run at ready"
	sleep 3
	row "$PID" "run at ready, 3 s later"
else
	echo "| run | did not reach ready: $(tail -3 "$WORK/run.log" | tr '\n' ' ') | | | |"
fi
