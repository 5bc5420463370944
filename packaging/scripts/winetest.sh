#!/usr/bin/env bash
# winetest.sh: build every package's Windows test binary and run it under
# Wine (Debian 12: wine64 8.0), each from its package's source directory as
# `go test` would, then print per package how many tests passed, failed and
# were skipped (with the reasons) and a total line. Exits non-zero if any
# test failed or any binary did not finish. docs/testing.md, issue 17.
#
# What Wine 8.0 needs for a Go 1.26 test binary, done here each run:
#   - bcryptprimitives.dll (ProcessPrng), which the Go runtime loads at start
#     and Wine 8.0 lacks: built from packaging/wine/bcryptprimitives.c with
#     mingw-w64 into $CACHE (never into the clone), copied into a fresh
#     WINEPREFIX made with `wineboot -i` in a temporary directory.
#   - os.RemoveAll (t.TempDir cleanup) calls NtSetInformationFile with
#     FileDispositionInformationEx, which Wine 8.0 answers with
#     STATUS_NOT_IMPLEMENTED ("Incorrect function"); Go falls back to the old
#     FileDispositionInfo call only for the statuses a real Windows returns.
#     The test binaries are built with -overlay: a copy of GOROOT's
#     internal/syscall/windows/at_windows.go that takes the fallback for
#     Wine's statuses too. Only these Wine test binaries; releases and
#     `make windows-test` are built without it.
#
#   GO       the go command (default: go, else /usr/local/go/bin/go)
#   WINE     the wine64 loader (default: wine64, else /usr/lib/wine/wine64)
#   OUT      where binaries and logs go (default: bin/wine-tests)
#   CACHE    where the built DLL is kept (default: $OVFINIT_E2E_CACHE/wine,
#            /var/cache/ovfinit-e2e/wine)
#   PKGS     packages to test (default: ./...)
#   TIMEOUT  per test binary (default: 25m: agent takes 5 to 12 min under
#            Wine on a loaded 2-core machine)
#   E2E      1 (default): also boot ovfinit.exe end to end (step 6); 0: not
#   JOBS     test binaries run at once (default: WINE_JOBS, else 2), in one
#            prefix; SLOW names the packages started first
#   SPLIT    packages whose tests are dealt out to SHARDS processes
#            (default: agent callback, in JOBS shards)
#   RUN      a -test.run pattern for the packages not in SPLIT (iterating:
#            SPLIT= RUN=TestX PKGS=./agent E2E=0)
set -euo pipefail

cd "$(dirname "$0")/../.."
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
WINE="${WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}"
OUT="${OUT:-bin/wine-tests}"
CACHE="${CACHE:-${OVFINIT_E2E_CACHE:-/var/cache/ovfinit-e2e}/wine}"
PKGS="${PKGS:-./...}"
TIMEOUT="${TIMEOUT:-25m}"
JOBS="${JOBS:-${WINE_JOBS:-2}}"
SLOW="${SLOW:-agent callback ovfinit sshd scripts users}"
SPLIT="${SPLIT-agent callback}"
RUN="${RUN:-}"
SHARDS="${SHARDS:-$JOBS}"
MINGW="${MINGW:-x86_64-w64-mingw32-gcc}"

log() { echo "winetest: $*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$WINE" ] || command -v "$WINE" >/dev/null || die "no wine64 ($WINE): apt-get install wine64 (make prepare does)"
command -v "$MINGW" >/dev/null || die "no $MINGW: apt-get install gcc-mingw-w64-x86-64 (make prepare does)"

work="$(mktemp -d "${TMPDIR:-/tmp}/ovfinit-winetest.XXXXXX")"
cleanup() {
	# The prefix's wineserver lingers a few seconds after the last process:
	# stop it (ours only: it is keyed by WINEPREFIX) before removing the prefix.
	if [ -d "$work/prefix" ]; then
		WINEPREFIX="$work/prefix" "$(dirname "$(readlink -f "$(command -v "$WINE" || echo "$WINE")")")/wineserver" -k 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)

