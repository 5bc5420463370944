package sshd

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gossh "golang.org/x/crypto/ssh"
)

func strp(s string) *string { return &s }

// TestParseKeyOptions checks the parser against OpenSSH's sshauthopt_parse
// (auth-options.c): what each option sets, and what makes a line bad.
func TestParseKeyOptions(t *testing.T) {
	def := defaultKeyOptions
	with := func(f func(o *keyOptions)) *keyOptions { o := def(); f(o); return o }
	restricted := func(f func(o *keyOptions)) *keyOptions {
		return with(func(o *keyOptions) {
			o.restricted = true
			o.portForwarding, o.agentForwarding, o.x11Forwarding, o.pty, o.userRC = false, false, false, false, false
			if f != nil {
				f(o)
			}
		})
	}
	tests := []struct {
		in      string
		want    *keyOptions
		wantErr string // substring; "" for success
	}{
		{"", def(), ""},
		{"no-pty", with(func(o *keyOptions) { o.pty = false }), ""},
		{"NO-PTY", with(func(o *keyOptions) { o.pty = false }), ""},
		{"no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc", with(func(o *keyOptions) {
			o.portForwarding, o.agentForwarding, o.x11Forwarding, o.userRC = false, false, false, false
		}), ""},
		{"restrict", restricted(nil), ""},
		{"restrict,pty", restricted(func(o *keyOptions) { o.pty = true }), ""},
		{"restrict,port-forwarding,agent-forwarding,X11-forwarding,user-rc", restricted(func(o *keyOptions) {
			o.portForwarding, o.agentForwarding, o.x11Forwarding, o.userRC = true, true, true, true
		}), ""},
		// Order matters as in OpenSSH: restrict after pty takes it away.
		{"pty,restrict", restricted(nil), ""},
		{"no-pty,pty", def(), ""},
		{`command="/bin/echo forced"`, with(func(o *keyOptions) { o.command = strp("/bin/echo forced") }), ""},
		{`COMMAND="a \"b\" c\d"`, with(func(o *keyOptions) { o.command = strp(`a "b" c\d`) }), ""},
		{`command="a b",command="c"`, nil, `multiple "command" clauses`},
		{`command=/bin/true`, nil, "missing start quote"},
		{`command="/bin/true`, nil, "missing end quote"},
		{`command="x"y`, nil, "unknown key option"},
		{`from="10.0.0.0/8,!10.1.0.0/16"`, with(func(o *keyOptions) { o.from = strp("10.0.0.0/8,!10.1.0.0/16") }), ""},
		{`from="a",from="b"`, nil, `multiple "from" clauses`},
		{`principals="alice,bob",cert-authority`, with(func(o *keyOptions) { o.principals = strp("alice,bob"); o.certAuthority = true }), ""},
		{`expiry-time="20300102Z"`, with(func(o *keyOptions) { o.expiry = time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC).Unix() }), ""},
		{`expiry-time="203001021504Z",expiry-time="20290101UTC"`, with(func(o *keyOptions) { o.expiry = time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC).Unix() }), ""},
		{`expiry-time="2030"`, nil, "invalid expires time"},
		{`expiry-time="2030x102"`, nil, "invalid expires time"},
		{`environment="A=1",environment="B=2",environment="A=3"`, with(func(o *keyOptions) { o.env = []string{"A=1", "B=2"} }), ""},
		{`environment="A"`, nil, "invalid environment string"},
		{`environment="A-B=1"`, nil, "invalid environment string"},
		{`environment="=1"`, nil, "invalid environment string"},
		{`permitopen="localhost:80",permitopen="[::1]:*",permitopen="h/22"`, with(func(o *keyOptions) {
			o.permitOpen = []hostPort{{"localhost", 80}, {"::1", 0}, {"h", 22}}
		}), ""},
		{`permitopen="localhost"`, nil, "invalid permission"},
		{`permitopen="localhost:0"`, nil, "invalid permission port"},
		{`permitopen="localhost:65536"`, nil, "invalid permission port"},
		{`permitlisten="8080",permitlisten="localhost:*"`, with(func(o *keyOptions) {
			o.listen = []hostPort{{"*", 8080}, {"localhost", 0}}
		}), ""},
		{`tunnel="0"`, with(func(o *keyOptions) { o.tunnel = strp("0") }), ""},
		{`tunnel="any"`, with(func(o *keyOptions) { o.tunnel = strp("any") }), ""},
		{`tunnel="x"`, nil, "invalid tun device"},
		{"no-touch-required,verify-required", with(func(o *keyOptions) { o.noTouchRequired, o.verifyRequired = true, true }), ""},
		{"cert-authority", with(func(o *keyOptions) { o.certAuthority = true }), ""},
		// Unknown options, and known names followed by junk, fail.
		{"frobnicate", nil, `option "frobnicate": unknown key option`},
		{"no-pty,frobnicate", nil, `option "frobnicate": unknown key option`},
		{"ptyx", nil, `option "ptyx": unknown key option`},
		{"no-restrict", nil, "unknown key option"},
		{"no-cert-authority", nil, "unknown key option"},
		{"no-pty=1", nil, "unknown key option"},
		{"no-pty,", nil, "unexpected end of options"},
		// OpenSSH skips empty options between commas.
		{",no-pty", with(func(o *keyOptions) { o.pty = false }), ""},
		{"no-pty,,no-user-rc", with(func(o *keyOptions) { o.pty, o.userRC = false, false }), ""},
		// Parsing stops at a space or tab (the key follows).
		{"no-pty ssh-ed25519", with(func(o *keyOptions) { o.pty = false }), ""},
		{`command="a b"` + "\tx", with(func(o *keyOptions) { o.command = strp("a b") }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseKeyOptions(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseKeyOptions(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseKeyOptions(%q) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(keyOptions{}, hostPort{})); diff != "" {
				t.Errorf("parseKeyOptions(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestOptionErrorHidesValues: a refused option is named, its value (an
// environment= value may be a secret) never repeated.
func TestOptionErrorHidesValues(t *testing.T) {
	_, err := parseKeyOptions(`environment="TOKEN-x=hunter2"`)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "environment") {
		t.Errorf("parseKeyOptions(bad environment) = %v; want an error naming the option, not its value", err)
	}
}

// TestMatchFrom checks from= against OpenSSH's match_host_and_ip with
// UseDNS off: the host name is the address text.
func TestMatchFrom(t *testing.T) {
	tests := []struct {
		ip, list string
		want     int
	}{
		{"127.0.0.1", "127.0.0.1", fromYes},
		{"127.0.0.1", "10.9.9.9", fromNo},
		{"127.0.0.1", "10.9.9.9,127.0.0.1", fromYes},
		{"10.1.2.3", "10.0.0.0/8", fromYes},
		{"11.1.2.3", "10.0.0.0/8", fromNo},
		{"10.1.2.3", "10.0.0.0/8,!10.1.0.0/16", fromNo},
		{"10.2.2.3", "10.0.0.0/8,!10.1.0.0/16", fromYes},
		{"10.1.2.3", "!10.1.0.0/16,10.0.0.0/8", fromNo},
		{"10.1.2.3", "10.1.2.*", fromYes},
		{"10.1.2.3", "10.1.?.3", fromYes},
		{"10.1.2.3", "10.1.??.3", fromNo},
		{"10.1.2.3", "*,!10.1.2.3", fromNo},
		{"10.1.2.3", "!10.1.2.4", fromNo}, // only negatives: nothing positive
		{"10.1.2.3", "*", fromYes},
		{"2001:db8::1", "2001:db8::/32", fromYes},
		{"2001:db8::1", "2001:DB8::*", fromYes}, // host names compare lower-cased
		{"2001:db8::1", "10.0.0.0/8", fromNo},
		// Host names match only the address text (no reverse DNS).
		{"10.1.2.3", "*.example.com", fromNo},
		{"10.1.2.3", "localhost", fromNo},
		// Invalid lists refuse the key.
		{"10.1.2.3", "10.0.0.1/8", fromInvalid}, // host bits set
		{"10.1.2.3", "10.0.0.0/33", fromInvalid},
		{"10.1.2.3", "10.1.2.3,", fromInvalid},
		{"10.1.2.3", "!", fromInvalid},
		{"10.1.2.3", "", fromInvalid},
		// A length over 128 is not a CIDR block but a pattern.
		{"10.1.2.3", "10.0.0.0/129", fromNo},
	}
	for _, tt := range tests {
		if got := matchFrom(netip.MustParseAddr(tt.ip), tt.list); got != tt.want {
			t.Errorf("matchFrom(%s, %q) = %d, want %d", tt.ip, tt.list, got, tt.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"abc", "abc", true}, {"abc", "a*", true}, {"abc", "*c", true}, {"abc", "a?c", true},
		{"abc", "*", true}, {"", "*", true}, {"", "", true}, {"abc", "", false},
		{"abc", "a*b*c", true}, {"abc", "a*d", false}, {"aaaab", "*a*a*b", true}, {"ab", "a?b", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.s, tt.p); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"20300102", time.UTC, time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"20300102", est, time.Date(2030, 1, 2, 0, 0, 0, 0, est)},
		{"203001021504", est, time.Date(2030, 1, 2, 15, 4, 0, 0, est)},
		{"20300102150405Z", est, time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"20300102150405utc", est, time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"20300230", time.UTC, time.Date(2030, 3, 2, 0, 0, 0, 0, time.UTC)}, // normalised, as mktime
	}
	for _, tt := range tests {
		got, err := parseExpiry(tt.in, tt.loc)
		if err != nil || got != tt.want.Unix() {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", tt.in, time.Unix(got, 0).UTC(), err, tt.want.UTC())
		}
	}
	for _, bad := range []string{"", "Z", "2030010", "203001021", "2030-1-02", "20301302", "20300100", "20300102246000", "+2030102", "19700101Z"} {
		if got, err := parseExpiry(bad, time.UTC); err == nil {
			t.Errorf("parseExpiry(%q) = %d, want an error", bad, got)
		}
	}
}

func TestCheckLogin(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1).To16(), Port: 4000} // IPv4-mapped, as a dual-stack listener gives
	tests := []struct {
		opts    string
		wantErr string
	}{
		{"", ""},
		{`from="127.0.0.1"`, ""},
		{`from="127.0.0.0/8"`, ""},
		{`from="10.9.9.9"`, `does not allow 127.0.0.1`},
		{`from="127.0.0.1/8"`, "invalid pattern list"},
		{`expiry-time="20260531Z"`, "expired"},
		{`expiry-time="20260601Z"`, ""}, // OpenSSH: expired only once past
		{`expiry-time="202606010001Z"`, ""},
	}
	for _, tt := range tests {
		o, err := parseKeyOptions(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		err = o.checkLogin(remote, now)
		if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("checkLogin(%q) = %v, want error containing %q", tt.opts, err, tt.wantErr)
		}
	}
}

func TestAllowsOpen(t *testing.T) {
	tests := []struct {
		opts string
		host string
		port uint32
		want bool
	}{
		{"", "db", 5432, true},
		{"no-port-forwarding", "db", 5432, false},
		{"restrict", "db", 5432, false},
		{"restrict,port-forwarding", "db", 5432, true},
		{`permitopen="db:5432"`, "db", 5432, true},
		{`permitopen="db:5432"`, "db", 22, false},
		{`permitopen="db:5432"`, "DB", 5432, false}, // compared as written, as OpenSSH
		{`permitopen="db:*"`, "db", 22, true},
		{`permitopen="*:22"`, "other", 22, true},
		{`permitopen="[::1]:22"`, "::1", 22, true},
		{`no-port-forwarding,permitopen="db:5432"`, "db", 5432, false},
	}
	for _, tt := range tests {
		o, err := parseKeyOptions(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.allowsOpen(tt.host, tt.port); got != tt.want {
			t.Errorf("%q: allowsOpen(%s, %d) = %v, want %v", tt.opts, tt.host, tt.port, got, tt.want)
		}
	}
}

// TestParseAuthorizedLine splits lines as OpenSSH does: quoted spaces stay
// in the options, \" does not end a quote.
func TestParseAuthorizedLine(t *testing.T) {
	k := newPublicKey(t)
	line := authorizedLine(k)
	tests := []struct {
		in, wantOpts string
		wantErr      bool
	}{
		{line + " comment", "", false},
		{`no-pty ` + line, "no-pty", false},
		{`command="echo a b",from="1.2.3.4" ` + line + " c", `command="echo a b",from="1.2.3.4"`, false},
		{`command="say \"hi there\"" ` + line, `command="say \"hi there\""`, false},
		{"restrict\t" + line, "restrict", false},
		{`command="unterminated ` + line, "", true},
		{`no-pty`, "", true},
		{`no-pty no-pty ` + line, "", true},
	}
	for _, tt := range tests {
		key, opts, err := parseAuthorizedLine([]byte(tt.in))
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseAuthorizedLine(%q) = %q, nil; want an error", tt.in, opts)
			}
			continue
		}
		if err != nil || opts != tt.wantOpts || authorizedLine(key) != line {
			t.Errorf("parseAuthorizedLine(%q) = %v, %q, %v; want the key and options %q", tt.in, key, opts, err, tt.wantOpts)
		}
	}
}

// TestUsableFor: options the server can not enforce make the key unusable.
func TestUsableFor(t *testing.T) {
	ed := newPublicKey(t)
	sk := skKey(t)
	tests := []struct {
		opts    string
		key     gossh.PublicKey
		wantErr string
	}{
		{"no-pty", ed, ""},
		{"verify-required", ed, ""}, // OpenSSH ignores it for non-FIDO keys
		{"no-touch-required", ed, ""},
		{"touch-required", sk, ""},
		{"verify-required", sk, "verify-required"},
		{"no-touch-required", sk, "no-touch-required"},
		{"cert-authority", ed, ""},
		{`cert-authority,principals="a"`, ed, ""},
		{`principals="a"`, ed, "principals"},
		{`cert-authority,verify-required`, sk, "verify-required"},
	}
	for _, tt := range tests {
		o, err := parseKeyOptions(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		err = o.usableFor(tt.key)
		if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("usableFor(%q, %s) = %v, want error containing %q", tt.opts, tt.key.Type(), err, tt.wantErr)
		}
	}
}

// skKey is a FIDO (sk-ssh-ed25519) public key, built from its wire form.
func skKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub := newPublicKey(t).Marshal()[4+len(gossh.KeyAlgoED25519)+4:] // the 32 key bytes
	k, err := gossh.ParsePublicKey(gossh.Marshal(struct {
		Name, Key, Application string
	}{gossh.KeyAlgoSKED25519, string(pub), "ssh:"}))
	if err != nil {
		t.Fatalf("building the FIDO test key: %v", err)
	}
	return k
}

