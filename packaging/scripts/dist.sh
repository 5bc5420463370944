#!/usr/bin/env bash
# dist.sh OUTDIR: the release binaries for every target that builds, plus
# SHA256SUMS. Static (CGO_ENABLED=0), stripped (-s -w), -trimpath and
# -buildvcs=false, so the bytes depend only on the source, the Go version and
# the stamped VERSION/COMMIT: not on the checkout path, the clock
# (SOURCE_DATE_EPOCH is not read) or the builder's environment.
#
#   GO       go command (default: go)
#   VERSION  stamped version (default: git describe)
#   COMMIT   stamped commit (default: git rev-parse --short HEAD)
#   TARGETS  space-separated GOOS/GOARCH list (default: all of them)
#   SIZE_LIMIT  bytes the linux/amd64 binary must stay under (default 15 MiB)
set -euo pipefail

out="${1:?usage: dist.sh OUTDIR}"
GO="${GO:-go}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
COMMIT="${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
TARGETS="${TARGETS:-linux/amd64 linux/arm64 linux/s390x linux/ppc64le windows/amd64 windows/arm64 freebsd/amd64 aix/ppc64 illumos/amd64}"
SIZE_LIMIT="${SIZE_LIMIT:-15728640}"

rm -rf "$out"
mkdir -p "$out"
failed=()
for t in $TARGETS; do
	os="${t%/*}" arch="${t#*/}"
	name="ovfinit-$os-$arch"
	[ "$os" = windows ] && name="$name.exe"
	if ! CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" GOFLAGS= "$GO" build \
		-trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT" \
		-o "$out/$name" ./cmd/ovfinit; then
		failed+=("$t")
	fi
done
(cd "$out" && sha256sum ovfinit-* >SHA256SUMS)

# The size budget: an image builder downloads this into every template.
size=$(stat -c %s "$out/ovfinit-linux-amd64")
if [ "$size" -ge "$SIZE_LIMIT" ]; then
	echo "dist: ovfinit-linux-amd64 is $size bytes, over the budget of $SIZE_LIMIT" >&2
	exit 1
fi
(cd "$out" && for f in ovfinit-*; do printf '%-28s %9d bytes\n' "$f" "$(stat -c %s "$f")"; done)
if [ "${#failed[@]}" -gt 0 ]; then
	echo "dist: these targets did not build: ${failed[*]}" >&2
	exit 1
fi
