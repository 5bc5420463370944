package sshd

import "github.com/ovfinit/ovfinit/internal/rootfs"

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
