package users

import "golang.org/x/sys/unix"

const selinuxXattr = "security.selinux"

// getLabel returns a file's SELinux label, or nil when it has none.
func getLabel(path string) []byte {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(path, selinuxXattr, buf)
	if err != nil || n <= 0 {
		return nil
	}
	return buf[:n]
}

// setLabel gives a file the label its predecessor had.
func setLabel(path string, label []byte) error {
	return unix.Setxattr(path, selinuxXattr, label, 0)
}
