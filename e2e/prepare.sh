#!/usr/bin/env bash
# prepare.sh: install what the VM tests need and cache an unpacked Debian
# kernel. Idempotent; run as root on Debian 12 (make test / make demo run it).
#
#   CACHE (OVFINIT_E2E_CACHE, default /var/cache/ovfinit-e2e)
#     kernel/<pkg>_<version>/   dpkg -x of the kernel package, plus vmlinux
#     kernel/<pkg>_<version>/.ready
#     current                   path of the kernel dir in use
#
# Prints the kernel dir on its last line.
set -euo pipefail

CACHE="${OVFINIT_E2E_CACHE:-/var/cache/ovfinit-e2e}"
PACKAGES=(qemu-system-x86 busybox-static iproute2 cpio genisoimage e2fsprogs openssh-client xz-utils zstd
	# packaging: cross-arch tests, OVA disks, the MSI, unit checks
	qemu-user-static qemu-utils msitools wixl systemd debootstrap
	# netcfg: `netplan generate` is the oracle for network-config (issue 15)
	netplan.io
	# Windows tests under Wine (packaging/scripts/winetest.sh, issue 17): wine64,
	# and mingw-w64 for the stand-in bcryptprimitives.dll Wine 8.0 lacks
	wine64 gcc-mingw-w64-x86-64
	# the web view of `ovfinit watch --web` is tested in headless chromium (issue 18)
	chromium
	# cloudconfig: cloud-init's schema is the oracle for #cloud-config (issue
	# 20); the Python libraries it imports (cloud-init itself is unpacked
	# below, not installed: it would run at boot)
	python3-configobj python3-jinja2 python3-jsonpatch python3-jsonschema python3-netifaces
	python3-oauthlib python3-requests python3-serial python3-yaml)

log() { echo "prepare: $*" >&2; }

sudo_() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# 1. Packages: apt-get update only when something is missing.
missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing ${missing[*]}"
	sudo_ apt-get update -qq >/dev/null
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 1b. The npm standardwebhooks package, pinned, outside the repository:
# callback's TestStandardWebhooksLibrary verifies our events with it. Node
# and npm come from Debian unless the machine already has them (a
# NodeSource nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "installing nodejs npm"
	sudo_ apt-get update -qq >/dev/null
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
STANDARDWEBHOOKS_VERSION=1.3.0
npmdir="$CACHE/npm"
if [ "$(cat "$npmdir/.version" 2>/dev/null)" != "standardwebhooks@$STANDARDWEBHOOKS_VERSION" ]; then
	log "npm install standardwebhooks@$STANDARDWEBHOOKS_VERSION into $npmdir"
	sudo_ mkdir -p "$npmdir"
	sudo_ npm install --no-audit --no-fund --save-exact --prefix "$npmdir" "standardwebhooks@$STANDARDWEBHOOKS_VERSION" >/dev/null
	echo "standardwebhooks@$STANDARDWEBHOOKS_VERSION" | sudo_ tee "$npmdir/.version" >/dev/null
fi

# 2. The kernel package the linux-image-amd64 meta package points at.
kpkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [ -z "$kpkg" ]; then
	# An empty or stale apt list: update once and ask again.
	sudo_ apt-get update -qq >/dev/null
	kpkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
[ -n "$kpkg" ] || { log "cannot find the kernel package behind linux-image-amd64"; exit 1; }
kver="$(apt-cache policy "$kpkg" | awk '/Candidate:/ {print $2; exit}')"
[ -n "$kver" ] && [ "$kver" != "(none)" ] || { log "no candidate version for $kpkg"; exit 1; }

kdir="$CACHE/kernel/${kpkg}_${kver}"

