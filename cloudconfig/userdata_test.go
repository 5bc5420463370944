package cloudconfig

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/ovfenv"
)

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// TestDecodeUserData: base64 (wrapped or not), gunzipped when gzip, and
// its form by the first line.
func TestDecodeUserData(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		in, want, form, err string
	}{
		{enc([]byte("#cloud-config\nhostname: a\n")), "#cloud-config\nhostname: a\n", FormCloudConfig, ""},
		{enc([]byte("#!/bin/sh\ntrue\n"))[:6] + "\n " + enc([]byte("#!/bin/sh\ntrue\n"))[6:], "#!/bin/sh\ntrue\n", FormScript, ""},
		{enc(gz("#cloud-config\n")), "#cloud-config\n", FormCloudConfig, ""},
		{enc([]byte("#include\nhttp://x/\n")), "#include\nhttp://x/\n", "#include", ""},
		{enc([]byte("\n\n")), "\n\n", FormNone, ""},
		{"#cloud-config", "", "", "not base64"},
		{enc([]byte{0x1f, 0x8b, 1, 2}), "", "", "gzip"},
	} {
		got, err := DecodeUserData(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("DecodeUserData(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("DecodeUserData(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if f := Form(got); f != tc.form {
			t.Errorf("Form(%q) = %q, want %q", got, f, tc.form)
		}
	}
}

func FuzzDecodeUserData(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte("#cloud-config\n")))
	f.Add(base64.StdEncoding.EncodeToString(gz("#!/bin/sh\n")))
	f.Add("not base64")
	f.Fuzz(func(t *testing.T, v string) {
		data, err := DecodeUserData(v)
		if err == nil && len(data) > MaxUserData {
			t.Fatalf("DecodeUserData() returned %d bytes, more than MaxUserData", len(data))
		}
		Form(data)
	})
}

// TestUserDataRedaction: user-data is read once from the property (the
// saved copy's redaction reads as unset), and replaced in a redacted copy
// only when it is #cloud-config holding a password.
func TestUserDataRedaction(t *testing.T) {
	env := func(v string) *ovfenv.Environment {
		return &ovfenv.Environment{Properties: []ovfenv.Property{{Key: "user-data", Value: v}, {Key: "password", Value: "s3cret-pw"}}}
	}
	if data, err := UserData(env(ovfenv.Redaction)); data != nil || err != nil {
		t.Errorf("UserData(%s) = %q, %v; want unset", ovfenv.Redaction, data, err)
	}
	if _, err := UserData(env("not base64!")); err == nil {
		t.Errorf("UserData(not base64) = nil error")
	}
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for ud, redacted := range map[string]bool{
		"#cloud-config\npassword: hunter22\n":                       true,
		"#cloud-config\nchpasswd:\n  list: |\n    root:Secret-99\n": true,
		"#cloud-config\nhostname: web1\n":                           false,
		"#!/bin/sh\necho password\n":                                false,
	} {
		src := env(enc(ud))
		got := RedactedCopy(src)
		v, _ := got.Property("user-data")
		if (v == ovfenv.Redaction) != redacted {
			t.Errorf("RedactedCopy(user-data %q) user-data = %q, want redacted %v", ud, v, redacted)
		}
		if pw, _ := got.Property("password"); pw != ovfenv.Redaction {
			t.Errorf("RedactedCopy() password = %q, want %s", pw, ovfenv.Redaction)
		}
		if orig, _ := src.Property("user-data"); orig != enc(ud) {
			t.Errorf("RedactedCopy() changed its argument's user-data to %q", orig)
		}
	}
}
