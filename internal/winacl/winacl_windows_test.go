package winacl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/winacl"
	"github.com/ovfinit/ovfinit/internal/wine"
)

// onlySystemAndAdmins checks an SDDL DACL read back: protected, and no
// entry but SYSTEM's and Administrators'.
func onlySystemAndAdmins(t *testing.T, what, got string) {
	t.Helper()
	if !strings.HasPrefix(got, "D:P") || !strings.Contains(got, ";;;SY)") || !strings.Contains(got, ";;;BA)") || strings.Count(got, "(") != 2 {
		t.Errorf("winacl.DACL(%s) = %q, want %q", what, got, winacl.SDDL)
	}
}

// The DACL is read back as Windows stores it. Wine keeps the security
// descriptor given at creation and answers GetNamedSecurityInfo, though it
// enforces none (docs/testing.md).
func TestMkdirAllDACL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ProgramData", "ovfinit", "run")
	if err := winacl.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("winacl.MkdirAll(%s) = %v", dir, err)
	}
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
		got, err := winacl.DACL(d)
		if err != nil {
			t.Fatal(err)
		}
		if wine.Detected() && !strings.HasPrefix(got, "D:P") {
			t.Skipf("Wine lacks the SECURITY_ATTRIBUTES of CreateDirectoryW: the directory got Wine's default DACL %q", got)
		}
		onlySystemAndAdmins(t, d, got)
		if err := winacl.Private(d); err != nil {
			t.Errorf("winacl.Private(%s) = %v", d, err)
		}
	}
	f := filepath.Join(dir, "secret")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := winacl.Private(f); err != nil {
		t.Errorf("winacl.Private(a new file in %s) = %v: the DACL is not inherited", dir, err)
	}
}

func TestProtectDACL(t *testing.T) {
	wine.SkipMissing(t, "SetNamedSecurityInfo(DACL_SECURITY_INFORMATION) on files", "Wine 8.0 leaves the DACL a file was created with")
	old := filepath.Join(t.TempDir(), "old")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := winacl.MkdirAll(old, 0o700); err != nil {
		t.Fatalf("winacl.MkdirAll(existing) = %v", err)
	}
	got, err := winacl.DACL(old)
	if err != nil {
		t.Fatal(err)
	}
	onlySystemAndAdmins(t, "existing dir after MkdirAll", got)
	f := filepath.Join(old, "secret")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := winacl.Protect(f); err != nil {
		t.Fatalf("winacl.Protect(%s) = %v", f, err)
	}
	if got, err = winacl.DACL(f); err != nil {
		t.Fatal(err)
	}
	onlySystemAndAdmins(t, "file after Protect", got)
}

// Private refuses what lets others than SYSTEM and Administrators in: the
// temporary directory's DACL gives the user (and Wine: Everyone) access.
func TestPrivateRefusesOthers(t *testing.T) {
	f := filepath.Join(t.TempDir(), "open")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := winacl.DACL(f)
	if err := winacl.Private(f); err == nil {
		t.Errorf("winacl.Private(%s with DACL %q) = nil, want an error naming the other trustee", f, got)
	}
}
