package sshd

import (
	"runtime"
	"testing"
)

// The Windows login forms map to the local account on every OS (the
// mapping is portable; only the Windows lookup uses it).
func TestLocalAccountName(t *testing.T) {
	for _, tt := range []struct {
		login, name, domain string
		ok                  bool
	}{
		{"bob", "bob", "", true},
		{`.\bob`, "bob", ".", true},
		{`WIN1\bob`, "bob", "WIN1", true},
		{`CORP\Administrator`, "Administrator", "CORP", true},
		{"bob@corp.example.com", "bob", "corp.example.com", true},
		{"bob@WIN1", "bob", "WIN1", true},
		{`\bob`, "", "", false},
		{`WIN1\`, "", "", false},
		{"bob@", "", "", false},
		{"@corp", "", "", false},
		{`A\B\bob`, "", "", false},
		{`WIN1\bob@corp`, "", "", false},
		{"", "", "", false},
	} {
		name, domain, err := LocalAccountName(tt.login)
		if (err == nil) != tt.ok || name != tt.name || domain != tt.domain {
			t.Errorf("LocalAccountName(%q) = %q, %q, %v; want %q, %q, ok %v", tt.login, name, domain, err, tt.name, tt.domain, tt.ok)
		}
	}
}

// A session's guard accepts the mapped account only where names are
// mapped (the Wine session test failed with "no authenticated user").
func TestSameAccount(t *testing.T) {
	u := &User{Name: "bob"}
	win := runtime.GOOS == "windows"
	for login, want := range map[string]bool{"bob": true, `.\bob`: win, "bob@corp": win, `WIN1\bob`: win, "alice": false, `.\alice`: false, `\bob`: false} {
		if got := sameAccount(u, login); got != want {
			t.Errorf("sameAccount(bob, %q) = %v, want %v", login, got, want)
		}
	}
}
