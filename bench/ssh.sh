#!/usr/bin/env bash
# bench/ssh.sh: ovfinit's embedded SSH server against OpenSSH's sshd, side by
# side in one interleaved run (A B A B ...), both on 127.0.0.1 with the same
# OpenSSH client, the same ed25519 client key and ed25519 host keys.
#
#   sudo bench/ssh.sh                 # 5 rounds, 1 GiB streams, 512 MiB SFTP
#   ROUNDS=7 SIZE_MB=256 SFTP_MB=128 bench/ssh.sh
#
# Needs root (both servers log in root, as they would log in users on a VM)
# and installs openssh-server with apt if /usr/sbin/sshd is missing, with
# service start-up blocked by policy-rc.d: the host's own sshd service is
# never started, stopped or reconfigured. OpenSSH's sshd runs from its own
# config file in a temporary directory on its own port.
#
# Environment: ROUNDS (5), SIZE_MB (1024), SFTP_MB (512), TRUE_N (200),
# CONC_N (100), OVFINIT (path of a built binary; built from this tree if
# unset), GOGC / GOMEMLIMIT (passed to ovfinit), KEEP=1 keeps the work dir.
#
# Output: one line per measurement in $WORK/raw.tsv, then a table of
# medians and of the median of per-round ratios (ovfinit / OpenSSH).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
SIZE_MB=${SIZE_MB:-1024}
SFTP_MB=${SFTP_MB:-512}
TRUE_N=${TRUE_N:-200}
CONC_N=${CONC_N:-100}
HERE=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "bench/ssh.sh: run as root" >&2; exit 2; }

