// Package vm is the harness for ovfinit's VM tests and demo: it boots
// Debian's kernel under qemu (TCG) from an initramfs holding busybox, the
// needed kernel modules and the freshly built agent, attaches the OVF
// environment as an ISO and a persistent ext4 state disk, forwards the
// guest's SSH port to 127.0.0.1, and records the agent's CloudEvents.
//
// The host needs what e2e/prepare.sh installs: qemu-system-x86, busybox-static,
// genisoimage, e2fsprogs, and an unpacked kernel in the cache it names
// (OVFINIT_E2E_CACHE, default /var/cache/ovfinit-e2e; or OVFINIT_KERNEL_DIR).
//
// The guest's /init loads the modules, mounts /dev/vda at /persist and
// bind-mounts /etc, /home, /var/lib/ovfinit and /root from it, starts
// "ovfinit run --wait-env 60s", and on a "poweroff" line on the serial
// console stops the agent with SIGTERM and powers off. Its own console
// lines start with OVFINIT-E2E; "OVFINIT-EXIT <code>" reports an agent that
// ended by itself. With InitramfsOptions.NoAgent it starts no agent and
// runs "/sbin/ifup -a" instead, printing the network state as
// "OVFINIT-NET" lines (ParseNetState, Machine.WaitNetState).
//
// Real images (image.go): ImageTree finds a Debian root prepare.sh
// debootstrapped, BuildDeb and BuildImageDisk install the agent's .deb into
// a copy with dpkg and make an ext4 disk of it, and BuildBootInitramfs makes
// the small initramfs that mounts it and starts the image's systemd
// (Options.Cmdline = ImageCmdline); Machine.Shutdown presses the ACPI power
// button through qemu's monitor (Options.MonitorSocket).
package vm
