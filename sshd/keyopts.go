package sshd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// This file holds the options of authorized_keys lines (sshd(8)
// AUTHORIZED_KEYS FILE FORMAT): how they are read, exactly as OpenSSH's
// sshauthopt_parse reads them, and the checks that enforce them. Every key
// source (the key store, ~/.ssh/authorized_keys, ovfinit sshd
// --authorized-keys) hands the server AuthorizedKey values with the options
// as written; only the server interprets them, so no source can drop them.
// An option the server does not implement makes its key unusable: a key is
// never wider than written. docs/ssh.md has the table.

// AuthorizedKey is one line of an authorized_keys file (or of the key
// store): a key and the options written before it.
type AuthorizedKey struct {
	Key     gossh.PublicKey
	Options string // the options field as written, "" for none
	Where   string // "file:line", for log messages
}

// ParseAuthorizedKeys reads an authorized_keys file; where names it in
// messages ("path" gives "path:3"). Lines that are not keys, and
// certificates, are skipped and reported in skipped as "where:line: reason".
// Options are kept as written and checked when the key is used.
func ParseAuthorizedKeys(data []byte, where string) (keys []AuthorizedKey, skipped []string) {
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		loc := fmt.Sprintf("%s:%d", where, n+1)
		key, opts, err := parseAuthorizedLine(line)
		if err != nil {
			skipped = append(skipped, loc+": "+err.Error())
			continue
		}
		if _, isCert := key.(*gossh.Certificate); isCert {
			skipped = append(skipped, loc+": certificates are not supported; key ignored")
			continue
		}
		keys = append(keys, AuthorizedKey{Key: key, Options: opts, Where: loc})
	}
	return keys, skipped
}

// parseAuthorizedLine splits one authorized_keys line as OpenSSH's
// auth_check_authkey_line does: a line that does not start with a key
// starts with options, which run to the first space or tab outside double
// quotes (\" does not end a quote).
func parseAuthorizedLine(line []byte) (gossh.PublicKey, string, error) {
	if key, _, opts, _, err := gossh.ParseAuthorizedKey(line); err == nil && len(opts) == 0 {
		return key, "", nil
	}
	end, ok := optionsEnd(line)
	if !ok {
		return nil, "", errors.New("unterminated quote in the key options")
	}
	rest := bytes.TrimLeft(line[end:], " \t")
	key, _, opts, _, err := gossh.ParseAuthorizedKey(rest)
	if err != nil || len(opts) > 0 || len(rest) == 0 {
		return nil, "", errors.New("not a public key")
	}
	return key, string(line[:end]), nil
}

// optionsEnd is OpenSSH's sshkey_advance_past_options: the index of the
// first space or tab outside quotes; ok is false for an unterminated quote.
func optionsEnd(s []byte) (int, bool) {
	quoted := false
	i := 0
	for ; i < len(s) && (quoted || (s[i] != ' ' && s[i] != '\t')); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '"' {
			i++
		} else if s[i] == '"' {
			quoted = !quoted
		}
	}
	return i, !(i == len(s) && quoted)
}

// keyOptions are the options of one key, as OpenSSH's struct sshauthopt.
// Permissions default to allowed; "restrict" takes them all away and the
// positive options (pty, port-forwarding, ...) give single ones back.
type keyOptions struct {
	restricted      bool
	certAuthority   bool
	portForwarding  bool
	agentForwarding bool
	x11Forwarding   bool
	pty             bool
	userRC          bool
	noTouchRequired bool
	verifyRequired  bool

	command    *string // command="..."
	principals *string // principals="..." (only with cert-authority)
	from       *string // from="pattern-list"
	expiry     int64   // expiry-time: Unix seconds, 0 for none
	env        []string
	permitOpen []hostPort // permitopen="host:port", may repeat
	listen     []hostPort // permitlisten="[host:]port", may repeat
	tunnel     *string    // tunnel="n"
}

// hostPort is a permitopen or permitlisten entry; port 0 means "*".
type hostPort struct {
	host string
	port int
}

// Limits OpenSSH applies while parsing.
const (
	maxKeyEnv     = 1024 // environment= options per key
	maxKeyPermits = 4096 // permitopen= or permitlisten= options per key
)