# extract_vmlinux VMLINUZ OUT: the extract-vmlinux method. Find each known
# compression magic in the bzImage, try to decompress from there, keep the
# first result that is an ELF file.
extract_vmlinux() {
	local img="$1" out="$2" tmp
	tmp="$(mktemp -d)"
	local -a tries=(
		# magic (for grep -P)     decompressor
		'\xfd\x37\x7a\x58\x5a\x00|xz -dc'
		'\x28\xb5\x2f\xfd|zstd -dc'
		'\x1f\x8b\x08|gzip -dc'
		'\x02\x21\x4c\x18|lz4 -dc'
		'\x5d\x00\x00\x00|xz -dc --format=lzma'
		'BZh|bzip2 -dc'
	)
	local t magic cmd pos
	for t in "${tries[@]}"; do
		magic="${t%%|*}"
		cmd="${t#*|}"
		command -v "${cmd%% *}" >/dev/null || continue
		for pos in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | cut -d: -f1); do
			tail -c "+$((pos + 1))" "$img" | $cmd >"$tmp/vmlinux" 2>/dev/null || true
			if [ -s "$tmp/vmlinux" ] && [ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv "$tmp/vmlinux" "$out"
				rm -rf "$tmp"
				return 0
			fi
		done
	done
	rm -rf "$tmp"
	return 1
}

if [ ! -e "$kdir/.ready" ]; then
	log "fetching $kpkg $kver"
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	(cd "$work" && apt-get download -qq "$kpkg=$kver" >/dev/null 2>&1) ||
		(cd "$work" && sudo_ apt-get update -qq >/dev/null && apt-get download -qq "$kpkg=$kver" >/dev/null)
	deb="$(ls "$work"/*.deb)"
	sudo_ rm -rf "$kdir"
	sudo_ mkdir -p "$kdir"
	sudo_ dpkg -x "$deb" "$kdir"
	vmlinuz="$(ls "$kdir"/boot/vmlinuz-* | head -n1)"
	extract_vmlinux "$vmlinuz" "$work/vmlinux" || { log "could not extract vmlinux from $vmlinuz"; exit 1; }
	sudo_ mv "$work/vmlinux" "$kdir/vmlinux"
	# World-readable, so tests need not run as root.
	sudo_ chmod -R a+rX "$kdir"
	echo "$kpkg $kver" | sudo_ tee "$kdir/.ready" >/dev/null
	log "kernel ready"
fi

# 3. A minimal Debian root (with systemd) that packaging/linuxpkg's test
# installs the .deb into, through an overlay so the cache stays clean. Not
# fatal: without it that test skips and says why.
droot="$CACHE/debian-root"
if [ ! -e "$droot/.ready" ]; then
	log "debootstrap of a minimal Debian root into $droot"
	sudo_ rm -rf "$droot"
	if sudo_ debootstrap --variant=minbase --include=systemd bookworm "$droot" http://deb.debian.org/debian >/dev/null 2>&1; then
		echo "bookworm minbase+systemd" | sudo_ tee "$droot/.ready" >/dev/null
	else
		log "debootstrap failed: the .deb install test will skip"
		sudo_ rm -rf "$droot"
	fi
fi

# 4. Debian's ifupdown, unpacked (not installed: this host's network is not
# touched). e2e's TestNetworkPersistsWithoutAgent puts its ifup into the
# guest to bring up, with no agent, the configuration the agent wrote. Not
# fatal: without it that test skips and says why.
ifdir="$CACHE/ifupdown"
if [ ! -e "$ifdir/.ready" ]; then
	log "fetching ifupdown into $ifdir"
	work="$(mktemp -d)"
	chmod 755 "$work"
	if (cd "$work" && { apt-get download -qq ifupdown >/dev/null 2>&1 ||
		{ sudo_ apt-get update -qq >/dev/null && apt-get download -qq ifupdown >/dev/null 2>&1; }; }); then
		sudo_ rm -rf "$ifdir"
		sudo_ mkdir -p "$ifdir"
		sudo_ dpkg -x "$work"/ifupdown_*.deb "$ifdir"
		sudo_ chmod -R a+rX "$ifdir"
		dpkg-deb -f "$work"/ifupdown_*.deb Version | sudo_ tee "$ifdir/.ready" >/dev/null
	else
		log "apt-get download ifupdown failed: TestNetworkPersistsWithoutAgent will skip"
	fi
	rm -rf "$work"
fi

