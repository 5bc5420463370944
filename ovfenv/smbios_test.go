package ovfenv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestSystemUUID(t *testing.T) {
	for _, tc := range []struct{ file, want, err string }{
		{"4C4C4544-0042-3510-8052-B4C04F4E4E32\n", "4c4c4544-0042-3510-8052-b4c04f4e4e32", ""},
		{"00000000-0000-0000-0000-000000000000\n", "", "SMBIOS system UUID is empty"},
		{"  \n", "", "SMBIOS system UUID is empty"},
	} {
		root := t.TempDir()
		p := filepath.Join(root, filepath.FromSlash(SystemUUIDPath))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(tc.file), 0o444); err != nil {
			t.Fatal(err)
		}
		got, err := SystemUUID(root)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("SystemUUID(%q) = %q, %v; want %q, %q", tc.file, got, err, tc.want, tc.err)
		}
	}
	if _, err := SystemUUID(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SystemUUID(no file) = %v, want fs.ErrNotExist", err)
	}
}