// defaultKeyOptions are the options of a key written without any.
func defaultKeyOptions() *keyOptions {
	return &keyOptions{portForwarding: true, agentForwarding: true, x11Forwarding: true, pty: true, userRC: true}
}

// optionError is a refusal of a key's options. name is the option (never
// its value, which may hold a secret such as environment="TOKEN=...").
type optionError struct {
	name   string
	reason string
}

func (e *optionError) Error() string {
	if e.name == "" {
		return e.reason
	}
	return fmt.Sprintf("option %q: %s", e.name, e.reason)
}

// optionName is the name of the option at the start of s, for messages:
// up to '=', ',', a space or a quote, at most 40 printable characters.
func optionName(s string) string {
	i := 0
	for i < len(s) && i < 40 {
		c := s[i]
		if c == '=' || c == ',' || c == ' ' || c == '\t' || c == '"' || c < 0x21 || c > 0x7e {
			break
		}
		i++
	}
	return s[:i]
}

// parseKeyOptions parses the options field of an authorized_keys line with
// the semantics of OpenSSH's sshauthopt_parse: names are case-insensitive;
// "no-" negates the flags that allow it; quoted values end at the first "
// not preceded by a backslash, and \" stands for "; command=, from= and
// principals= may appear only once; the earliest expiry-time= counts; the
// first environment= of a name counts; parsing stops at a space or tab.
func parseKeyOptions(s string) (*keyOptions, error) {
	o := defaultKeyOptions()
	for len(s) > 0 && s[0] != ' ' && s[0] != '\t' {
		start := s
		var err error
		if _, ok := optFlag(&s, "restrict", false); ok {
			o.restricted = true
			o.portForwarding, o.agentForwarding, o.x11Forwarding, o.pty, o.userRC = false, false, false, false, false
		} else if r, ok := optFlag(&s, "cert-authority", false); ok {
			o.certAuthority = r
		} else if r, ok := optFlag(&s, "port-forwarding", true); ok {
			o.portForwarding = r
		} else if r, ok := optFlag(&s, "agent-forwarding", true); ok {
			o.agentForwarding = r
		} else if r, ok := optFlag(&s, "x11-forwarding", true); ok {
			o.x11Forwarding = r
		} else if r, ok := optFlag(&s, "touch-required", true); ok {
			o.noTouchRequired = !r
		} else if r, ok := optFlag(&s, "verify-required", true); ok {
			o.verifyRequired = r
		} else if r, ok := optFlag(&s, "pty", true); ok {
			o.pty = r
		} else if r, ok := optFlag(&s, "user-rc", true); ok {
			o.userRC = r
		} else if optMatch(&s, "command") {
			err = o.setOnce(&o.command, &s, "command")
		} else if optMatch(&s, "principals") {
			err = o.setOnce(&o.principals, &s, "principals")
		} else if optMatch(&s, "from") {
			err = o.setOnce(&o.from, &s, "from")
		} else if optMatch(&s, "expiry-time") {
			var v string
			if v, err = optDequote(&s); err == nil {
				var t int64
				if t, err = parseExpiry(v, time.Local); err == nil && (o.expiry == 0 || t < o.expiry) {
					o.expiry = t
				}
			}
		} else if optMatch(&s, "environment") {
			err = o.addEnv(&s)
		} else if optMatch(&s, "permitopen") {
			o.permitOpen, err = addPermit(&s, false, o.permitOpen)
		} else if optMatch(&s, "permitlisten") {
			o.listen, err = addPermit(&s, true, o.listen)
		} else if optMatch(&s, "tunnel") {
			var v string
			if v, err = optDequote(&s); err == nil {
				if !validTunnel(v) {
					err = errors.New("invalid tun device")
				} else {
					o.tunnel = &v
				}
			}
		}
		if err != nil {
			return nil, &optionError{name: optionName(start), reason: err.Error()}
		}
		if len(s) == 0 || s[0] == ' ' || s[0] == '\t' {
			break
		}
		if s[0] != ',' {
			// OpenSSH's "unknown key option": also a known name followed
			// by junk ("ptyx", "no-pty=1").
			return nil, &optionError{name: optionName(start), reason: "unknown key option"}
		}
		s = s[1:]
		if len(s) == 0 {
			return nil, &optionError{reason: "unexpected end of options after ','"}
		}
	}
	return o, nil
}

