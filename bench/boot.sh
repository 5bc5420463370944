#!/usr/bin/env bash
# bench/boot.sh (make bench-boot; not in make test): first boot of the same
# Debian 12 and 13 image with cloud-init, with ovfinit and with no agent,
# interleaved under qemu TCG; medians of the per-pair ratios for qemu start
# to SSH login and to the ready POST, the agent's unit time in guest time,
# memory peaks and failed units (bench/bootbench; docs/performance.md).
#
#   PAIRS=5 SUITES=bookworm,trixie VARIANTS=cloud-init,ovfinit,none INITRD=stub BASE= bench/boot.sh
#
# As root: builds the cloud-init images first (e2e/prepare.sh with
# OVFINIT_BENCH_IMAGES=1, cached), the .deb and the disks from this tree.
# INITRD=image boots each release's own initramfs (initramfs-tools, udev
# in it) instead of the VM tests' small one (stub, the default).
# OVFINIT=path measures that binary instead of a build of this tree.
# BASE=rev (a git revision of this tree) also boots ovfinit built at that
# revision, as the variant base in the same interleaved rounds: its
# "variant / ovfinit" ratios measure the change since rev.
# KEEP=1 keeps the work directory (serial logs, boots.tsv); JOURNAL=1 keeps
# each boot's journal and systemd-analyze output there too; PROFILE=1 keeps
# a CPU profile of each ovfinit boot's pipeline (<boot>.pprof, read with
# go tool pprof -top <work>/ovfinit <boot>.pprof).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
OVFINIT_BENCH_IMAGES=1 bash e2e/prepare.sh >/dev/null
WORK=$(mktemp -d /tmp/ovfinit-bench-boot.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
echo "bench/boot.sh: work directory $WORK; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
VARIANTS=${VARIANTS:-cloud-init,ovfinit,none}
BASEBIN=
if [ -n "${BASE:-}" ]; then
	# Built as e2e/vm.BuildAgent builds this tree's, from a worktree at rev.
	git worktree add -q --detach "$WORK/base-src" "$BASE"
	rc=0
	(cd "$WORK/base-src" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -trimpath -ldflags=-s -o "$WORK/ovfinit-base" ./cmd/ovfinit) || rc=$?
	git worktree remove --force "$WORK/base-src"
	[ $rc -eq 0 ] || exit $rc
	BASEBIN=$WORK/ovfinit-base
	VARIANTS=$VARIANTS,base
fi
"$GO" run ./bench/bootbench -dir "$WORK" -pairs "${PAIRS:-5}" -suites "${SUITES:-bookworm,trixie}" \
	-variants "$VARIANTS" -initrd "${INITRD:-stub}" ${OVFINIT:+-agent "$OVFINIT"} ${BASEBIN:+-base "$BASEBIN"} ${JOURNAL:+-journal} ${PROFILE:+-profile}
echo "bench/boot.sh: load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
