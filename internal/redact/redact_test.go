package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestDerivedForms: every form a script or a library can make of a secret
// in one step is replaced, wherever it sits in the text.
func TestDerivedForms(t *testing.T) {
	for _, secret := range []string{"Hunter2-pass", `p"a\ss<&>w0rd`, "pässwörd-ñ", "tok/en+=?&x"} {
		r := New(secret)
		jsonOf := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		forms := map[string]string{
			"exact":      secret,
			"upper":      strings.ToUpper(secret),
			"lower":      strings.ToLower(secret),
			"title":      titleCase(secret),
			"swapcase":   swapCase(secret),
			"%q":         strconv.Quote(secret),
			"%+q":        strconv.QuoteToASCII(secret),
			"json":       jsonOf(map[string]string{"p": secret}),
			"json twice": jsonOf(jsonOf(map[string]string{"p": secret})),
			"query":      url.QueryEscape(secret),
			"path":       url.PathEscape(secret),
			"hex":        hex.EncodeToString([]byte(secret)),
			"HEX":        strings.ToUpper(hex.EncodeToString([]byte(secret))),
		}
		for pre := range 3 {
			for post := range 3 {
				in := []byte(strings.Repeat("a", pre) + secret + strings.Repeat("z", post) + "\n")
				forms[fmt.Sprintf("base64 %d+%d", pre, post)] = base64.StdEncoding.EncodeToString(in)
				forms[fmt.Sprintf("base64url %d+%d", pre, post)] = base64.RawURLEncoding.EncodeToString(in)
			}
		}
		for name, f := range forms {
			text := "before " + f + " after"
			got := r.String(text)
			if !strings.Contains(got, Mark) || !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
				t.Errorf("secret %q, %s: String(%q) = %q, want the form replaced by %s and the rest kept", secret, name, text, got, Mark)
			}
			if strings.Contains(got, secret) {
				t.Errorf("secret %q, %s: String(%q) = %q still holds it", secret, name, text, got)
			}
		}
	}
}

func TestShortAndNil(t *testing.T) {
	var nilR *Redactor
	if got := nilR.String("abc hunter22"); got != "abc hunter22" {
		t.Errorf("nil.String = %q", got)
	}
	r := New("abc", "", "hunter22")
	if got, want := r.String("abc HUNTER22 hunter22hunter22"), "abc [redacted] [redacted]"; got != want {
		t.Errorf("String = %q, want %q (short secrets kept, overlapping matches merged)", got, want)
	}
	if !New("no").Empty() {
		t.Error("New(\"no\").Empty() = false, want true: a 2-byte secret is not searched for")
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	r := New()
	log := Logger(slog.New(slog.NewTextHandler(&buf, nil)), r)
	log.Info("before", "pw", "hunter22")
	r.Add("hunter22")
	log.With("k", "HUNTER22").Info("msg hunter22", "err", fmt.Errorf("wrapped %q", "hunter22"), slog.Group("g", "v", "x-hunter22"))
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "hunter22") {
		t.Fatalf("log:\n%s\nwant two lines, the first logged before the secret was known", out)
	}
	if strings.Contains(strings.ToLower(lines[1]), "hunter22") || strings.Count(lines[1], Mark) != 4 {
		t.Errorf("second line = %s\nwant message, With attribute, error and group value redacted", lines[1])
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:pa%3Ass@mgr.example:8443/cb?token=abc123&x=1#frag", "https://redacted:redacted@mgr.example:8443/cb?token=redacted&x=redacted"},
		{"https://tok3n@mgr.example/cb", "https://redacted@mgr.example/cb"},
		{"http://mgr.example/cb", "http://mgr.example/cb"},
		{"not a url", "not a url"},
	} {
		if got, _ := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	r := New(URLSecrets("https://user1:pa%3Ass@mgr/cb?token=abc123")...)
	if got, want := r.String("pa:ss pa%3Ass abc123 user1"), "[redacted] [redacted] [redacted] user1"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := URLSecrets("https://tok3n-as-user@mgr/cb"); len(got) != 1 || got[0] != "tok3n-as-user" {
		t.Errorf("URLSecrets(user only) = %q, want the user name", got)
	}
}

func BenchmarkString(b *testing.B) {
	r := New("hunter2-password", "s3cr3t-db-value", "tok-ABCDEFGH")
	line := strings.Repeat("a typical log line with no secret in it, ", 4)
	for b.Loop() {
		r.String(line)
	}
}
