package cloudconfig

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// MaxUserData bounds user-data once decoded (and decompressed).
const MaxUserData = 16 << 20

// DecodeUserData decodes the user-data property's value as cloud-init's OVF
// datasource takes it: base64, with whitespace (the line breaks of a
// wrapped value) dropped first, then gunzipped when it is gzip. The caller
// names the property in the error.
func DecodeUserData(v string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil {
		return nil, fmt.Errorf("not base64: the OVF transport carries user-data base64-encoded, and this is not valid base64 (%v)", err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(r, MaxUserData+1))
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %v", err)
		}
	}
	if len(data) > MaxUserData {
		return nil, fmt.Errorf("larger than %d MiB", MaxUserData>>20)
	}
	return data, nil
}

// The forms of user-data ovfinit applies (Form); any other form is named
// by Form and refused.
const (
	FormNone        = ""             // empty
	FormCloudConfig = "cloud-config" // #cloud-config: Parse
	FormScript      = "script"       // #!: run once per instance, as cloud-init's scripts_user
)

// Form names the kind of user-data by its first line, as cloud-init tells
// them apart. A #!starlark document is a FormScript here: the caller
// (scripts.Marker) tells it apart first.
func Form(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	l := strings.TrimSpace(string(line))
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return FormNone
	case l == Header:
		return FormCloudConfig
	case strings.HasPrefix(l, "#cloud-config-archive"):
		return "#cloud-config-archive"
	case strings.HasPrefix(l, "#cloud-config-jsonp"):
		return "#cloud-config-jsonp"
	case strings.HasPrefix(l, "#cloud-boothook"):
		return "#cloud-boothook"
	case strings.HasPrefix(l, "#include"):
		return "#include"
	case strings.HasPrefix(l, "#part-handler"):
		return "#part-handler"
	case strings.HasPrefix(strings.ToLower(l), "## template:"):
		return "Jinja template"
	case strings.HasPrefix(l, "#!"):
		return FormScript
	case strings.HasPrefix(strings.ToLower(l), "content-type:"), strings.HasPrefix(strings.ToLower(l), "mime-version:"):
		return "MIME multipart"
	}
	return "unrecognised (no #cloud-config or #! first line)"
}

// UserData returns env's user-data property decoded (DecodeUserData); nil
// when it is unset, blank, or ovfenv.Redaction (the saved redacted copy
// holds that instead of user-data with a password: it reads as unset). The
// agent calls it once per boot (BuildPlan); the error does not name the
// property, the caller does.
func UserData(env *ovfenv.Environment) ([]byte, error) {
	v, ok := env.Property(ovfenv.KeyUserData.Name)
	v = strings.TrimSpace(v)
	if !ok || v == "" || ovfenv.IsUnset(v) || v == ovfenv.Redaction {
		return nil, nil
	}
	return DecodeUserData(v)
}

// RedactUserData replaces env's user-data by ovfenv.Redaction, in place,
// when c (env's user-data, parsed as far as it parses; nil when it is not
// #cloud-config) holds a password (users, chpasswd, password), so that
// the state directory and `ovfinit env show` never hold one. A later boot
// that has only the redacted copy reads user-data as unset: every
// per-instance module has run by then; bootcmd does not run again.
func RedactUserData(env *ovfenv.Environment, c *Config) *ovfenv.Environment {
	if c == nil || len(c.Secrets()) == 0 {
		return env
	}
	for i, p := range env.Properties {
		if ovfenv.NormalizeKey(p.Key) == ovfenv.KeyUserData.Name {
			env.Properties[i].Value = ovfenv.Redaction
		}
	}
	return env
}

// RedactedCopy is env as it may be shown (`ovfinit env show`) or kept in
// the state directory: ovfenv.RedactedCopy, and user-data replaced too
// when it is #cloud-config holding a password. It decodes and parses
// user-data itself; the agent, which did that once already, calls
// RedactUserData with what it parsed.
func RedactedCopy(env *ovfenv.Environment) *ovfenv.Environment {
	var c *Config
	if data, err := UserData(env); err == nil && Form(data) == FormCloudConfig {
		c, _ = Parse(data)
	}
	return RedactUserData(ovfenv.RedactedCopy(env), c)
}
