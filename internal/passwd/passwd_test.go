package passwd

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The lookups by name were sshd's (sshd/passwd.go); users and the scripts
// read the same lines through Parse and Find.

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

func TestLookupUser(t *testing.T) {
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
			got, err := LookupUser([]byte(testPasswd), "passwd", tt.name)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LookupUser(%q) = %+v, %v; want error containing %q", tt.name, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LookupUser(%q) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LookupUser(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
	if _, err := LookupUser([]byte(testPasswd), "passwd", "mallory"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("LookupUser(mallory) = %v, want errors.Is ErrUnknownUser", err)
	}
}

func TestGroups(t *testing.T) {
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
			got, err := Groups([]byte(testGroup), "group", tt.name, tt.primary)
			if err != nil {
				t.Fatalf("Groups(%q) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Groups(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
	_, err := Groups([]byte("wheel:x:abc:alice\n"), "group", "alice", 1)
	if err == nil || !strings.Contains(err.Error(), `group:1: group "wheel": bad gid "abc"`) {
		t.Errorf("Groups(bad gid) = %v, want an error naming group:1", err)
	}
}

func FuzzLookupUser(f *testing.F) {
	f.Add(testPasswd, "alice")
	f.Add(testPasswd, "badalice")
	f.Add("a:b:c:d:e:f:g\n", "a")
	f.Fuzz(func(t *testing.T, data, name string) {
		u, err := LookupUser([]byte(data), "passwd", name)
		if err == nil && u.Name != name {
			t.Errorf("LookupUser(%q) returned user %q", name, u.Name)
		}
		if err == nil {
			if _, err := Groups([]byte(data), "group", name, u.GID); err != nil && !strings.Contains(err.Error(), "group:") {
				t.Errorf("parseGroups error %v does not name the file", err)
			}
		}
	})
}

func TestFindExactName(t *testing.T) {
	db := Parse([]byte("bobby:x:1001:1001::/home/bobby:/bin/sh\nbob2:x:1002:1002::/home/bob2:/bin/sh\n"))
	if e := Find(db, "bob"); e != nil {
		t.Errorf("Find(bob) = %v, want nil (bob must not match bobby)", e)
	}
	if e := Find(db, "bob2"); e == nil || e[2] != "1002" {
		t.Errorf("Find(bob2) = %v, want the uid 1002 entry", e)
	}
	if e := Find(Parse([]byte(testPasswd)), "+nisuser"); e != nil {
		t.Errorf("Find(+nisuser) = %v, want nil: a NIS line is not an account", e)
	}
}

// TestParseFormat: Parse and Format keep every non-empty line, comments and
// NIS lines included, so a rewrite by users leaves them in place.
func TestParseFormat(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/sh\n\n# local\n+::::::\nbob:x:1000:1000::/home/bob:/bin/sh"
	want := "root:x:0:0:root:/root:/bin/sh\n# local\n+::::::\nbob:x:1000:1000::/home/bob:/bin/sh\n"
	if got := string(Format(Parse([]byte(in)))); got != want {
		t.Errorf("Format(Parse(%q)) = %q, want %q", in, got, want)
	}
	if n, e := FindLine([]byte(in), "bob"); n != 5 || e.Name() != "bob" {
		t.Errorf("FindLine(bob) = %d, %v; want line 5", n, e)
	}
}

// TestLongGroupLine: a group with so many members that its line passes
// 1 MiB is read like any other. sshd's reader scanned lines with a 1 MiB
// bufio.Scanner and failed every login ("token too long") while users,
// reading the same file, accepted it.
func TestLongGroupLine(t *testing.T) {
	var members []string
	for i := range 120000 {
		members = append(members, "memberxxx"+string(rune('a'+i%26)))
	}
	data := []byte("big:x:4242:" + strings.Join(members, ",") + ",alice\n")
	if len(data) < 1<<20 {
		t.Fatalf("test line is %d bytes, want over 1 MiB", len(data))
	}
	got, err := Groups(data, "group", "alice", 1000)
	if err != nil || !cmp.Equal(got, []uint32{1000, 4242}) {
		t.Errorf("Groups(alice) = %v, %v; want [1000 4242]", got, err)
	}
}

// FuzzParseFormat: whatever a file holds, Format(Parse(data)) parses back
// to the same entries (a rewrite by users loses no account), and Find
// finds only the exact name.
func FuzzParseFormat(f *testing.F) {
	f.Add(testPasswd, "alice")
	f.Add(testGroup, "sudo")
	f.Add("\n\n:::\n#x:y\n", "")
	f.Fuzz(func(t *testing.T, data, name string) {
		db := Parse([]byte(data))
		again := Parse(Format(db))
		if !cmp.Equal(db, again, cmp.Comparer(func(a, b Entry) bool { return strings.Join(a, ":") == strings.Join(b, ":") })) {
			t.Errorf("Parse(Format(Parse(%q))) = %q, want %q", data, again, db)
		}
		if e := Find(db, name); e != nil && e.Name() != name {
			t.Errorf("Find(%q) = %q, another name", name, e)
		}
	})
}
