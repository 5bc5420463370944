package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/ovfenv"
)

const envDoc = `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:ve="http://www.vmware.com/schema/ovfenv" oe:id="web">
  <PlatformSection><Kind>KVM</Kind><TimeZone>60</TimeZone></PlatformSection>
  <PropertySection>
    <Property oe:key="hostname" oe:value="web1"/>
    <Property oe:key="guestinfo.root_password" oe:value="hunter2"/>
    <Property oe:key="made-up" oe:value="x"/>
  </PropertySection>
  <ve:EthernetAdapterSection><ve:Adapter ve:mac="00:50:56:00:00:01" ve:network="VM Network" ve:unitNumber="7"/></ve:EthernetAdapterSection>
  <Entity oe:id="db"><PropertySection><Property oe:key="ip" oe:value="10.0.0.2"/></PropertySection></Entity>
</Environment>
`

func writeEnv(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ovf-env.xml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvShowJSON(t *testing.T) {
	out, code := execute(t, "env", "show", "--json", writeEnv(t, envDoc))
	if code != exitOK {
		t.Fatalf("env show --json exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("env show printed a secret:\n%s", out)
	}
	var got struct {
		Source     string            `json:"source"`
		ID         string            `json:"id"`
		Platform   map[string]string `json:"platform"`
		Properties map[string]string `json:"properties"`
		Entities   []struct {
			ID         string            `json:"id"`
			Properties map[string]string `json:"properties"`
		} `json:"entities"`
		Adapters []map[string]string `json:"adapters"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("env show --json output does not parse: %v\n%s", err, out)
	}
	if got.Source != "file" || got.ID != "web" || got.Platform["timezone"] != "60" {
		t.Errorf("source, id, platform = %q, %q, %v; want file, web, timezone 60", got.Source, got.ID, got.Platform)
	}
	want := map[string]string{"hostname": "web1", "guestinfo.root_password": "(redacted)", "made-up": "x"}
	if diff := cmp.Diff(want, got.Properties); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	if len(got.Entities) != 1 || got.Entities[0].ID != "db" || got.Entities[0].Properties["ip"] != "10.0.0.2" {
		t.Errorf("entities = %+v, want db with ip 10.0.0.2", got.Entities)
	}
	if len(got.Adapters) != 1 || got.Adapters[0]["unitNumber"] != "7" {
		t.Errorf("adapters = %v, want one with unitNumber 7", got.Adapters)
	}
}

func TestEnvValidate(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		code int
		want []string
	}{
		{name: "ok with a warning", doc: envDoc, code: exitOK, want: []string{":7: warning: property made-up", "ok"}},
		{
			name: "every error at once",
			doc: strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`,
				`<Property oe:key="ovfinit.ssh.port" oe:value="x"/>
    <Property oe:key="ovfinit.user" oe:value="Bad User"/>`, 1),
			code: exitFailed,
			want: []string{":7: error: property ovfinit.ssh.port", ":8: error: property ovfinit.user"},
		},
		{name: "not XML", doc: "<Environment", code: exitFailed, want: []string{"error: ovf-env line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := execute(t, "env", "validate", writeEnv(t, tt.doc))
			if code != tt.code {
				t.Errorf("env validate exit %d, want %d:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("env validate output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if _, code := execute(t, "env", "validate"); code != exitUsage {
		t.Errorf("env validate with no FILE: exit %d, want %d", code, exitUsage)
	}
}

// TestEnvShowHidesURLCredentials (issue 13, defect 10): env show prints the
// callback URL without its user information and query token.
func TestEnvShowHidesURLCredentials(t *testing.T) {
	doc := strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`,
		`<Property oe:key="ovfinit.callback.url" oe:value="https://cb:p4ss-word@mgr.example/events?token=tok-123456"/>`, 1)
	out, code := execute(t, "env", "show", writeEnv(t, doc))
	if code != exitOK || strings.Contains(out, "p4ss-word") || strings.Contains(out, "tok-123456") ||
		!strings.Contains(out, "https://redacted:redacted@mgr.example/events?token=redacted") {
		t.Errorf("env show = exit %d:\n%s\nwant the URL with its credentials redacted", code, out)
	}
}

// TestEnvShowHidesUserDataPasswords: user-data that is #cloud-config
// holding a password is shown as redacted, as the state directory keeps
// it; user-data without one is shown as it is.
func TestEnvShowHidesUserDataPasswords(t *testing.T) {
	show := func(ud string) string {
		b64 := base64.StdEncoding.EncodeToString([]byte(ud))
		doc := strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`,
			`<Property oe:key="user-data" oe:value="`+b64+`"/>`, 1)
		out, code := execute(t, "env", "show", writeEnv(t, doc))
		if code != exitOK {
			t.Fatalf("env show = exit %d:\n%s", code, out)
		}
		return out
	}
	secret := "#cloud-config\nchpasswd:\n  list: |\n    root:Chpasswd-Secret-9\n"
	if out := show(secret); strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(secret))) || !strings.Contains(out, ovfenv.Redaction) {
		t.Errorf("env show of user-data with a password:\n%s\nwant user-data %s", out, ovfenv.Redaction)
	}
	plain := "#cloud-config\nhostname: web1\n"
	if out := show(plain); !strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(plain))) {
		t.Errorf("env show of user-data without a password:\n%s\nwant it shown", out)
	}
}

// TestEnvValidateRoot (issue 13, defect 13): with --root, env validate
// checks the user against the image's accounts as the agent does: a taken
// uid is an error naming ovfinit.user.uid; an override is a warning.
func TestEnvValidateRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
		"etc/group":  "root:x:0:\nalice:x:1000:\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc := func(props string) string {
		return strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`, props, 1)
	}
	taken := writeEnv(t, doc(`<Property oe:key="ovfinit.user" oe:value="bob"/>
    <Property oe:key="ovfinit.user.uid" oe:value="1000"/>`))
	out, code := execute(t, "env", "validate", "--root", root, taken)
	if code != exitFailed || !strings.Contains(out, ":8: error: property ovfinit.user.uid: uid 1000 is taken by alice") {
		t.Errorf("env validate --root (uid taken): exit %d, want %d and an error naming ovfinit.user.uid:\n%s", code, exitFailed, out)
	}
	if out, code := execute(t, "env", "validate", taken); code != exitOK {
		t.Errorf("env validate without --root: exit %d, want %d (the image is not checked):\n%s", code, exitOK, out)
	}
	allowed := writeEnv(t, doc(`<Property oe:key="ovfinit.user" oe:value="root"/>
    <Property oe:key="ovfinit.user.allow-system" oe:value="true"/>`))
	out, code = execute(t, "env", "validate", "--root", root, allowed)
	if code != exitOK || !strings.Contains(out, ":7: warning: property ovfinit.user: root is the superuser") {
		t.Errorf("env validate --root (root, allowed): exit %d, want %d and a warning:\n%s", code, exitOK, out)
	}
}
