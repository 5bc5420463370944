package winacl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/wine"
)

// onlySystemAndAdmins checks an SDDL DACL read back: protected, and no
// entry but SYSTEM's and Administrators'.
func onlySystemAndAdmins(t *testing.T, what, got string) {
	t.Helper()
	if !strings.HasPrefix(got, "D:P") || !strings.Contains(got, ";;;SY)") || !strings.Contains(got, ";;;BA)") || strings.Count(got, "(") != 2 {
		t.Errorf("DACL(%s) = %q, want %q", what, got, SDDL)
	}
}

// The DACL is read back as Windows stores it. Wine keeps the security
// descriptor given at creation and answers GetNamedSecurityInfo, though it
// enforces none (docs/testing.md).
func TestMkdirAllDACL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ProgramData", "ovfinit", "run")
	if err := MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("MkdirAll(%s) = %v", dir, err)
	}
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
		got, err := DACL(d)
		if err != nil {
			t.Fatal(err)
		}
		onlySystemAndAdmins(t, d, got)
	}
}

func TestProtectDACL(t *testing.T) {
	wine.SkipMissing(t, "SetNamedSecurityInfo(DACL_SECURITY_INFORMATION) on files", "Wine 8.0 leaves the DACL a file was created with")
	old := filepath.Join(t.TempDir(), "old")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(old, 0o700); err != nil {
		t.Fatalf("MkdirAll(existing) = %v", err)
	}
	got, err := DACL(old)
	if err != nil {
		t.Fatal(err)
	}
	onlySystemAndAdmins(t, "existing dir after MkdirAll", got)
	f := filepath.Join(old, "secret")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Protect(f); err != nil {
		t.Fatalf("Protect(%s) = %v", f, err)
	}
	if got, err = DACL(f); err != nil {
		t.Fatal(err)
	}
	onlySystemAndAdmins(t, "file after Protect", got)
}
