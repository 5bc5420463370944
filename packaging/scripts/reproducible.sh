#!/usr/bin/env bash
# reproducible.sh DISTDIR: rebuild a few targets from a copy of the tree at
# another path, with an empty build cache and another clock, and compare the
# hashes with DISTDIR/SHA256SUMS. Any difference fails.
set -euo pipefail

dist="$(cd "${1:?usage: reproducible.sh DISTDIR}" && pwd)"
GO="${GO:-go}"
TARGETS="${REPRO_TARGETS:-linux/amd64 windows/amd64}"
work="$(mktemp -d /tmp/ovfinit-repro.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The files a checkout would have (tracked, plus new ones not ignored).
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$work" -xf -
mkdir -p "$work/cache"
(
	cd "$work"
	GOCACHE="$work/cache" SOURCE_DATE_EPOCH=1 TZ=Pacific/Kiritimati TARGETS="$TARGETS" GO="$GO" \
		packaging/scripts/dist.sh "$work/out" >/dev/null
)
fail=0
while read -r sum name; do
	want="$(awk -v n="$name" '$2 == n {print $1}' "$dist/SHA256SUMS")"
	if [ "$sum" != "$want" ]; then
		echo "reproducible: $name differs: $sum from $work, $want in $dist" >&2
		fail=1
	else
		echo "reproducible: $name $sum (same bytes)"
	fi
done <"$work/out/SHA256SUMS"
exit "$fail"
