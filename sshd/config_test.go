package sshd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gossh "golang.org/x/crypto/ssh"
)

func TestNewNeedsHostKey(t *testing.T) {
	hk, _ := newHostKeyFile(t, KeyEd25519)
	tests := []struct {
		name    string
		keys    []gossh.Signer
		wantErr string
	}{
		{"none", nil, "HostKeys is empty"},
		{"nil entry", []gossh.Signer{hk, nil}, "HostKeys[1] is nil"},
		{"one", []gossh.Signer{hk}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{HostKeys: tt.keys})
			if tt.wantErr == "" && err != nil {
				t.Errorf("New(%s) = %v, want nil", tt.name, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("New(%s) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestDedupEnv(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"A=1", "B=2"}, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2", "A=3"}, []string{"B=2", "A=3"}},
		{[]string{"HOME=/evil", "PATH=/bin", "HOME=/home/a"}, []string{"PATH=/bin", "HOME=/home/a"}},
	}
	for _, tt := range tests {
		got := dedupEnv(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("dedupEnv(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
