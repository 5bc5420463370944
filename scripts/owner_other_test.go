//go:build !unix

package scripts

import "os"

func ownerOf(os.FileInfo) (uid, gid uint32) { return 0, 0 }