// FuzzParseKeyOptions: the options parser never panics, never accepts a
// value with an unbalanced quote, and what it accepts passes the
// enforcement checks without panicking.
func FuzzParseKeyOptions(f *testing.F) {
	for _, s := range []string{
		"", "no-pty", "restrict,pty", `command="/bin/echo forced",from="127.0.0.1",no-pty`,
		`from="10.0.0.0/8,!10.1.0.0/16,*.example.com"`, `expiry-time="20300102150405Z"`,
		`environment="A=1",environment="B=\"2\""`, `permitopen="[::1]:22",permitlisten="8080"`,
		`tunnel="any"`, `principals="a,b",cert-authority`, "no-touch-required,verify-required",
		`command="x`, "frobnicate", ",,", "no-pty,", `from="10.0.0.1/8"`,
	} {
		f.Add(s)
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	now := time.Unix(1.8e9, 0)
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseKeyOptions(s)
		if err != nil {
			if o != nil {
				t.Fatalf("parseKeyOptions(%q) returned options and an error", s)
			}
			return
		}
		if o.command != nil && o.from != nil && o.principals != nil && strings.Count(s, `"`) < 6 {
			t.Fatalf("parseKeyOptions(%q): three quoted values from fewer than six quotes", s)
		}
		o.checkLogin(remote, now)
		o.allowsOpen("127.0.0.1", 22)
	})
}
