package ovfenv

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PropertyError is a problem with one property's value: the property, its
// line in ovf-env.xml, and what is wrong, in the user's words.
type PropertyError struct {
	Key  string
	Line int // in ovf-env.xml; 0 when unknown
	Err  error
}

func (e *PropertyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("property %s (ovf-env.xml line %d): %v", e.Key, e.Line, e.Err)
	}
	return fmt.Sprintf("property %s: %v", e.Key, e.Err)
}

func (e *PropertyError) Unwrap() error { return e.Err }

// The typed getters read a property by its Key: an unset value (missing,
// blank or "null") is the key's Default, a set one is parsed by the key's
// type and checked against its range or choices. A problem is a
// *PropertyError naming the property and its line; the value returned with
// it is the default.

// Text returns k's value, spaces trimmed, or its Default when unset; set
// says whether the environment gave it.
func (e *Environment) Text(k Key) (v string, set bool) {
	v, set = e.Property(k.Name)
	v = strings.TrimSpace(v)
	if !set || v == "" {
		return k.Default, false
	}
	return v, true
}

// SetUnder reports whether the environment sets k or any key under it
// (k.Name + ".": ovfinit.user.uid under ovfinit.user), each read as
// Property reads it (its last line; blank or "null" is unset).
func (e *Environment) SetUnder(k Key) bool {
	if e == nil {
		return false
	}
	for _, p := range e.Properties {
		if n := NormalizeKey(p.Key); n == k.Name || strings.HasPrefix(n, k.Name+".") {
			if _, set := e.Property(n); set {
				return true
			}
		}
	}
	return false
}

// Later returns, of the keys the environment sets (as Property reads
// them), the one whose line comes last in the document, and the others it
// sets; ok is false when it sets none. cloud-init's OVF datasource reads
// hostname and local-hostname so: the later one wins.
func (e *Environment) Later(keys ...Key) (last Key, others []Key, ok bool) {
	at := -1
	for _, k := range keys {
		if _, set := e.Property(k.Name); !set {
			continue
		}
		if i := find(e.Properties, k.Name); i > at {
			if ok {
				others = append(others, last)
			}
			last, at, ok = k, i, true
		} else {
			others = append(others, k)
		}
	}
	return last, others, ok
}

// Int returns k's whole-number value, within [k.Min, k.Max].
func (e *Environment) Int(k Key) (int, error) {
	v, set := e.Text(k)
	if !set {
		n, _ := k.ParseInt(v)
		return n, nil
	}
	n, err := k.ParseInt(v)
	if err != nil {
		d, _ := k.ParseInt(k.Default)
		return d, e.fieldError(k, err)
	}
	return n, nil
}

// Seconds returns k's value, a whole number of seconds, as a duration.
func (e *Environment) Seconds(k Key) (time.Duration, error) {
	n, err := e.Int(k)
	return time.Duration(n) * time.Second, err
}

// Bool returns k's boolean value.
func (e *Environment) Bool(k Key) (bool, error) {
	v, set := e.Text(k)
	b, err := ParseBool(v)
	if set && err != nil {
		d, _ := ParseBool(k.Default)
		return d, e.fieldError(k, err)
	}
	return b, nil
}

// Enum returns what k's value means among k.Choices.
func (e *Environment) Enum(k Key) (string, error) {
	v, set := e.Text(k)
	c, err := k.ParseEnum(v)
	if set && err != nil {
		d, _ := k.ParseEnum(k.Default)
		return d, e.fieldError(k, err)
	}
	return c, nil
}

// List returns k's entries, cut as k.Split says (the default's when
// unset); set is false when the property is unset or blank.
func (e *Environment) List(k Key) (entries []string, set bool) {
	v, set := e.Text(k)
	return k.SplitList(v), set
}

// Base64 returns a TypeBase64 key's value decoded, whitespace (the line
// breaks of a wrapped value) dropped first; nil when unset.
func (e *Environment) Base64(k Key) ([]byte, error) {
	v, set := e.Text(k)
	if !set {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil {
		return nil, e.fieldError(k, fmt.Errorf("not base64 (encode the file with `base64 -w0 FILE`): %v", err))
	}
	return b, nil
}

// fieldError is err about k, with its line.
func (e *Environment) fieldError(k Key, err error) *PropertyError {
	return &PropertyError{Key: k.Name, Line: e.PropertyLine(k.Name), Err: err}
}

// ParseInt reads a whole number within [k.Min, k.Max]. An empty v (no
// default) is 0.
func (k Key) ParseInt(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < k.Min && (k.Min != 0 || k.Max != 0) || k.Max != 0 && n > k.Max || int64(int(n)) != n {
		return 0, fmt.Errorf("want %s, got %q", k.intRange(), v)
	}
	return int(n), nil
}

// intRange says which numbers ParseInt accepts.
func (k Key) intRange() string {
	switch {
	case k.Min == 0 && k.Max == 0:
		return "a whole number"
	case k.Max == 0:
		return fmt.Sprintf("a whole number from %d up", k.Min)
	}
	return fmt.Sprintf("a whole number from %d to %d", k.Min, k.Max)
}

// ParseEnum reads one of k.Choices, in any case, and returns what it
// means. A key without Choices takes any value as it is.
func (k Key) ParseEnum(v string) (string, error) {
	v = strings.TrimSpace(v)
	if k.Choices == nil {
		return v, nil
	}
	if c, ok := k.Choices[strings.ToLower(v)]; ok {
		return c, nil
	}
	var want []string
	seen := map[string]bool{}
	for _, c := range k.Choices {
		if !seen[c] {
			seen[c] = true
			want = append(want, c)
		}
	}
	slices.Sort(want)
	return "", fmt.Errorf("want %s, got %q", strings.Join(want, " or "), v)
}