# 1. The stand-in DLL, cached by the hash of its source.
src=packaging/wine/bcryptprimitives.c
def=packaging/wine/bcryptprimitives.def
sum="$(cat "$src" "$def" | sha256sum | cut -c1-16)"
dll="$CACHE/bcryptprimitives-$sum.dll"
if [ ! -s "$dll" ]; then
	mkdir -p "$CACHE"
	"$MINGW" -O2 -Wall -shared -o "$dll.tmp" "$src" "$def" -lbcrypt
	mv "$dll.tmp" "$dll"
fi

# 2. The overlay for os.RemoveAll.
goroot="$("$GO" env GOROOT)"
at="$goroot/src/internal/syscall/windows/at_windows.go"
want='STATUS_NOT_SUPPORTED:     // the file system'
grep -qF "$want" "$at" || die "$at changed (Go $("$GO" env GOVERSION)): cannot patch Deleteat's fallback for Wine; update winetest.sh"
mkdir -p "$work/overlay"
sed "s|$want|STATUS_NOT_SUPPORTED, NTStatus(0xC0000002), NTStatus(0xC0000010): // STATUS_NOT_IMPLEMENTED, STATUS_INVALID_DEVICE_REQUEST: Wine 8.0; the file system|" \
	"$at" >"$work/overlay/at_windows.go"
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$work/overlay/at_windows.go" >"$work/overlay.json"

# 3. The test binaries, one per package (named after its last path element).
rm -rf "$OUT" && mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
log "building the Windows test binaries into $OUT"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" test -overlay "$work/overlay.json" -c -o "$OUT/" $PKGS >/dev/null
built=$(date +%s)

# 4. A fresh prefix, headless: no DISPLAY, no desktop, no debug noise, no
# Gecko/Mono install prompts, and no winedbg on a crash (the log keeps
# Wine's one-line report and the binary exits non-zero).
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml,winedbg.exe=" DISPLAY=
log "creating a Wine prefix ($("$WINE" --version 2>/dev/null || echo wine))"
"$WINE" wineboot -i >"$work/wineboot.log" 2>&1 || { cat "$work/wineboot.log" >&2; die "wineboot -i failed"; }
cp "$dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
booted=$(date +%s)

# 5. Run the binaries, JOBS at a time in the one prefix (one wineserver),
# each from its package directory, the slowest first so that the last to
# finish is a short one; then count, in package order.
run_one() { # name dir shard [pattern]
	local rc=0 t0 t1 run=()
	[ -n "${4:-}" ] && run=(-test.run "$4")
	t0=$(date +%s)
	(cd "$2" && timeout "$TIMEOUT" "$WINE" "$OUT/$1.test.exe" -test.v -test.count=1 -test.timeout="$TIMEOUT" "${run[@]}") >"$OUT/$1.$3.log" 2>&1 || rc=$?
	t1=$(date +%s)
	echo "$rc $((t1 - t0))" >"$OUT/$1.$3.rc"
}
GOOS=windows "$GO" list -f '{{.ImportPath}} {{.Dir}}' $PKGS >"$work/pkgs"
# A package in SPLIT runs as SHARDS processes, its top-level tests dealt
# out in turn (one binary there takes most of the run: agent's hundreds of
# pipeline boots).
while read -r ip dir; do
	name="${ip##*/}"
	[ -f "$OUT/$name.test.exe" ] || continue
	prio=1
	case " $SLOW " in *" $name "*) prio=0 ;; esac
	case " $SPLIT " in
	*" $name "*)
		(cd "$dir" && "$WINE" "$OUT/$name.test.exe" -test.list '.*') 2>/dev/null | grep -E '^(Test|Example|Fuzz)' |
			awk -v n="$SHARDS" '{ s[NR % n] = s[NR % n] (s[NR % n] == "" ? "" : "|") $0 } END { for (i = 0; i < n; i++) if (s[i] != "") print i, "^(" s[i] ")$" }' |
			while read -r shard pat; do echo "$prio $name $dir $shard $pat"; done
		;;
	*) echo "$prio $name $dir 0 $RUN" ;;
	esac
