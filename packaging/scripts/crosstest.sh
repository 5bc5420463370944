#!/usr/bin/env bash
# crosstest.sh ARCH...: build every package's test binary for linux/ARCH and
# run it under Debian's qemu-user-static (qemu-aarch64-static and friends; no
# binfmt_misc registration needed). s390x is big-endian, so this is where
# byte-order bugs in the binary readers show. The test binaries run with
# OVFINIT_QEMU_USER set to the emulator's name: tests that need a real kernel
# feature qemu-user does not emulate check it and skip with a reason, and
# tests that start their own binary again run it through the emulator (see
# docs/testing.md).
#
#   GO       go command (default: go)
#   PKGS     packages (default: go list ./...)
#   TIMEOUT  each test binary's -test.timeout (default: 8m; the slowest
#            package, sshd, takes 70-95 s under emulation)
#   RETRIES  runs again after the emulator's fork hang (default: 2; below)
set -euo pipefail

GO="${GO:-go}"
TIMEOUT="${TIMEOUT:-8m}"
RETRIES="${RETRIES:-2}"
[ "$#" -gt 0 ] || set -- arm64 s390x ppc64le
PKGS="${PKGS:-$("$GO" list ./...)}"
module="$("$GO" list -m)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

qemu_for() {
	case "$1" in
	arm64) echo qemu-aarch64-static ;;
	*) echo "qemu-$1-static" ;;
	esac
}

# run_pkg ARCH REL BIN QEMU: run one test binary; again, up to $RETRIES
# times, only when it timed out with a goroutine waiting for a forked child
# to exec. qemu-user 7.2 (Debian 12's) now and then leaves the child of a
# multithreaded guest stuck in a futex between fork and exec (seen in CI:
# packaging on s390x hung 15 minutes in TestScriptsParse's exec of dash; see
# golang/go#68976 and #70329 for the same emulator's fork troubles). That is
# the emulator's, not ours; any other failure, a test's included, fails at
# once. The output goes to a file, not a pipe: the stuck child outlives the
# test binary and would hold a pipe open.
run_pkg() {
	local arch="$1" rel="$2" bin="$3" q="$4" try log rc start
	for try in $(seq 0 "$RETRIES"); do
		log="$work/$arch/run.log"
		rc=0
		start=$SECONDS
		# -test.short: the VM boot (e2e) is an amd64-host test, not a unit test.
		(cd "$rel" && OVFINIT_QEMU_USER="$q" "$q" "$bin" -test.short -test.timeout "$TIMEOUT") >"$log" 2>&1 </dev/null || rc=$?
		pkill -KILL -f -- "$bin" 2>/dev/null || true
		cat "$log"
		echo "--- $arch $rel: $((SECONDS - start)) s"
		[ "$rc" -ne 0 ] || return 0
		if ! grep -q '^panic: test timed out' "$log" || ! grep -qE '^syscall\.(forkExec|doCheckClonePidfd)\(' "$log"; then
			return "$rc"
		fi
		echo "crosstest: $arch $rel: a forked child never reached exec under $q (the emulator's fork hang, not a test failure)" >&2
		[ "$try" -lt "$RETRIES" ] && echo "crosstest: $arch $rel: running it again" >&2
	done
	return 1
}

failed=()
for arch in "$@"; do
	q="$(qemu_for "$arch")"
	command -v "$q" >/dev/null || { echo "crosstest: $q not found: install qemu-user-static (make prepare)" >&2; exit 1; }
	for pkg in $PKGS; do
		rel="${pkg#"$module"}"
		rel="./${rel#/}"
		bin="$work/$arch/$(echo "${rel#./}" | tr / _).test"
		mkdir -p "$work/$arch"
		if ! CGO_ENABLED=0 GOOS=linux GOARCH="$arch" "$GO" test -c -o "$bin" "$pkg"; then
			failed+=("$arch:$rel(build)")
			continue
		fi
		[ -e "$bin" ] || continue # no test files
		echo "=== $arch $rel"
		if ! run_pkg "$arch" "$rel" "$bin" "$q"; then
			failed+=("$arch:$rel")
		fi
	done
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "crosstest: failed: ${failed[*]}" >&2
	exit 1
fi
echo "crosstest: every package passed on $*"