// optFlag is OpenSSH's opt_flag: a case-insensitive prefix match of name,
// optionally after "no-"; value is false when negated.
func optFlag(s *string, name string, negatable bool) (value, ok bool) {
	t := *s
	neg := false
	if negatable && hasPrefixFold(t, "no-") {
		t = t[3:]
		neg = true
	}
	if !hasPrefixFold(t, name) {
		return false, false
	}
	*s = t[len(name):]
	return !neg, true
}

// optMatch is OpenSSH's opt_match: name= (name case-insensitive).
func optMatch(s *string, name string) bool {
	if hasPrefixFold(*s, name) && len(*s) > len(name) && (*s)[len(name)] == '=' {
		*s = (*s)[len(name)+1:]
		return true
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// optDequote is OpenSSH's opt_dequote: a value in double quotes, in which
// \" stands for " (other backslashes are kept).
func optDequote(s *string) (string, error) {
	t := *s
	if len(t) == 0 || t[0] != '"' {
		return "", errors.New("missing start quote")
	}
	t = t[1:]
	var b strings.Builder
	for len(t) > 0 && t[0] != '"' {
		if t[0] == '\\' && len(t) > 1 && t[1] == '"' {
			t = t[1:]
		}
		b.WriteByte(t[0])
		t = t[1:]
	}
	if len(t) == 0 {
		return "", errors.New("missing end quote")
	}
	*s = t[1:]
	return b.String(), nil
}

// setOnce reads a quoted value into *dst, refusing a second one.
func (o *keyOptions) setOnce(dst **string, s *string, name string) error {
	if *dst != nil {
		return fmt.Errorf("multiple %q clauses", name)
	}
	v, err := optDequote(s)
	if err != nil {
		return err
	}
	*dst = &v
	return nil
}

// addEnv reads environment="NAME=value"; the first value of a name counts.
func (o *keyOptions) addEnv(s *string) error {
	if len(o.env) > maxKeyEnv {
		return errors.New("too many environment strings")
	}
	v, err := optDequote(s)
	if err != nil {
		return err
	}
	name, _, ok := strings.Cut(v, "=")
	if !ok || !validEnvName(name) {
		return errors.New("invalid environment string")
	}
	for _, e := range o.env {
		if strings.HasPrefix(e, name+"=") {
			return nil
		}
	}
	o.env = append(o.env, v)
	return nil
}

// validEnvName is OpenSSH's valid_env_name: letters, digits and '_'.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// addPermit reads permitopen="host:port" or permitlisten="[host:]port" as
// OpenSSH's handle_permit: the host may be in brackets (IPv6), the port is
// 1-65535 or "*".
func addPermit(s *string, bareport bool, list []hostPort) ([]hostPort, error) {
	if len(list) > maxKeyPermits {
		return list, errors.New("too many permission directives")
	}
	v, err := optDequote(s)
	if err != nil {
		return list, err
	}
	if bareport && !strings.Contains(v, ":") {
		v = "*:" + v
	}
	host, port, ok := splitHostPort(v)
	if !ok || len(host) >= 1025 {
		return list, errors.New("invalid permission hostname or port")
	}
	p := 0
	if port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return list, errors.New("invalid permission port")
		}
		p = n
	}
	return append(list, hostPort{host: host, port: p}), nil
}

// splitHostPort is OpenSSH's hpdelim2 for "host:port", "host/port" and
// "[host]:port", with cleanhostname's removal of the brackets.
func splitHostPort(v string) (host, port string, ok bool) {
	i := strings.IndexAny(v, ":/")
	if strings.HasPrefix(v, "[") {
		i = strings.IndexByte(v, ']') + 1
		if i == 0 {
			return "", "", false
		}
	}
	if i < 0 || i >= len(v) || (v[i] != ':' && v[i] != '/') {
		return "", "", false
	}
	host = v[:i]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return host, v[i+1:], true
}

