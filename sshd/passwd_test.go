package sshd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The files' parsing is internal/passwd's (its tests); this is the
// server's lookup over them.
const (
	testPasswd = "root:x:0:0:root:/root:/bin/bash\n# a comment\n+nisuser::::::\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
	testGroup  = "root:x:0:\nsudo:x:27:alice,bob\nusers:x:100:bob,alice\nalice:x:1000:\nbroken:x\n"
)

func TestLookupPasswdFiles(t *testing.T) {
	dir := t.TempDir()
	pw, gr := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	os.WriteFile(pw, []byte(testPasswd), 0o644)
	os.WriteFile(gr, []byte(testGroup), 0o644)
	got, err := lookupPasswd(pw, gr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := &User{Name: "alice", UID: 1000, GID: 1000, Groups: []uint32{1000, 27, 100}, Home: "/home/alice", Shell: "/bin/bash"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lookupPasswd(alice) mismatch (-want +got):\n%s", diff)
	}
	if _, err := lookupPasswd(filepath.Join(dir, "nope"), gr, "alice"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("lookupPasswd(missing passwd) = %v, want an error naming the file", err)
	}
}
