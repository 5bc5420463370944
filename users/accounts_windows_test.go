package users

import (
	"context"
	"errors"
	"testing"
)

// NewManager on Windows picks netapi32 only for the running system: a
// test's root, or an offline image, must never reach NetUserAdd (issue 17:
// --root was ignored and a real account made).
func TestNewManagerRootWindows(t *testing.T) {
	root := t.TempDir()
	m := NewManager(root, nil)
	if _, ok := m.win.(OfflineAccounts); !ok {
		t.Fatalf("NewManager(%s).win = %T, want OfflineAccounts", root, m.win)
	}
	if _, err := m.Ensure(context.Background(), User{Name: "ovfinittest", Keys: []string{keyA}}); !errors.Is(err, ErrOfflineWindows) {
		t.Errorf("Ensure under %s = %v, want ErrOfflineWindows", root, err)
	}
	for _, live := range []string{"/", "", `\`, `C:\`, `c:\`} {
		t.Setenv("SystemDrive", "C:")
		if _, ok := NewManager(live, nil).win.(netapiAccounts); !ok {
			t.Errorf("NewManager(%q).win is not netapi32: the live root", live)
		}
	}
}