if [ ! -x /usr/sbin/sshd ]; then
	echo "installing openssh-server (service start-up blocked)..." >&2
	added_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		added_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >/dev/null
	[ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

NAME=ssh
# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key"
head -c $((SFTP_MB << 20)) /dev/urandom >"$WORK/sftp.src"

# OpenSSH's sshd: Debian's defaults where they matter (external sftp-server,
# its default ciphers), limits raised so 100 concurrent logins are not
# dropped by MaxStartups.
PORT_A=$(free_port)
mkdir -p /run/sshd
cat >"$WORK/sshd_config" <<EOF
Port $PORT_A
ListenAddress 127.0.0.1
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 1000
MaxSessions 1000
LogLevel ERROR
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
/usr/sbin/sshd -D -f "$WORK/sshd_config" -E "$WORK/sshd.log" &
PIDS+=($!)
PID_A=$!

# ovfinit: the default cipher list (no chacha20), and a second instance with
# chacha20-poly1305 offered, for the row that asks for it; startup limits
# raised as for OpenSSH above.
PORT_B=$(free_port)
mkdir -p "$WORK/state"
cp "$WORK/ssh_host_ed25519_key" "$WORK/state/"
"$OVFINIT" sshd --listen 127.0.0.1:$PORT_B --authorized-keys "$WORK/authorized_keys" \
	--state-dir "$WORK/state" --log-level warn --max-startups 1000 --per-source-max-startups 1000 \
	>"$WORK/ovfinit.out" 2>"$WORK/ovfinit.log" &
PIDS+=($!)
PID_B=$!
PORT_C=$(free_port)
"$OVFINIT" sshd --listen 127.0.0.1:$PORT_C --authorized-keys "$WORK/authorized_keys" \
	--state-dir "$WORK/state" --log-level warn --max-startups 1000 --per-source-max-startups 1000 \
	--ciphers chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr \
	>/dev/null 2>"$WORK/ovfinit-chacha.log" &
PIDS+=($!)
PID_C=$!

SSHOPTS=(-F /dev/null -i "$WORK/client" -o IdentitiesOnly=yes -o BatchMode=yes
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
	-o HostKeyAlgorithms=ssh-ed25519)

# Fresh RSS: both servers listening, nobody logged in yet, ovfinit's RSA
# host key made (the fingerprint block is printed then) and its idle trim
# done (sshd.DefaultIdleDelay, 2 s, after Serve).
for p in $PORT_A $PORT_B; do
	for _ in $(seq 300); do
		ss -Hltn "sport = :$p" | grep -q . && break
		sleep 0.1
	done
done
for _ in $(seq 600); do
	grep -q 'END SSH HOST KEY FINGERPRINTS' "$WORK/ovfinit.out" && break
	sleep 0.1
done
sleep 3
rss_parts() { awk '/^(RssAnon|RssFile)/ {printf "%s %s KiB ", $1, $2}' "/proc/$1/status"; }
echo "fresh RSS: sshd $(awk '/^VmRSS/ {print $2}' /proc/$PID_A/status) KiB, ovfinit $(awk '/^VmRSS/ {print $2}' /proc/$PID_B/status) KiB ($(rss_parts $PID_B))" >&2
FRESH_A=$(awk '/^VmRSS/ {print $2}' /proc/$PID_A/status)
FRESH_B=$(awk '/^VmRSS/ {print $2}' /proc/$PID_B/status)

for p in $PORT_A $PORT_B $PORT_C; do
	for _ in $(seq 100); do
		ssh "${SSHOPTS[@]}" -p "$p" root@127.0.0.1 true 2>/dev/null && break
		sleep 0.1
	done
done

now() { date +%s.%N; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# cpu_s PID: user+system seconds of PID and its reaped children.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15+$16+$17)/hz}' "/proc/$1/stat"; }
# tree_rss_kib PID: RSS of PID and its descendants named like it (sshd's
# per-connection processes; not the users' commands).
tree_rss_kib() {
	local name
	name=$(cat "/proc/$1/comm")
	ps -e -o pid=,ppid=,comm=,rss= | awk -v root="$1" -v name="$name" '
		{ parent[$1]=$2; comm[$1]=$3; rss[$1]=$4 }
		END { for (p in parent) { q=p; while (q != "" && q != 1 && q != 0) { if (q == root) { if (comm[p] == name) s += rss[p]; break } q = parent[q] } } print s+0 }'
}

# reaped PID: wait until PID has no child processes left, so the CPU time of
# sshd's per-connection processes is in its cutime/cstime.
reaped() {
	for _ in $(seq 100); do
		[ -z "$(pgrep -P "$1")" ] && return
		sleep 0.05
	done
}

RAW=$WORK/raw.tsv
: >"$RAW"
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; } # round server metric value

rec 0 openssh rss_fresh_kib "$FRESH_A"
rec 0 ovfinit rss_fresh_kib "$FRESH_B"

# stream ROUND SERVER PORT PID LABEL SSH_ARGS...: upload and download SIZE_MB
# through cat, and the server's CPU seconds per GiB each way.
stream() {
	local r=$1 srv=$2 port=$3 pid=$4 label=$5
	shift 5
	local t0 t1 c0 c1
	c0=$(cpu_s "$pid")
	t0=$(now)
	head -c $((SIZE_MB << 20)) /dev/zero | ssh "${SSHOPTS[@]}" "$@" -p "$port" root@127.0.0.1 'cat >/dev/null'
	t1=$(now)
	reaped "$pid"
	c1=$(cpu_s "$pid")
	rec "$r" "$srv" "up_${label}_MBps" "$(echo "$SIZE_MB / ($t1 - $t0)" | bc -l)"
	rec "$r" "$srv" "cpu_per_GiB_up_${label}" "$(echo "($c1 - $c0) * 1024 / $SIZE_MB" | bc -l)"
	c0=$c1
	t0=$(now)
	ssh "${SSHOPTS[@]}" "$@" -p "$port" root@127.0.0.1 "head -c $((SIZE_MB << 20)) /dev/zero" >/dev/null
	t1=$(now)
	reaped "$pid"
	c1=$(cpu_s "$pid")
	rec "$r" "$srv" "down_${label}_MBps" "$(echo "$SIZE_MB / ($t1 - $t0)" | bc -l)"
	rec "$r" "$srv" "cpu_per_GiB_down_${label}" "$(echo "($c1 - $c0) * 1024 / $SIZE_MB" | bc -l)"
}

sftp_bench() {
	local r=$1 srv=$2 port=$3 t0 t1
	rm -f "$WORK/sftp.back"
	t0=$(now)
	echo "put $WORK/sftp.src $WORK/sftp.dst.$srv" | sftp "${SSHOPTS[@]}" -P "$port" -b - root@127.0.0.1 >/dev/null
	t1=$(now)
	rec "$r" "$srv" sftp_put_MBps "$(echo "$SFTP_MB / ($t1 - $t0)" | bc -l)"
	t0=$(now)
	echo "get $WORK/sftp.dst.$srv $WORK/sftp.back" | sftp "${SSHOPTS[@]}" -P "$port" -b - root@127.0.0.1 >/dev/null
	t1=$(now)
	rec "$r" "$srv" sftp_get_MBps "$(echo "$SFTP_MB / ($t1 - $t0)" | bc -l)"
	cmp -s "$WORK/sftp.src" "$WORK/sftp.back" || { echo "sftp round trip through $srv corrupted the file" >&2; exit 1; }
	rm -f "$WORK/sftp.dst.$srv" "$WORK/sftp.back"
}

true_bench() {
	local r=$1 srv=$2 port=$3 t0 t1 i
	: >"$WORK/true.$srv"
	for i in $(seq "$TRUE_N"); do
		t0=$(now)
		ssh "${SSHOPTS[@]}" -p "$port" root@127.0.0.1 true
		t1=$(now)
		echo "$t1 - $t0" | bc -l >>"$WORK/true.$srv"
	done
	rec "$r" "$srv" ssh_true_median_ms "$(sort -g "$WORK/true.$srv" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m*1000}')"
}

conc_bench() {
	local r=$1 srv=$2 port=$3 pid=$4 t0 t1 i ok peak=0 s
	local -a kids=()
	t0=$(now)
	for i in $(seq "$CONC_N"); do
		ssh "${SSHOPTS[@]}" -p "$port" root@127.0.0.1 'sleep 2; echo ok' >"$WORK/conc.$i" 2>&1 &
		kids+=($!)
	done
	# Sample the server's RSS while the sessions are open.
	for _ in $(seq 20); do
		s=$(tree_rss_kib "$pid")
		[ "$s" -gt "$peak" ] && peak=$s
		sleep 0.1
	done
	wait "${kids[@]}" 2>/dev/null || true
	t1=$(now)
	ok=$(cat "$WORK"/conc.* | grep -c '^ok$' || true)
	rm -f "$WORK"/conc.*
	rec "$r" "$srv" conc_wall_s "$(echo "$t1 - $t0" | bc -l)"
	rec "$r" "$srv" conc_failures "$((CONC_N - ok))"
	rec "$r" "$srv" rss_100_sessions_kib "$peak"
}

one_round() {
	local r=$1 srv=$2 port pid
	if [ "$srv" = openssh ]; then port=$PORT_A pid=$PID_A; else port=$PORT_B pid=$PID_B; fi
	stream "$r" "$srv" "$port" "$pid" aes128gcm -c aes128-gcm@openssh.com
	if [ "$srv" = openssh ]; then
		stream "$r" "$srv" "$PORT_A" "$PID_A" chacha20 -c chacha20-poly1305@openssh.com
	else
		stream "$r" "$srv" "$PORT_C" "$PID_C" chacha20 -c chacha20-poly1305@openssh.com
	fi
	stream "$r" "$srv" "$port" "$pid" default
	sftp_bench "$r" "$srv" "$port"
	true_bench "$r" "$srv" "$port"
	conc_bench "$r" "$srv" "$port" "$pid"
	# Idle: past ovfinit's idle delay (2 s), as long for both servers.
	sleep 3
	rec "$r" "$srv" rss_idle_after_kib "$(rss_kib "$pid")"
}

for r in $(seq "$ROUNDS"); do
	# Alternate which server goes first so drift in the load favours neither.
	if [ $((r % 2)) = 1 ]; then order="openssh ovfinit"; else order="ovfinit openssh"; fi
	for srv in $order; do
		echo "round $r/$ROUNDS: $srv" >&2
		one_round "$r" "$srv"
	done
done
rec 0 ovfinit rss_peak_kib "$(hwm_kib $PID_B)"
rec 0 openssh rss_peak_kib "$(hwm_kib $PID_A)"

echo
echo "ROUNDS=$ROUNDS SIZE_MB=$SIZE_MB SFTP_MB=$SFTP_MB TRUE_N=$TRUE_N CONC_N=$CONC_N load=$(cut -d' ' -f1-3 /proc/loadavg) $(ssh -V 2>&1)"
python3 - "$RAW" <<'EOF'
import sys, statistics, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
val = collections.defaultdict(dict)  # metric -> (round, server) -> value
for r, s, m, v in rows:
    val[m][(int(r), s)] = float(v)
higher_better = lambda m: m.endswith("MBps")
print(f"| metric | OpenSSH (median) | ovfinit (median) | ovfinit/OpenSSH (median of per-round ratios) |")
print("|---|---:|---:|---:|")
for m, d in val.items():
    a = [v for (r, s), v in sorted(d.items()) if s == "openssh"]
    b = [v for (r, s), v in sorted(d.items()) if s == "ovfinit"]
    rounds = sorted({r for (r, s) in d})
    ratios = [d[(r, "ovfinit")] / d[(r, "openssh")] for r in rounds
              if (r, "ovfinit") in d and (r, "openssh") in d and d[(r, "openssh")] != 0]
    ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
    print(f"| {m} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | {ratio} |")
EOF
echo "raw measurements: $RAW${KEEP:+ (kept)}"
