package scripts

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLookupOwner(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nbobby:x:1001:1001::/:/bin/sh\nbob:x:1000:1000::/:/bin/sh\n"+
		"baduid:x:u:1::/:/bin/sh\nbadgid:x:1002:g::/:/bin/sh\nshort:x:9\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nstaff:x:50:\nbadgrp:x:g:\n"), 0o644)
	h, err := NewLiveHost(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, tc := range []struct {
		owner    string
		uid, gid int
		err      string
	}{
		{owner: "bob", uid: 1000, gid: 1000},
		{owner: "bob:staff", uid: 1000, gid: 50},
		{owner: "bob:", uid: 1000, gid: -1},
		{owner: ":staff", uid: -1, gid: 50},
		{owner: "7:8", uid: 7, gid: 8},
		{owner: "7", uid: 7, gid: -1},
		{owner: "bob:8", uid: 1000, gid: 8},
		{owner: "7:staff", uid: 7, gid: 50},
		{owner: "badgid:staff", uid: 1002, gid: 50},
		{owner: "nobody", err: `owner "nobody": no "nobody" in /etc/passwd`},
		{owner: "short", err: `owner "short": no "short" in /etc/passwd`},
		{owner: "bob:wheel", err: `owner "bob:wheel": no "wheel" in /etc/group`},
		{owner: "baduid", err: `owner "baduid": bad uid in /etc/passwd`},
		{owner: "badgid", err: `owner "badgid": bad gid in /etc/passwd`},
		{owner: "bob:badgrp", err: `owner "bob:badgrp": bad gid in /etc/group`},
		{owner: "-1", err: `owner "-1": no "-1" in /etc/passwd`},
	} {
		t.Run(tc.owner, func(t *testing.T) {
			if runtime.GOOS == "windows" {
				// Windows files have no uid owner: every owner= is
				// refused, naming it, never dropped.
				tc.err = fmt.Sprintf("owner %q: file owners are not supported on windows", tc.owner)
			}
			uid, gid, err := h.lookupOwner(tc.owner)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("lookupOwner(%q) = %d, %d, %v; want error %q", tc.owner, uid, gid, err, tc.err)
				}
				if uid != -1 || gid != -1 {
					t.Errorf("lookupOwner(%q) on error = %d, %d; want -1, -1", tc.owner, uid, gid)
				}
				return
			}
			if err != nil || uid != tc.uid || gid != tc.gid {
				t.Errorf("lookupOwner(%q) = %d, %d, %v; want %d, %d", tc.owner, uid, gid, err, tc.uid, tc.gid)
			}
		})
	}
}
