package redact

import (
	"net/url"
	"strings"
)

// URLMark replaces the user information and each query value of a URL in
// URL; it needs no escaping in a URL.
const URLMark = "redacted"

// URL returns raw with its user information (user and password) and the
// value of every query parameter replaced by URLMark, the fragment
// dropped; ok is false when raw is not an absolute URL with a host or
// holds nothing to hide, and raw is then returned as it is.
func URL(raw string) (out string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" || (u.User == nil && u.RawQuery == "" && u.Fragment == "") {
		return raw, false
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(URLMark, URLMark)
		} else {
			u.User = url.User(URLMark)
		}
	}
	if u.RawQuery != "" {
		var parts []string
		for p := range strings.SplitSeq(u.RawQuery, "&") {
			k, _, _ := strings.Cut(p, "=")
			parts = append(parts, k+"="+URLMark)
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), true
}

// URLSecrets returns the parts of raw that URL hides, for a Redactor: the
// password (or the user name when there is no password: a token given as
// the user), every query value as written and unescaped, and the fragment.
// It returns nothing for a value that is not an absolute URL.
func URLSecrets(raw string) []string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		} else {
			out = append(out, u.User.Username())
		}
	}
	for p := range strings.SplitSeq(u.RawQuery, "&") {
		_, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			continue
		}
		out = append(out, v)
		if uv, err := url.QueryUnescape(v); err == nil && uv != v {
			out = append(out, uv)
		}
	}
	if u.Fragment != "" {
		out = append(out, u.Fragment)
	}
	return out
}
