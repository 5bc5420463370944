package users

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk a@example"
	keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK7nExHSqZ6GxMtawvlj2MfiQwbU5mbd/DOAl8b9SrFF b@example"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"ovfinit", "a", "_svc", "bob-2", "x_y", strings.Repeat("a", 32)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "Bob", "1bob", "-bob", "bob smith", "bob:x", "root/..", strings.Repeat("a", 33)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) = nil, want error", bad)
		}
	}
}

func TestParseKeys(t *testing.T) {
	keys, err := ParseKeys(keyA + "\n\n# comment\n  " + keyB + "  \n")
	if err != nil {
		t.Fatalf("ParseKeys() = %v", err)
	}
	if diff := cmp.Diff([]string{keyA, keyB}, keys); diff != "" {
		t.Errorf("ParseKeys() mismatch (-want +got):\n%s", diff)
	}
	_, err = ParseKeys(keyA + "\nssh-rsa NOTBASE64!! secret-comment\n" + keyB + "\ngarbage")
	if err == nil {
		t.Fatal("ParseKeys(bad) = nil error, want one")
	}
	for _, want := range []string{"line 2", "line 4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKeys(bad) error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "NOTBASE64") {
		t.Errorf("ParseKeys(bad) error %q echoes key material", err)
	}
}

func TestMergeKeys(t *testing.T) {
	got := string(mergeKeys([]byte(keyA+"\n"), []string{keyA, keyB}))
	if want := keyA + "\n" + keyB + "\n"; got != want {
		t.Errorf("mergeKeys() = %q, want %q", got, want)
	}
}

// TestMergeKeysTakesWantedOptions: a key configured again with options
// replaces its older line, which would otherwise stay and log in wider
// (the server uses the first line of a key that allows the login).
func TestMergeKeysTakesWantedOptions(t *testing.T) {
	restricted := `from="10.0.0.0/8",no-pty ` + keyA
	existing := "# mine\n" + keyA + "\n" + keyB + "\n" + `command="x" ` + keyA + "\n"
	got := string(mergeKeys([]byte(existing), []string{restricted}))
	if want := "# mine\n" + restricted + "\n" + keyB + "\n"; got != want {
		t.Errorf("mergeKeys() = %q, want %q", got, want)
	}
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		used map[int]bool
		want int
		pref int
	}{
		{map[int]bool{0: true}, 1000, 0},
		{map[int]bool{1000: true, 1001: true}, 1002, 0},
		{map[int]bool{1000: true}, 1005, 1005},
		{map[int]bool{1005: true}, 1000, 1005},
	}
	for _, tt := range tests {
		if got, err := allocate(tt.used, tt.pref); err != nil || got != tt.want {
			t.Errorf("allocate(%v, %d) = %d, %v, want %d", tt.used, tt.pref, got, err, tt.want)
		}
	}
}
