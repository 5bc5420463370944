package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvValidateUserData (issue 20): env validate checks user-data as the
// agent does: not base64, a refused #cloud-config module (with the line in
// the document) and an unsupported form are errors; with --root, a
// write_files owner the image lacks is one too.
func TestEnvValidateUserData(t *testing.T) {
	doc := func(v string) string {
		return writeEnv(t, strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`,
			`<Property oe:key="user-data" oe:value="`+v+`"/>`, 1))
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct{ name, value, want string }{
		{"not base64", "#cloud-config", ":7: error: property user-data: not base64"},
		{"refused module", b64("#cloud-config\nruncmd: [ls]\nntp: {enabled: true}\n"), ":7: error: property user-data: #cloud-config line 3: ntp: not applied"},
		{"multipart", b64("MIME-Version: 1.0\n"), "MIME multipart user-data is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := execute(t, "env", "validate", doc(tc.value))
			if code != exitFailed || !strings.Contains(out, tc.want) {
				t.Errorf("env validate: exit %d, want %d and %q:\n%s", code, exitFailed, tc.want, out)
			}
		})
	}
	if out, code := execute(t, "env", "validate", doc(b64("#cloud-config\nruncmd: [ls]\n"))); code != exitOK {
		t.Errorf("env validate (good cloud-config): exit %d:\n%s", code, out)
	}
	root := t.TempDir()
	for name, content := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n", "etc/os-release": "ID=debian\n",
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := doc(b64("#cloud-config\nwrite_files:\n  - path: /x\n    owner: nobody\n    content: y\n"))
	out, code := execute(t, "env", "validate", "--root", root, f)
	if code != exitFailed || !strings.Contains(out, "#cloud-config line 3: write_files: /x: owner nobody is not an account of the image") {
		t.Errorf("env validate --root (owner missing): exit %d:\n%s", code, out)
	}
}
