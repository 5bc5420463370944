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
set -euo pipefail

GO="${GO:-go}"
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
		# -test.short: the VM boot (e2e) is an amd64-host test, not a unit test.
		if ! (cd "$rel" && OVFINIT_QEMU_USER="$q" "$q" "$bin" -test.short -test.timeout 15m); then
			failed+=("$arch:$rel")
		fi
	done
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "crosstest: failed: ${failed[*]}" >&2
	exit 1
fi
echo "crosstest: every package passed on $*"
