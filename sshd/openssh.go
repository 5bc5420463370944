package sshd

import (
	"path"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// OpenSSHServer is where an image keeps OpenSSH's server.
const OpenSSHServer = "/usr/sbin/sshd"

// HasOpenSSH reports whether the tree at root has OpenSSH's server (a
// regular file at OpenSSHServer, resolved inside the tree).
func HasOpenSSH(root string) bool {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return false
	}
	defer fsys.Close()
	fi, err := fsys.Stat(OpenSSHServer)
	return err == nil && fi.Mode().IsRegular()
}

// OpenSSHHasHostKey reports whether the tree at root has a host key of its
// own in /etc/ssh (any of HostKeyTypes), so that its OpenSSH starts as it is.
func OpenSSHHasHostKey(root string) bool {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return false
	}
	defer fsys.Close()
	for _, typ := range HostKeyTypes {
		if _, err := fsys.Stat(path.Join("/etc/ssh", HostKeyFile(typ))); err == nil {
			return true
		}
	}
	return false
}
