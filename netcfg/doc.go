// Package netcfg configures the guest's network from the OVF environment.
//
// Planning is pure: Plan turns the desired configuration and the links the
// machine has into a list of operations, validated whole before anything is
// changed. Applying the operations is per OS (apply_linux.go uses netlink).
package netcfg