done <"$work/pkgs" | sort -s -k1,1n >"$work/queue"
log "running $(awk '{print $2}' "$work/queue" | sort -u | wc -l) test binaries as $(wc -l <"$work/queue") processes, $JOBS at a time"
while read -r _ name dir shard pat; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
	run_one "$name" "$dir" "$shard" "$pat" &
done <"$work/queue"
wait
# Each package's shards into one log; its exit code the first failing
# shard's, its time the longest shard's; a shard that crashed or timed out
# (no PASS or FAIL as its last line) is named.
for rcf in "$OUT"/*.0.rc; do
	[ -f "$rcf" ] || continue
	name="$(basename "$rcf" .0.rc)"
	rc=0 secs=0
	: >"$OUT/$name.crash"
	for sh in "$OUT/$name".*.rc; do
		n="${sh%.rc}"
		read -r r t <"$sh"
		[ "$t" -gt "$secs" ] && secs=$t
		if [ "$r" != 0 ]; then
			[ "$rc" = 0 ] && rc=$r
			if ! tail -n 1 "$n.log" | grep -qx 'FAIL'; then
				last="$(grep -E '^=== RUN ' "$n.log" | tail -n 1 | cut -c11-)"
				echo "    CRASH exit $r in ${last:-its start}: $(grep -m1 -E 'Unhandled|panic:|timed out' "$n.log" || echo 'no report (winedbg is off: run the binary by hand for a backtrace)')" >>"$OUT/$name.crash"
			fi
		fi
	done
	cat "$OUT/$name".*.log >"$OUT/$name.log"
	echo "$rc $secs" >"$OUT/$name.rc"
done
tp=0 tf=0 ts=0 npkg=0 bad=()
printf '%-12s %7s %7s %8s %7s\n' package passed failed skipped time
while read -r ip dir; do
	name="${ip##*/}"
	[ -f "$OUT/$name.rc" ] || continue
	npkg=$((npkg + 1))
	out="$OUT/$name.log"
	read -r rc secs <"$OUT/$name.rc"
	# Top-level tests only ("--- X:" at the start of the line); subtests are
	# indented. A skip's reason is the test's last "file.go:N: text" line.
	read -r p f s < <(awk '/^--- PASS:/ {p++} /^--- FAIL:/ {f++} /^--- SKIP:/ {s++} END {print p+0, f+0, s+0}' "$out")
	printf '%-12s %7d %7d %8d %6ds\n' "$name" "$p" "$f" "$s" "$secs"
	awk '
		/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
		/^ +[^ ]+\.go:[0-9]+: / { r = $0; sub(/^ +/, "", r); reason[cur] = r; next }
		/^ *--- SKIP:/ { n = $3; print "    skip " n ": " reason[n]; next }
		/^--- FAIL:/ { n = $3; top[++nt] = n; next }
		/^ +--- FAIL:/ { n = $3; split(n, a, "/"); sub_[a[1]]++; next }
		END {
			for (i = 1; i <= nt; i++)
				print "    FAIL " top[i] (sub_[top[i]] ? " (" sub_[top[i]] " subtests)" : "")
		}
	' "$out"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
	if [ "$rc" != 0 ]; then
		bad+=("$name")
		cat "$OUT/$name.crash"
	fi
done <"$work/pkgs"
tested=$(date +%s)

