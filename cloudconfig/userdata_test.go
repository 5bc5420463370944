package cloudconfig

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
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
