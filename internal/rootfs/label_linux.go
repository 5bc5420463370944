package rootfs

import "golang.org/x/sys/unix"

const selinuxXattr = "security.selinux"

func getLabelFD(fd int) []byte {
	buf := make([]byte, 256)
	n, err := unix.Fgetxattr(fd, selinuxXattr, buf)
	if err != nil || n <= 0 {
		return nil
	}
	return buf[:n]
}

func setLabelFD(fd int, label []byte) error {
	return unix.Fsetxattr(fd, selinuxXattr, label, 0)
}