// validTunnel is OpenSSH's a2tun without a remote part: "any" or 0 to
// 0x7ffffffd.
func validTunnel(v string) bool {
	if v == "any" {
		return true
	}
	if v == "" || len(v) > 10 {
		return false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	return err == nil && n <= 0x7fffffff-2
}

// parseExpiry is OpenSSH's parse_absolute_time: YYYYMMDD, YYYYMMDDHHMM or
// YYYYMMDDHHMMSS, in loc (the system's time zone) unless followed by "Z"
// or "UTC". It returns Unix seconds; out-of-range fields normalise as
// mktime does (February 30 is March 1 or 2).
func parseExpiry(v string, loc *time.Location) (int64, error) {
	bad := errors.New("invalid expires time")
	if l := len(v); l > 1 && strings.EqualFold(v[l-1:], "Z") {
		v, loc = v[:l-1], time.UTC
	} else if l > 3 && strings.EqualFold(v[l-3:], "UTC") {
		v, loc = v[:l-3], time.UTC
	}
	if len(v) != 8 && len(v) != 12 && len(v) != 14 {
		return 0, bad
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, bad
		}
	}
	num := func(i, n int) int { x, _ := strconv.Atoi(v[i : i+n]); return x }
	var hh, mm, ss int
	if len(v) >= 12 {
		hh, mm = num(8, 2), num(10, 2)
	}
	if len(v) == 14 {
		ss = num(12, 2)
	}
	y, mo, d := num(0, 4), num(4, 2), num(6, 2)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return 0, bad
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc).Unix()
	if t <= 0 {
		return 0, bad
	}
	return t, nil
}

// usableFor refuses options this server can not enforce for key (the key
// of a line, or of a certificate signed by a cert-authority line), so that
// the key is never wider than written.
func (o *keyOptions) usableFor(key gossh.PublicKey) error {
	switch key.Type() {
	case gossh.KeyAlgoSKED25519, gossh.KeyAlgoSKECDSA256:
		// x/crypto checks the FIDO "user present" flag (OpenSSH's
		// default) but sees no per-key opt-out and no "user verified".
		if o.noTouchRequired {
			return &optionError{name: "no-touch-required", reason: "not supported for FIDO keys by this server"}
		}
		if o.verifyRequired {
			return &optionError{name: "verify-required", reason: "not supported for FIDO keys by this server"}
		}
	}
	if o.principals != nil && !o.certAuthority {
		// OpenSSH: "principals on non-CA key".
		return &optionError{name: "principals", reason: "only valid with cert-authority"}
	}
	return nil
}

// checkLogin enforces expiry-time= and from= for a login from remote at now.
func (o *keyOptions) checkLogin(remote net.Addr, now time.Time) error {
	if o.expiry != 0 && o.expiry < now.Unix() {
		return fmt.Errorf("key expired at %s (expiry-time option)", time.Unix(o.expiry, 0).UTC().Format(time.RFC3339))
	}
	if o.from != nil {
		ip, ok := remoteIP(remote)
		if !ok {
			return fmt.Errorf("from=%q: remote address %v is not an IP address", *o.from, remote)
		}
		switch matchFrom(ip, *o.from) {
		case fromInvalid:
			return fmt.Errorf("from=%q: invalid pattern list; key refused", *o.from)
		case fromNo:
			return fmt.Errorf("from=%q does not allow %s", *o.from, ip)
		}
	}
	return nil
}

// remoteIP is the client's address, IPv4-mapped IPv6 unmapped.
func remoteIP(a net.Addr) (netip.Addr, bool) {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(t.IP)
		return ip.Unmap(), ok
	}
	return netip.Addr{}, false
}

// Results of matchFrom.
const (
	fromNo = iota
	fromYes
	fromInvalid
)

// matchFrom is OpenSSH's match_host_and_ip for a from= pattern list with
// UseDNS off (OpenSSH's default, and all this server can do: it does no
// reverse lookups), where the "host name" is the address text. Entries are
// comma-separated; "!" negates; an address or CIDR block matches by
// address, anything else is a pattern with * and ? matched against the
// address text (case-insensitive). Any negated match refuses; otherwise one
// positive match allows. An empty entry, or a CIDR block with host bits set
// or a bad length, makes the list invalid, which refuses the key.
func matchFrom(ip netip.Addr, list string) int {
	text := ip.String()
	positive := false
	for item := range strings.SplitSeq(list, ",") {
		neg := strings.HasPrefix(item, "!")
		if neg {
			item = item[1:]
		}
		if item == "" {
			return fromInvalid
		}
		var hit bool
		if prefix, res := parseCIDR(item); res == cidrInvalid {
			return fromInvalid
		} else if res == cidrOK {
			hit = prefix.Contains(ip)
		} else {
			// match_pattern on the address, then (as the host name)
			// on its lower-cased text against the lower-cased pattern.
			hit = len(item) < 1023 && (matchPattern(text, item) || matchPattern(text, strings.ToLower(item)))
		}
		if hit {
			if neg {
				return fromNo
			}
			positive = true
		}
	}
	if positive {
		return fromYes
	}
	return fromNo
}