# 5. Debian's cloud-init, unpacked (not installed: it would run at boot).
# cloudconfig's TestCloudInitAgrees checks with cloud-init's own schema that
# every #cloud-config document ovfinit accepts is valid for cloud-init. Not
# fatal: without it that test skips and says why.
cidir="$CACHE/cloud-init"
if [ ! -e "$cidir/.ready" ]; then
	log "fetching cloud-init into $cidir"
	work="$(mktemp -d)"
	chmod 755 "$work"
	if (cd "$work" && { apt-get download -qq cloud-init >/dev/null 2>&1 ||
		{ sudo_ apt-get update -qq >/dev/null && apt-get download -qq cloud-init >/dev/null 2>&1; }; }); then
		sudo_ rm -rf "$cidir"
		sudo_ mkdir -p "$cidir"
		sudo_ dpkg -x "$work"/cloud-init_*.deb "$cidir"
		sudo_ chmod -R a+rX "$cidir"
		dpkg-deb -f "$work"/cloud-init_*.deb Version | sudo_ tee "$cidir/.ready" >/dev/null
	else
		log "apt-get download cloud-init failed: TestCloudInitAgrees will skip"
	fi
	rm -rf "$work"
fi

# 6. Real Debian images for the image VM tests (e2e/vm_images_test.go): a
# debootstrapped root per release (minbase + systemd, udev, OpenSSH and
# ifupdown with the release's DHCP client), from the Debian archive this
# machine's apt uses, with the cached kernel's modules, as an image builder
# would leave it before capture (no SSH host keys, an empty machine-id, no
# network configured but lo). The test installs the .deb built from the tree
# into a copy and makes the disk. Keyed by suite, package list and kernel:
#   images/debian-<suite>-<key>/root, .ready (build seconds on its 2nd line)
#   images/debian-<suite>          the current one (a symlink)
# OVFINIT_E2E_IMAGES=0 skips them (the image tests then fail under make test).
IMAGE_SCRIPT_VERSION=1
debian_mirror() {
	local m
	m="$(grep -rhoE '^(deb|URIs:)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]*/debian/?([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		grep -oE 'https?://[^[:space:]]*/debian/?' | head -n1)"
	echo "${m:-http://deb.debian.org/debian}"
}
# image_variant_debootstrap_args VARIANT: more debootstrap flags (none
# yet).
image_variant_debootstrap_args() {
	case "$1" in
	*) ;;
	esac
}
build_image() {
	# SUITE PKGS [SUFFIX EXTRA]: the image debian-SUITE[-SUFFIX]; EXTRA:
	# packages apt-get installs into the root after debootstrap (the bench's
	# cloud-init images: debootstrap's own ordering fails to configure
	# python3-cryptography on bookworm).
	build_named_image "debian-$1${3:+-$3}" "$1" "$2" "" "${4:-}"
}
# build_named_image NAME SUITE PKGS VARIANT [EXTRA]: the image NAME (the
# symlink images/NAME), debootstrapped from SUITE with PKGS; VARIANT (empty
# for the default images) is part of the cache key and what
# image_variant_setup does to the tree after the common preparation.
build_named_image() {
	local name="$1" suite="$2" pkgs="$3" variant="$4" extra="${5:-}" key dir root t0 rel
	rel="$(basename "$(ls -d "$kdir"/lib/modules/*/ | head -n1)")"
	if [ -z "$variant" ]; then
		key="$(printf '%s\n' "$IMAGE_SCRIPT_VERSION" "$suite" "$pkgs" "$rel" ${extra:+"$extra"} | sha256sum | cut -c1-12)"
	else
		key="$(printf '%s\n' "$IMAGE_SCRIPT_VERSION" "$IMAGE_VARIANT_VERSION" "$variant" "$suite" "$pkgs" "$rel" | sha256sum | cut -c1-12)"
	fi
	dir="$CACHE/images/$name-$key"
	if [ ! -e "$dir/.ready" ]; then
		log "building the Debian $suite image $name ($pkgs) into $dir"
		t0=$(date +%s)
		sudo_ rm -rf "$dir"
		sudo_ mkdir -p "$dir"
		root="$dir/root"
		# shellcheck disable=SC2046 # image_variant_debootstrap_args: words
		if ! sudo_ debootstrap --variant=minbase --include="$pkgs" $(image_variant_debootstrap_args "$variant") \
			"$suite" "$root" "$(debian_mirror)" >"$dir.log" 2>&1; then
			log "debootstrap $suite failed (log in $dir.log)"
			sudo_ cat "$root/debootstrap/debootstrap.log" >>"$dir.log" 2>/dev/null || true
			sudo_ rm -rf "$dir"
			return 1
		fi
		if [ -n "$extra" ]; then
			sudo_ cp /etc/resolv.conf "$root/etc/resolv.conf"
			if ! sudo_ chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -c \
				"apt-get update -qq && apt-get install -y -qq --no-install-recommends $extra" >>"$dir.log" 2>&1; then
				log "apt-get install $extra in the $suite image failed (log in $dir.log)"
				sudo_ rm -rf "$dir"
				return 1
			fi
		fi
		# The kernel's modules, without the hardware a qemu guest lacks.
		sudo_ mkdir -p "$root/lib/modules"
		sudo_ tar -C "$kdir/lib/modules" --exclude="$rel/kernel/drivers/gpu" --exclude="$rel/kernel/drivers/media" \
			--exclude="$rel/kernel/drivers/net/wireless" --exclude="$rel/kernel/drivers/net/ethernet" \
			--exclude="$rel/kernel/drivers/infiniband" --exclude="$rel/kernel/drivers/staging" \
			--exclude="$rel/kernel/sound" --exclude="$rel/kernel/drivers/bluetooth" --exclude="$rel/kernel/net/wireless" \
			--exclude="$rel/kernel/net/mac80211" --exclude="$rel/kernel/drivers/iio" -cf - "$rel" | sudo_ tar -C "$root/lib/modules" -xf -
		# The image's own depmod (this host may have no kmod).
		sudo_ chroot "$root" depmod -a "$rel" || { log "depmod in the $suite image failed"; return 1; }
		sudo_ sh -c "
			set -e
			echo 'LABEL=root / ext4 rw,errors=remount-ro 0 1' >'$root/etc/fstab'
			if [ -d '$root/etc/network' ]; then
				printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' >'$root/etc/network/interfaces'
			fi
			echo debian >'$root/etc/hostname'
			rm -f '$root'/etc/ssh/ssh_host_*
			: >'$root/etc/machine-id'
			rm -f '$root/var/lib/dbus/machine-id'
			rm -rf '$root'/var/lib/apt/lists/* '$root'/var/cache/apt/*.bin '$root'/var/cache/apt/archives/*.deb
		"
		if [ -d "$root/etc/cloud/cloud.cfg.d" ]; then
			# cloud-init reads the OVF environment from the CD-ROM; no other
			# data source is probed (a VMware or cloud image says the same).
			echo 'datasource_list: [ OVF, None ]' | sudo_ tee "$root/etc/cloud/cloud.cfg.d/90_dpkg.cfg" >/dev/null
			sudo_ rm -rf "$root/var/lib/cloud"
		fi
		if [ -n "$variant" ]; then
			image_variant_setup "$variant" "$root" || { log "setting up the $variant image failed"; return 1; }
		fi
		printf '%s\n%s\n' "debian $suite${variant:+ $variant}: $pkgs" "$(($(date +%s) - t0))" | sudo_ tee "$dir/.ready" >/dev/null
		log "Debian $suite image $name built in $(($(date +%s) - t0)) s"
	fi
	sudo_ ln -sfn "$(basename "$dir")" "$CACHE/images/$name"
}
if [ "${OVFINIT_E2E_IMAGES:-1}" != 0 ]; then
	sudo_ mkdir -p "$CACHE/images"
	base=systemd,systemd-sysv,udev,kmod,dbus,openssh-server,ifupdown,iproute2
	build_image bookworm "$base,isc-dhcp-client" || log "no Debian 12 image: TestDebianImage/bookworm will fail"
	build_image trixie "$base,dhcpcd-base" || log "no Debian 13 image: TestDebianImage/trixie will fail"
	# bench/boot.sh (OVFINIT_BENCH_IMAGES=1): the same images with cloud-init
	# instead of ovfinit (its OVF data source). The image with no agent is
	# the plain one above, customised by the bench at disk build time.
	if [ "${OVFINIT_BENCH_IMAGES:-0}" = 1 ]; then
		build_image bookworm "$base,isc-dhcp-client" cloud-init cloud-init || log "no Debian 12 cloud-init image"
		build_image trixie "$base,dhcpcd-base" cloud-init cloud-init || log "no Debian 13 cloud-init image"
	fi
fi

# 7. Image variants for `make test-images` (e2e TestImageVariants; not in
# make test): the other network managers and init systems Debian images
# use, each on Debian 12 (bookworm), prepared for capture as above:
#   netplan    systemd, systemd-networkd configured by netplan (netplan.io),
#              the Ubuntu way; no ifupdown
#   nm         systemd, NetworkManager; no ifupdown
#   sysvinit   sysvinit-core (sysv-rc, insserv), ifupdown, isc-dhcp-client
#   openrc     Debian's OpenRC on sysvinit's init, ifupdown, isc-dhcp-client
# OVFINIT_E2E_VARIANTS: "all" or a list of names (default none: make
# test-images sets it). images/debian-bookworm-<variant> is each one.
IMAGE_VARIANT_VERSION=1
image_variant_packages() {
	local common=udev,kmod,openssh-server,iproute2
	case "$1" in
	netplan) echo "systemd,systemd-sysv,dbus,$common,netplan.io" ;;
	# network-manager goes in by apt in the image (image_variant_setup):
	# polkitd's postinst fails in debootstrap's second stage
	nm) echo "systemd,systemd-sysv,dbus,$common" ;;
	sysvinit) echo "sysvinit-core,sysv-rc,$common,ifupdown,isc-dhcp-client" ;;
	# openrc goes in by apt in the image (image_variant_setup): it
	# conflicts with sysv-rc, which debootstrap picks for sysvinit-core
	# even with --exclude
	openrc) echo "sysvinit-core,sysv-rc,$common,ifupdown,isc-dhcp-client" ;;
	*) return 1 ;;
	esac
}
# install_in_image ROOT PACKAGE...: apt-get install in the image's chroot
# from its own sources, no service started (policy-rc.d), then the lists
# and archives cleaned as for capture.
install_in_image() {
	local root="$1" rc=0
	shift
	printf '#!/bin/sh\nexit 101\n' | sudo_ tee "$root/usr/sbin/policy-rc.d" >/dev/null
	sudo_ chmod 755 "$root/usr/sbin/policy-rc.d"
	sudo_ mount -t proc proc "$root/proc"
	sudo_ chroot "$root" apt-get update -qq >/dev/null &&
		sudo_ chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
	sudo_ umount "$root/proc"
	sudo_ rm -rf "$root/usr/sbin/policy-rc.d" "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
	return "$rc"
}
# image_variant_setup VARIANT ROOT: what the variant's image builder leaves
# besides the packages.
image_variant_setup() {
	local variant="$1" root="$2"
	case "$variant" in
	netplan)
		# The network manager netplan renders for; no configuration but
		# what ovfinit writes (as an image whose cloud-init was purged).
		sudo_ mkdir -p "$root/etc/netplan"
		sudo_ chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1 || return 1
		;;
	nm)
		install_in_image "$root" network-manager || return 1
		;;
	sysvinit | openrc)
		if [ "$variant" = openrc ]; then
			install_in_image "$root" openrc || return 1
		fi
		# No VT gettys: the guest has only the serial console, and
		# respawning gettys on absent ttys fill the console.
		sudo_ sed -i -E 's/^([1-6]:)/#\1/' "$root/etc/inittab"
		;;
	esac
}
image_variants() {
	local v list="${OVFINIT_E2E_VARIANTS:-}"
	[ "$list" = all ] && list="netplan nm sysvinit openrc"
	for v in $list; do
		image_variant_packages "$v" >/dev/null || { log "unknown image variant $v"; return 1; }
		build_named_image "debian-bookworm-$v" bookworm "$(image_variant_packages "$v")" "$v" ||
			log "no $v image: TestImageVariants/$v will fail"
	done
}
if [ "${OVFINIT_E2E_IMAGES:-1}" != 0 ] && [ -n "${OVFINIT_E2E_VARIANTS:-}" ]; then
	sudo_ mkdir -p "$CACHE/images"
	image_variants
fi

# 8. bench/boot.sh INITRD=image (OVFINIT_BENCH_IMAGES=1): each release's
# own initramfs, as its initramfs-tools makes it for the cached kernel in an
# installed system (with busybox and zstd, which it recommends; MODULES=most,
# Debian's default). Unlike the tests' small boot initramfs, it runs udev:
# its coldplug loads the drivers it carries (the NIC's, the CD-ROM's among
# them) and its .link files name the NIC before systemd starts, as on a
# real image. Made in an overlay of the image, which stays as it was:
#   images/debian-<suite>-initrd-<key>/initrd.img, .ready
#   images/debian-<suite>-initrd           the current one (a symlink)
INITRD_SCRIPT_VERSION=2
build_image_initrd() {
	local suite="$1" img rel key dir work rc=0
	img="$(readlink -f "$CACHE/images/debian-$suite")" && [ -e "$img/.ready" ] || return 1
	rel="$(basename "$(ls -d "$kdir"/lib/modules/*/ | head -n1)")"
	key="$(printf '%s\n' "$INITRD_SCRIPT_VERSION" "$(basename "$img")" "$rel" | sha256sum | cut -c1-12)"
	dir="$CACHE/images/debian-$suite-initrd-$key"
	if [ ! -e "$dir/.ready" ]; then
		log "making the Debian $suite image's own initramfs into $dir"
		work="$(mktemp -d /tmp/ovfinit-initrd.XXXXXX)"
		mkdir "$work/upper" "$work/work" "$work/root"
		sudo_ mount -t overlay overlay -o "lowerdir=$img/root,upperdir=$work/upper,workdir=$work/work" "$work/root" || {
			rm -rf "$work"
			return 1
		}
		sudo_ cp /etc/resolv.conf "$work/root/etc/resolv.conf"
		install_in_image "$work/root" initramfs-tools busybox zstd || rc=$?
		if [ "$rc" = 0 ]; then
			# mkinitramfs reads the kernel's config (the compressions it
			# can unpack) where the kernel package puts it.
			sudo_ mkdir -p "$work/root/boot"
			sudo_ cp "$kdir/boot/config-$rel" "$work/root/boot/"
			sudo_ mount -t proc proc "$work/root/proc"
			sudo_ chroot "$work/root" mkinitramfs -o /tmp/initrd.img "$rel" >"$work/mkinitramfs.log" 2>&1 || rc=$?
			sudo_ umount "$work/root/proc"
		fi
		if [ "$rc" = 0 ]; then
			sudo_ rm -rf "$dir"
			sudo_ mkdir -p "$dir"
			sudo_ cp "$work/root/tmp/initrd.img" "$dir/initrd.img"
			echo "debian $suite initramfs-tools $rel" | sudo_ tee "$dir/.ready" >/dev/null
		else
			log "mkinitramfs in the $suite image failed: $(tail -n3 "$work/mkinitramfs.log" 2>/dev/null)"
		fi
		sudo_ umount "$work/root"
		sudo_ rm -rf "$work"
		[ "$rc" = 0 ] || return 1
	fi
	sudo_ ln -sfn "$(basename "$dir")" "$CACHE/images/debian-$suite-initrd"
}
if [ "${OVFINIT_E2E_IMAGES:-1}" != 0 ] && [ "${OVFINIT_BENCH_IMAGES:-0}" = 1 ]; then
	build_image_initrd bookworm || log "no Debian 12 initramfs: bench/boot.sh INITRD=image cannot boot bookworm"
	build_image_initrd trixie || log "no Debian 13 initramfs: bench/boot.sh INITRD=image cannot boot trixie"
fi

echo "$kdir" | sudo_ tee "$CACHE/current" >/dev/null
echo "$kdir"
