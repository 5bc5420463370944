package sshd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
# a comment

+nisuser::::::
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
broken-other:x:7
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
noshell:x:1001:1001::/home/noshell:
badalice:x:12x:1000::/home/b:/bin/sh
short:x:5:5
`

const testGroup = `root:x:0:
sudo:x:27:alice,bob
users:x:100:bob,alice
alice:x:1000:
broken:x
adm:x:4:alicex,xalice
`

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		name    string
		want    *User
		wantErr string // substring; empty for success
	}{
		{"alice", &User{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice", Shell: "/bin/bash"}, ""},
		{"root", &User{Name: "root", UID: 0, GID: 0, Home: "/root", Shell: "/bin/bash"}, ""},
		{"noshell", &User{Name: "noshell", UID: 1001, GID: 1001, Home: "/home/noshell"}, ""},
		{"mallory", nil, "not in passwd"},
		{"", nil, "unknown user"},
		{"nisuser", nil, "not in passwd"},
		{"al:ice", nil, "unknown user"},
		{"badalice", nil, `passwd:9: user "badalice": bad uid "12x"`},
		{"short", nil, `passwd:10: user "short": want 7 colon-separated fields, got 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePasswd(strings.NewReader(testPasswd), "passwd", tt.name)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parsePasswd(%q) = %+v, %v; want error containing %q", tt.name, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePasswd(%q) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parsePasswd(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
	if _, err := parsePasswd(strings.NewReader(testPasswd), "passwd", "mallory"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("parsePasswd(mallory) = %v, want errors.Is ErrUnknownUser", err)
	}
}

func TestParseGroups(t *testing.T) {
	tests := []struct {
		name    string
		primary uint32
		want    []uint32
	}{
		{"alice", 1000, []uint32{1000, 27, 100}},
		{"bob", 100, []uint32{100, 27}},
		{"carol", 500, []uint32{500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGroups(strings.NewReader(testGroup), "group", tt.name, tt.primary)
			if err != nil {
				t.Fatalf("parseGroups(%q) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseGroups(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
	_, err := parseGroups(strings.NewReader("wheel:x:abc:alice\n"), "group", "alice", 1)
	if err == nil || !strings.Contains(err.Error(), `group:1: group "wheel": bad gid "abc"`) {
		t.Errorf("parseGroups(bad gid) = %v, want an error naming group:1", err)
	}
}

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

func FuzzParsePasswd(f *testing.F) {
	f.Add(testPasswd, "alice")
	f.Add(testPasswd, "badalice")
	f.Add("a:b:c:d:e:f:g\n", "a")
	f.Fuzz(func(t *testing.T, data, name string) {
		u, err := parsePasswd(strings.NewReader(data), "passwd", name)
		if err == nil && u.Name != name {
			t.Errorf("parsePasswd(%q) returned user %q", name, u.Name)
		}
		if err == nil {
			if _, err := parseGroups(strings.NewReader(data), "group", name, u.GID); err != nil && !strings.Contains(err.Error(), "group:") {
				t.Errorf("parseGroups error %v does not name the file", err)
			}
		}
	})
}