# 6. End to end (E2E=0 leaves it out): ovfinit.exe (built with the same
# overlay) boots with --root C:\ (the system drive: the running system) in
# the throwaway prefix, from an environment file. Never --root /: that is
# the current drive, and Wine runs the process on Z:, its mapping of the
# host's /, so it would write into the host's own /ProgramData; a Linux `ovfinit watch` is the
# manager and must see the signed events up to ready, then `ovfinit.exe
# status` must say ready. Both run in a network namespace of their own, so
# the SSH server (which listens on every address) and the callback touch
# only that namespace's 127.0.0.1.
e2e=skipped
if [ "${E2E:-1}" = 1 ]; then
	log "end to end: ovfinit.exe run under Wine, events to ovfinit watch on 127.0.0.1 (own network namespace)"
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" build -overlay "$work/overlay.json" -o "$OUT/ovfinit.exe" ./cmd/ovfinit
	CGO_ENABLED=0 "$GO" build -o "$work/ovfinit" ./cmd/ovfinit
	secret="winetest-$(date +%s%N)"
	script="$(printf '%s\n' 'file.write("/ProgramData/ovfinit-e2e.txt", "instance=" + ovf.property("instance-id"))' | base64 -w0)"
	mkdir -p "$WINEPREFIX/drive_c/ovfenv"
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="winetest">'
		echo '  <PropertySection>'
		for kv in instance-id=i-winetest hostname=winetest1 ovfinit.ssh.port=2222 "ovfinit.script=$script" \
			ovfinit.callback.url=http://127.0.0.1:8080/events "ovfinit.callback.secret=$secret"; do
			echo "    <Property oe:key=\"${kv%%=*}\" oe:value=\"${kv#*=}\"/>"
		done
		echo '  </PropertySection>'
		echo '</Environment>'
	} >"$WINEPREFIX/drive_c/ovfenv/env.xml"
	wineserver="$(dirname "$(readlink -f "$(command -v "$WINE" || echo "$WINE")")")/wineserver"
	"$wineserver" -k 2>/dev/null || true # started outside the namespace by the tests
	printf '%s\n' \
		'ip link set lo up || exit 1' \
		'"$HOSTBIN" watch --listen 127.0.0.1:8080 --secret "$SECRET" --expect 1 --timeout 4m >"$OUT/e2e-watch.log" 2>&1 &' \
		'w=$!' \
		'"$WINE" "$OUT/ovfinit.exe" run --root "C:\\" --env "C:\\ovfenv\\env.xml" --wait-env 1s >"$OUT/e2e-run.log" 2>&1 &' \
		'r=$!' \
		'wait "$w"; wrc=$?' \
		'"$WINE" "$OUT/ovfinit.exe" status --root "C:\\" >"$OUT/e2e-status.log" 2>&1; src=$?' \
		'kill "$r" 2>/dev/null; wait "$r"' \
		'"$WINESERVER" -k 2>/dev/null' \
		'[ "$wrc" = 0 ] && [ "$src" = 0 ]' >"$work/e2e.sh"
	ns=(unshare -n)
	[ "$(id -u)" = 0 ] || ns=(unshare -rn)
	if HOSTBIN="$work/ovfinit" SECRET="$secret" WINESERVER="$wineserver" OUT="$OUT" WINE="$WINE" \
		timeout 6m "${ns[@]}" bash "$work/e2e.sh" &&
		grep -qx 'instance=i-winetest' "$WINEPREFIX/drive_c/ProgramData/ovfinit-e2e.txt"; then
		e2e=ready
	else
		e2e=FAILED
		bad+=(end-to-end)
	fi
	echo "end to end: $e2e (logs: $OUT/e2e-run.log, e2e-watch.log, e2e-status.log)"
	sed 's/^/    /' "$OUT/e2e-status.log" 2>/dev/null | head -n 20 || true
fi
end=$(date +%s)

printf 'total: %d passed, %d failed, %d skipped in %d packages; end to end %s; %ds (build %ds, prefix %ds, tests %ds, end to end %ds)\n' \
	"$tp" "$tf" "$ts" "$npkg" "$e2e" $((end - start)) $((built - start)) $((booted - built)) $((tested - booted)) $((end - tested))
if [ "${#bad[@]}" -gt 0 ]; then
	log "failed under Wine: ${bad[*]} (logs: $OUT/<package>.log)"
	exit 1
fi
