// Package redact removes secret values from text before it reaches a log, an
// event for the manager or a file: the secret itself in any letter case and
// every derived form that can be computed from it alone (quoted, JSON
// string, URL-escaped, hex, base64 at each alignment). One Redactor serves
// the agent's logger (NewHandler), its events and its status file.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Mark replaces every secret, or derived form of one, found in text.
const Mark = "[redacted]"

// MinLen is the shortest secret, and the shortest derived form of one, that
// is searched for. A shorter value ("1", "no", "abc") would mangle every line
// without hiding anything: such a value is never logged by its property
// (saved copies and `env show` redact by key), but text a script writes may
// show it. The agent warns about it, naming the property.
const MinLen = 4

// Redactor replaces the secrets it was given, and their derived forms, by
// Mark. A nil *Redactor changes nothing. Its methods are safe for
// concurrent use; Add may be called while others use it (the agent learns
// the secrets only once it has read the environment).
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
	pats    []string // ASCII-lowercased forms, longest first, unique
}

// New returns a Redactor for secrets.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add adds secrets; values shorter than MinLen are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, p := range r.pats {
		seen[p] = true
	}
	for _, s := range secrets {
		if len(s) < MinLen || slices.Contains(r.secrets, s) {
			continue
		}
		r.secrets = append(r.secrets, s)
		for _, f := range Forms(s) {
			f = foldASCII(f)
			if !seen[f] {
				seen[f] = true
				r.pats = append(r.pats, f)
			}
		}
	}
	slices.SortStableFunc(r.pats, func(a, b string) int { return len(b) - len(a) })
}

// Secrets returns a copy of the secrets added so far.
func (r *Redactor) Secrets() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.secrets)
}

// With returns a new Redactor with r's secrets and more; r is unchanged.
// r may be nil.
func (r *Redactor) With(secrets ...string) *Redactor {
	return New(append(r.Secrets(), secrets...)...)
}

// Empty reports whether r redacts nothing.
func (r *Redactor) Empty() bool {
	if r == nil {
		return true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.pats) == 0
}

// String returns s with every secret form replaced by Mark. Overlapping
// matches are replaced as one.
func (r *Redactor) String(s string) string {
	if r == nil || len(s) < MinLen {
		return s
	}
	r.mu.RLock()
	pats := r.pats
	r.mu.RUnlock()
	if len(pats) == 0 {
		return s
	}
	folded := foldASCII(s) // same length as s, byte for byte
	type span struct{ lo, hi int }
	var spans []span
	for _, p := range pats {
		for off := 0; off <= len(folded)-len(p); {
			i := strings.Index(folded[off:], p)
			if i < 0 {
				break
			}
			spans = append(spans, span{off + i, off + i + len(p)})
			off += i + 1
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		lo, hi := spans[i].lo, spans[i].hi
		for i++; i < len(spans) && spans[i].lo <= hi; i++ {
			hi = max(hi, spans[i].hi)
		}
		b.WriteString(s[last:lo])
		b.WriteString(Mark)
		last = hi
	}
	b.WriteString(s[last:])
	return b.String()
}

// Forms returns the forms of secret searched for, before case folding: the
// secret and its Unicode upper, lower, title and swapped case (ASCII case is
// matched by folding anyway); its escaped forms as a Go or Starlark quoted
// string and a JSON string, one and two levels deep (the quotes left out);
// url.QueryEscape and url.PathEscape; hex; and, in the standard and the URL
// alphabet, the base64 characters that depend on the secret's bytes alone
// when it starts at each of the three byte offsets of a base64 group, which
// is what shows in the base64 of any text that contains the secret. Forms
// shorter than MinLen are left out.
func Forms(secret string) []string {
	if len(secret) < MinLen {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if len(f) >= MinLen && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	cases := []string{secret, strings.ToUpper(secret), strings.ToLower(secret), titleCase(secret), swapCase(secret)}
	for _, c := range cases {
		add(c)
	}
	// Escapes, twice: json.encode(json.encode(x)) is as easy as once.
	var escaped []string
	for _, c := range cases {
		for _, e := range escapes(c) {
			escaped = append(escaped, e)
			add(e)
		}
	}
	for _, e := range escaped {
		for _, e2 := range escapes(e) {
			add(e2)
		}
	}
	for _, c := range cases {
		add(url.QueryEscape(c))
		add(url.PathEscape(c))
	}
	add(hex.EncodeToString([]byte(secret))) // upper-case hex matches by folding
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for _, f := range base64Inner(enc, []byte(secret)) {
			add(f)
		}
	}
	return out
}

// escapes returns s as it shows inside quotes: strconv.Quote (Go %q,
// Starlark repr and json.encode for printable ASCII), strconv.QuoteToASCII,
// encoding/json with and without HTML escaping, and \xNN for every
// non-ASCII byte (Starlark repr of invalid UTF-8).
func escapes(s string) []string {
	unq := func(q string) string { return q[1 : len(q)-1] }
	out := []string{unq(strconv.Quote(s)), unq(strconv.QuoteToASCII(s))}
	if b, err := json.Marshal(s); err == nil {
		out = append(out, unq(string(b)))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		out = append(out, unq(strings.TrimSuffix(buf.String(), "\n")))
	}
	var x strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			x.WriteString(`\x` + hex.EncodeToString([]byte{c}))
		} else {
			x.WriteByte(c)
		}
	}
	return append(out, unq(strconv.Quote(x.String())), x.String())
}

// base64Inner returns, for each offset k of 0, 1 and 2 bytes before secret
// in its base64 group, the characters of the encoding that depend on the
// secret's bits alone: character i covers bits [6i, 6i+6) of the input,
// and the secret's are [8k, 8k+8n).
func base64Inner(enc *base64.Encoding, secret []byte) []string {
	var out []string
	for k := range 3 {
		in := append(make([]byte, k), secret...)
		s := enc.WithPadding(base64.NoPadding).EncodeToString(in)
		lo := (8*k + 5) / 6             // first i with 6i >= 8k
		hi := (8*(k+len(secret)))/6 - 1 // last i with 6i+6 <= 8(k+n)
		if hi >= lo && hi < len(s) {
			out = append(out, s[lo:hi+1])
		}
	}
	return out
}

// titleCase is Starlark's str.title(): the first letter of every run of
// letters upper case, the others lower case.
func titleCase(s string) string {
	var b strings.Builder
	prev := false
	for _, r := range s {
		if prev {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		prev = unicode.IsLetter(r)
	}
	return b.String()
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

// foldASCII lower-cases the ASCII letters of s and leaves every other byte
// as it is, so that indexes into the result are indexes into s.
func foldASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if c := b[j]; 'A' <= c && c <= 'Z' {
			b[j] = c + 'a' - 'A'
		}
	}
	return string(b)
}
