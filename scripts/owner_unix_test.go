//go:build unix

package scripts

import (
	"os"
	"syscall"
)

func ownerOf(fi os.FileInfo) (uid, gid uint32) {
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}
