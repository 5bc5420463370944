package cloudconfig

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk a@b"

func TestParse(t *testing.T) {
	doc := `#cloud-config
hostname: app1
fqdn: app1.example.com
users:
  - default
  - name: utko
    sudo: ALL=(ALL) NOPASSWD:ALL
    groups: users, docker
    shell: /bin/bash
    lock_passwd: false
    passwd: "$6$rounds=4096$abc$def"
    # a comment line
    ssh_authorized_keys:
      - ` + key1 + `
groups:
  - admingroup: [utko]
  - cloud-users
ssh_pwauth: yes
chpasswd:
  expire: false
  users:
    - {name: utko, password: s3cret, type: text}
write_files:
  - path: /etc/app.conf
    content: |
      a=1
    permissions: '0600'
    owner: utko:utko
  - path: /etc/motd
    encoding: b64
    content: aGVsbG8K
    append: true
    defer: true
bootcmd:
  - echo boot
runcmd:
  - [ls, -l, /]
  - echo "$INSTANCE_ID" > /tmp/x
package_update: true
packages:
  - nginx
  - [libfoo, 1.2-3]
phone_home:
  url: http://10.0.0.1/$INSTANCE_ID/
  post: [pub_key_ed25519, instance_id]
  tries: 3
final_message: "up after $UPTIME seconds"
power_state:
  mode: reboot
  delay: "+5"
  message: bye
`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	msg := "up after $UPTIME seconds"
	want := &Config{
		UsersSet: true, DefaultUser: true,
		Lines: map[string]int{"hostname": 2, "fqdn": 3, "users": 4, "groups": 15, "ssh_pwauth": 18, "chpasswd": 19, "write_files": 23,
			"bootcmd": 34, "runcmd": 36, "package_update": 39, "packages": 40, "phone_home": 43, "final_message": 47, "power_state": 48},
		Users: []User{{Line: 6, Name: "utko", Admin: true, Groups: []string{"users", "docker"}, Shell: "/bin/bash",
			Password: "$6$rounds=4096$abc$def", Keys: []string{key1}}},
		Groups:    []Group{{Line: 16, Name: "admingroup", Members: []string{"utko"}}, {Line: 17, Name: "cloud-users"}},
		SSHPwauth: ptr(true),
		Chpasswd:  &Chpasswd{Line: 20, Users: []ChpasswdUser{{Line: 22, Name: "utko", Password: "s3cret"}}},
		Hostname:  "app1", FQDN: "app1.example.com", HostnameLine: 2,
		WriteFiles: []File{{Line: 24, Path: "/etc/app.conf", Content: []byte("a=1\n"), Owner: "utko:utko", Permissions: 0o600},
			{Line: 29, Path: "/etc/motd", Content: []byte("hello\n"), Owner: "root:root", Permissions: 0o644, Append: true, Defer: true}},
		Bootcmd:       []Command{{Line: 35, Shell: "echo boot"}},
		Runcmd:        []Command{{Line: 37, Argv: []string{"ls", "-l", "/"}}, {Line: 38, Shell: `echo "$INSTANCE_ID" > /tmp/x`}},
		PackageUpdate: true,
		Packages:      []Package{{Line: 41, Name: "nginx"}, {Line: 42, Name: "libfoo", Version: "1.2-3"}},
		PhoneHome:     &PhoneHome{Line: 44, URL: "http://10.0.0.1/$INSTANCE_ID/", Post: []string{"pub_key_ed25519", "instance_id"}, Tries: 3},
		FinalMessage:  &msg,
		PowerState:    &PowerState{Line: 49, Mode: "reboot", Delay: 5, Message: "bye"},
	}
	if diff := cmp.Diff(want, c, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// TestParseRefuses: every key ovfinit does not apply is refused with its
// line; all problems come back at once; a password never appears in an
// error.
func TestParseRefuses(t *testing.T) {
	doc := `#cloud-config
timezone: Europe/Berlin
frobnicate: 1
users:
  - name: bob
    inactive: '5'
    sudo: ALL=(ALL) ALL
    plain_text_passwd: hunter2-secret
chpasswd:
  list: |
    bob:RANDOM
write_files:
  - path: relative/x
    encoding: b64
    content: "!!!"
  - path: /etc/y
    source: {uri: http://x}
runcmd: echo hi
packages:
  - apt: [x]
  - "--force-yes"
power_state:
  mode: sleep
hostname: a
hostname: b
`
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("Parse() = nil, want errors")
	}
	for _, w := range []string{
		"line 2: timezone: not applied", "line 3: frobnicate: not a cloud-config key",
		"line 6: users[0].inactive", "line 7: users[0].sudo: sudo rule \"ALL=(ALL) ALL\"",
		"line 10: chpasswd.list line 1: random passwords",
		"write_files[0].path", "line 15: write_files[0].content: not base64",
		"line 17: write_files[1].source", "line 18: runcmd: want a list", "line 20: packages[0]",
		`"--force-yes" is not a package name`, "line 23: power_state.mode", "line 25: hostname: given twice (first at line 24)",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse() error does not mention %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Parse() error shows a password:\n%v", err)
	}
}

func TestParseForms(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"no header", "hostname: x\n", "first line is not #cloud-config"},
		{"not yaml", "#cloud-config\nusers: [\n", "not YAML"},
		{"two documents", "#cloud-config\na: 1\n---\nb: 2\n", "a second YAML document"},
		{"a list", "#cloud-config\n- a\n", "want a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %v, want an error with %q", tc.doc, err, tc.want)
			}
		})
	}
	if c, err := Parse([]byte("#cloud-config\n")); err != nil || c == nil {
		t.Errorf("Parse(empty) = %v, %v; want an empty config", c, err)
	}
}

// BenchmarkParse measures a typical template (testdata/accept/terraform.yaml).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/accept/terraform.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