// Results of parseCIDR.
const (
	cidrNotAddr = iota
	cidrOK
	cidrInvalid
)

// parseCIDR is OpenSSH's addr_pton_cidr: an address, or address/len with
// no host bits set. Text that is not an address is cidrNotAddr (a
// pattern); an address with a bad length or host bits set is cidrInvalid.
func parseCIDR(s string) (netip.Prefix, int) {
	addr, lenText, hasLen := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, cidrNotAddr
	}
	bits := ip.BitLen()
	if hasLen {
		if strings.Trim(lenText, "0123456789") != "" || lenText == "" {
			return netip.Prefix{}, cidrNotAddr
		}
		n, err := strconv.Atoi(lenText)
		if err != nil || n > 128 {
			return netip.Prefix{}, cidrNotAddr
		}
		if n > bits {
			return netip.Prefix{}, cidrInvalid
		}
		bits = n
	}
	p := netip.PrefixFrom(ip, bits)
	if p.Masked().Addr() != ip {
		return netip.Prefix{}, cidrInvalid
	}
	return p, cidrOK
}

// matchPattern is OpenSSH's match_pattern: * matches any run of
// characters, ? any one character, everything else itself.
func matchPattern(s, pattern string) bool {
	// Iterative with one backtrack point: linear in practice, no recursion.
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// allowsOpen enforces no-port-forwarding and permitopen= for a
// direct-tcpip request to host:port, as OpenSSH's open_match: the host is
// compared as written, "*" matches any host or port.
func (o *keyOptions) allowsOpen(host string, port uint32) bool {
	if !o.portForwarding {
		return false
	}
	if len(o.permitOpen) == 0 {
		return true
	}
	for _, p := range o.permitOpen {
		if (p.port == 0 || uint32(p.port) == port) && (p.host == "*" || p.host == host) {
			return true
		}
	}
	return false
}

// internalSFTP is the forced command that means "the SFTP server", as in
// OpenSSH.
const internalSFTP = "internal-sftp"

// errKeyRefused: the key is the user's, but its options refuse this login
// or the server can not enforce them.
var errKeyRefused = errors.New("key refused by its options")

// options returns k's parsed options.
func (k AuthorizedKey) options() (*keyOptions, error) {
	return parseKeyOptions(k.Options)
}

// matchKey finds key among keys and checks the options of its lines, as
// OpenSSH does: the first line with the key whose options can be enforced
// and allow this login counts. A key found only on refused lines gives an
// error wrapping errKeyRefused that names each line and reason.
func matchKey(key gossh.PublicKey, keys []AuthorizedKey, remote net.Addr, now time.Time) (*keyOptions, error) {
	want := key.Marshal()
	var refusals []string
	for _, k := range keys {
		if k.Key == nil || !bytes.Equal(k.Key.Marshal(), want) {
			continue
		}
		o, err := k.options()
		if err == nil && o.certAuthority {
			continue // a CA: it signs certificates, it does not log in
		}
		if err == nil {
			err = o.usableFor(key)
		}
		if err != nil {
			err = fmt.Errorf("key unusable: %w", err)
		} else if err = o.checkLogin(remote, now); err == nil {
			return o, nil
		}
		where := k.Where
		if where == "" {
			where = "key"
		}
		refusals = append(refusals, where+": "+err.Error())
	}
	if refusals != nil {
		return nil, fmt.Errorf("%w: %s", errKeyRefused, strings.Join(refusals, "; "))
	}
	return nil, errKeyNotAuthorized
}

// ctxKeyOptions holds the *keyOptions of the key a connection logged in
// with; absent for passwords and certificates.
var ctxKeyOptions = &ctxKey{"ovfinit-key-options"}

// keyOptionsOf returns the options of the key ctx's connection logged in
// with, nil when there are none to enforce.
func keyOptionsOf(ctx gliderssh.Context) *keyOptions {
	o, _ := ctx.Value(ctxKeyOptions).(*keyOptions)
	return o
}

// keyRefusesPty enforces no-pty (and restrict without pty).
func (s *Server) keyRefusesPty(ctx gliderssh.Context) bool {
	if o := keyOptionsOf(ctx); o != nil && !o.pty {
		s.log.Info("ssh pty refused by the key's options", "user", ctx.User(), "remote", addrString(ctx.RemoteAddr()))
		return true
	}
	return false
}

// keyRefusesAgent enforces no-agent-forwarding (and restrict).
func keyRefusesAgent(o *keyOptions) bool {
	return o != nil && !o.agentForwarding
}

// keyAllowsOpen enforces no-port-forwarding, restrict and permitopen= for
// a direct-tcpip request; it is gliderssh's LocalPortForwardingCallback.
func (s *Server) keyAllowsOpen(ctx gliderssh.Context, host string, port uint32) bool {
	if o := keyOptionsOf(ctx); o != nil && !o.allowsOpen(host, port) {
		s.log.Info("ssh port forwarding refused by the key's options", "user", ctx.User(),
			"remote", addrString(ctx.RemoteAddr()), "dest_host", host, "dest_port", port)
		return false
	}
	return true
}

// applyKeyOptions makes a session's process follow its key's options:
// command= replaces what the client asked for (a command, a shell or a
// subsystem), which goes to SSH_ORIGINAL_COMMAND; environment= adds
// variables when Config.PermitUserEnvironment is set. done is true when
// the forced command is empty: the session ends with status 0 and runs
// nothing, as the shell would for an empty command.
func (s *Server) applyKeyOptions(sess gliderssh.Session, spec *procSpec) (done bool) {
	o := keyOptionsOf(sess.Context())
	if o == nil {
		return false
	}
	if len(o.env) > 0 {
		if s.cfg.PermitUserEnvironment {
			for _, kv := range o.env {
				name, _, _ := strings.Cut(kv, "=")
				if name != "SSH_ORIGINAL_COMMAND" && name != "SSH_CONNECTION" && name != "SSH_AUTH_SOCK" {
					spec.env = append(spec.env, kv)
				}
			}
		} else {
			s.log.Info("ssh key environment= options ignored: Config.PermitUserEnvironment is off",
				"user", sess.User(), "count", len(o.env))
		}
	}
	if o.command != nil {
		orig := sess.RawCommand()
		if sess.Subsystem() != "" {
			orig = internalSFTP // the only subsystem this server runs
		}
		if orig != "" {
			spec.env = append(spec.env, "SSH_ORIGINAL_COMMAND="+orig)
		}
		spec.command, spec.argv = *o.command, nil
		if spec.command == internalSFTP && len(s.cfg.SFTPCommand) > 0 {
			spec.command, spec.argv = "", s.cfg.SFTPCommand
		}
		s.log.Info("ssh forced command from the key's options", "user", sess.User(), "remote", addrString(sess.RemoteAddr()))
		if strings.TrimSpace(*o.command) == "" {
			spec.env = dedupEnv(spec.env)
			return true
		}
	}
	spec.env = dedupEnv(spec.env)
	return false
}

// forcedCommand reports whether sess's key forces a command, which
// replaces a subsystem too.
func forcedCommand(sess gliderssh.Session) bool {
	o := keyOptionsOf(sess.Context())
	return o != nil && o.command != nil
}

// certOptions are the permissions a user certificate grants, as OpenSSH's
// sshauthopt_from_cert: only those its extensions name (permit-pty,
// permit-port-forwarding, permit-agent-forwarding, permit-X11-forwarding,
// permit-user-rc). Its critical options are checked when it is accepted
// (source-address; any other refuses the certificate).
func certOptions(cert *gossh.Certificate) *keyOptions {
	has := func(name string) bool { _, ok := cert.Extensions[name]; return ok }
	return &keyOptions{
		pty:             has("permit-pty"),
		portForwarding:  has("permit-port-forwarding"),
		agentForwarding: has("permit-agent-forwarding"),
		x11Forwarding:   has("permit-X11-forwarding"),
		userRC:          has("permit-user-rc"),
	}
}

// userKeys are u's authorized keys from every source.
func (s *Server) userKeys(u *User) ([]AuthorizedKey, error) {
	keys, err := s.cfg.AuthorizedKeys(u)
	if err != nil {
		return nil, err
	}
	if s.cfg.StoredKeys != nil {
		more, err := s.cfg.StoredKeys(u.Name)
		if err != nil {
			s.log.Warn("ssh key store unavailable; using authorized_keys only", "user", u.Name, "err", err)
		}
		keys = append(keys, more...)
	}
	return keys, nil
}

// authorizeKeyCA accepts a certificate signed by a cert-authority key of
// u's authorized keys (OpenSSH's user_cert_trusted_ca for authorized_keys).
func (s *Server) authorizeKeyCA(u *User, cert *gossh.Certificate, remote net.Addr) (*keyOptions, error) {
	keys, err := s.userKeys(u)
	if err != nil {
		return nil, err
	}
	opts, err := matchCertAuthority(cert, u.Name, keys, remote, time.Now())
	if errors.Is(err, errKeyNotAuthorized) {
		if len(s.cfg.UserCAKeys) == 0 {
			return nil, errNoCA
		}
		return nil, errors.New("certificate refused: not signed by a configured CA")
	}
	return opts, err
}

// matchCertAuthority finds the cert-authority line of cert's signer among
// keys and checks it as OpenSSH does: the line's from= and expiry-time=;
// the certificate must be a valid user certificate naming the user among
// its principals, or, with principals="a,b" on the line, one of those; its
// source-address must allow remote. The session gets the line's options
// narrowed by the certificate's extensions.
func matchCertAuthority(cert *gossh.Certificate, user string, keys []AuthorizedKey, remote net.Addr, now time.Time) (*keyOptions, error) {
	want := cert.SignatureKey.Marshal()
	var refusals []string
	for _, k := range keys {
		if k.Key == nil || !bytes.Equal(k.Key.Marshal(), want) {
			continue
		}
		o, err := k.options()
		if err == nil && !o.certAuthority {
			continue // a plain key line does not bless certificates
		}
		if err == nil {
			if err = o.usableFor(cert.Key); err != nil {
				err = fmt.Errorf("key unusable: %w", err)
			}
		}
		if err == nil {
			err = o.checkLogin(remote, now)
		}
		if err == nil {
			err = checkCertPrincipal(cert, user, o.principals, now)
		}
		if err == nil {
			err = checkSourceAddress(remote, cert.CriticalOptions["source-address"])
		}
		if err == nil {
			return narrowByCert(o, certOptions(cert)), nil
		}
		where := k.Where
		if where == "" {
			where = "key"
		}
		refusals = append(refusals, where+" (cert-authority): "+err.Error())
	}
	if refusals != nil {
		return nil, fmt.Errorf("certificate refused: %s", strings.Join(refusals, "; "))
	}
	return nil, errKeyNotAuthorized
}

// checkCertPrincipal checks cert for a login as user: with principals
// (the line's principals= list) one of the certificate's principals must
// be listed, else user must be among them; then x/crypto's CertChecker
// checks the type, validity window, signature and critical options (only
// source-address, checked by the caller, is allowed).
func checkCertPrincipal(cert *gossh.Certificate, user string, principals *string, now time.Time) error {
	principal := user
	if principals != nil {
		principal = ""
		allowed := strings.Split(*principals, ",")
		for _, p := range cert.ValidPrincipals {
			if slices.Contains(allowed, p) {
				principal = p
				break
			}
		}
		if principal == "" {
			return fmt.Errorf("none of the certificate's principals is listed in principals=%q", *principals)
		}
	}
	if cert.CertType != gossh.UserCert {
		return errors.New("not a user certificate")
	}
	checker := gossh.CertChecker{Clock: func() time.Time { return now }}
	return checker.CheckCert(principal, cert)
}

// narrowByCert is OpenSSH's sshauthopt_merge for a cert-authority line
// and its certificate: a permission needs both.
func narrowByCert(line, cert *keyOptions) *keyOptions {
	o := *line
	o.pty = line.pty && cert.pty
	o.portForwarding = line.portForwarding && cert.portForwarding
	o.agentForwarding = line.agentForwarding && cert.agentForwarding
	o.x11Forwarding = line.x11Forwarding && cert.x11Forwarding
	o.userRC = line.userRC && cert.userRC
	return &o
}
