package sshd

import (
	"runtime"
	"slices"
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

// The option each Windows shell takes before a command (issue 17: exec
// through PowerShell got cmd.exe's /C, which PowerShell runs as a path).
func TestWindowsShellArgs(t *testing.T) {
	tests := []struct {
		shell, command string
		argv           []string
		cmdline        string
	}{
		{`C:\Windows\System32\cmd.exe`, `echo "a b" & ver`, []string{`C:\Windows\System32\cmd.exe`, "/C", `echo "a b" & ver`},
			`"C:\Windows\System32\cmd.exe" /C echo "a b" & ver`},
		{`C:\WINDOWS\system32\CMD.EXE`, "dir", []string{`C:\WINDOWS\system32\CMD.EXE`, "/C", "dir"}, `"C:\WINDOWS\system32\CMD.EXE" /C dir`},
		{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "Get-Date; $PSVersionTable",
			[]string{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "-Command", "Get-Date; $PSVersionTable"},
			`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -Command Get-Date; $PSVersionTable`},
		{`C:\Program Files\PowerShell\7\pwsh.exe`, "ls", []string{`C:\Program Files\PowerShell\7\pwsh.exe`, "-Command", "ls"},
			`"C:\Program Files\PowerShell\7\pwsh.exe" -Command ls`},
		{`C:/Program Files/Git/bin/bash.exe`, "uname -a", []string{`C:/Program Files/Git/bin/bash.exe`, "-c", "uname -a"},
			`"C:/Program Files/Git/bin/bash.exe" -c uname -a`},
		{`cmd.exe`, "", []string{`cmd.exe`}, `"cmd.exe"`},
	}
	for _, tt := range tests {
		argv, cmdline := windowsShellArgs(tt.shell, tt.command)
		if !slices.Equal(argv, tt.argv) || cmdline != tt.cmdline {
			t.Errorf("windowsShellArgs(%q, %q) = %q, %q; want %q, %q", tt.shell, tt.command, argv, cmdline, tt.argv, tt.cmdline)
		}
	}
}
