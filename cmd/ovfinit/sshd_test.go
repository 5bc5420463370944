package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSSHDCmdErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad_keys")
	os.WriteFile(bad, []byte("# comment\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk ok\nnot a key\n"), 0o600)
	good := filepath.Join(dir, "keys")
	os.WriteFile(good, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk ok\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no keys", []string{"sshd", "--listen", "127.0.0.1:0"}, exitUsage, "--authorized-keys"},
		{"bad keys file", []string{"sshd", "--listen", "127.0.0.1:0", "--authorized-keys", bad}, exitUsage, bad + ":3"},
		{"missing keys file", []string{"sshd", "--authorized-keys", filepath.Join(dir, "nope")}, exitUsage, "nope"},
		{"bad root login", []string{"sshd", "--authorized-keys", good, "--permit-root-login", "maybe"}, exitUsage, "--permit-root-login"},
		{"bad listen", []string{"sshd", "--listen", "256.0.0.1:22", "--authorized-keys", good, "--state-dir", dir}, exitFailed, "--listen 256.0.0.1:22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := execute(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("ovfinit %s = %d, %q; want %d and %q", strings.Join(tt.args, " "), code, out, tt.wantCode, tt.wantOut)
			}
		})
	}
}

// TestReadAuthorizedKeysFileKeepsOptions: --authorized-keys keeps each
// key's options for the server to enforce (they made the key be skipped).
func TestReadAuthorizedKeysFileKeepsOptions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys")
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk"
	os.WriteFile(p, []byte(`command="/bin/echo forced",from="127.0.0.1",no-pty `+key+" ok\n"+key+"\n"), 0o600)
	keys, err := readAuthorizedKeysFile(p)
	if err != nil || len(keys) != 2 {
		t.Fatalf("readAuthorizedKeysFile = %v, %v; want both keys", keys, err)
	}
	if got, want := keys[0].Options, `command="/bin/echo forced",from="127.0.0.1",no-pty`; got != want {
		t.Errorf("key 1 options = %q, want %q", got, want)
	}
	if keys[1].Options != "" || keys[1].Where != p+":2" {
		t.Errorf("key 2 = %q at %q, want no options at %s:2", keys[1].Options, keys[1].Where, p)
	}
}
