// Package e2e boots a real Linux kernel under qemu with the freshly built
// agent as its init payload and checks, from the host, that a VM comes up the
// way its OVF environment says: callback events, SSH login, hostname, address.
package e2e
