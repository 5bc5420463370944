// Package deptest holds the dependency test of the guest packages: what
// runs inside the VM (agent, ovfenv, netcfg, users, sshd, scripts,
// callback, internal/...) must not link the manager's tooling (manager/...,
// packaging, go-diskfs, nfpm, govmomi, cobra) nor need cgo, on any OS the
// agent ships for. It has no code: see deptest_test.go (the idea is
// tailscale's tstest/deptest).
package deptest
