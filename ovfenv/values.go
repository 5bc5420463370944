package ovfenv

import (
	"fmt"
	"strings"
)

// GuestinfoPrefix is the prefix VMware's guestinfo keys carry. A property key
// means the same with or without it: "guestinfo.hostname" is "hostname".
const GuestinfoPrefix = "guestinfo."

// NormalizeKey returns the key without a "guestinfo." prefix, so that keys
// can be compared.
func NormalizeKey(key string) string {
	return strings.TrimPrefix(key, GuestinfoPrefix)
}

// IsUnset reports whether a property value means "not set": empty, blank, or
// "null" in any case (what a deploy wizard leaves in an untouched field).
func IsUnset(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || strings.EqualFold(v, "null")
}

// ParseBool reads a boolean property value: true/false, True/False, TRUE/FALSE,
// yes/no (any case), 1/0. Spaces around it are ignored. Anything else is an
// error that lists what is accepted.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean: want true, false, yes, no, 1 or 0", s)
}

// secretWords mark a key as secret even when the key table does not know it
// (a vApp's own guestinfo.root_password, say): a key whose name contains one
// of them, in any case, is redacted.
var secretWords = []string{"password", "passwd", "secret", "token", "private"}

// IsSecret reports whether a property's value must never be logged or saved
// in clear: the key table marks it Secret, or its name contains "password",
// "passwd", "secret", "token" or "private".
func IsSecret(key string) bool {
	if k, ok := LookupKey(key); ok && k.Secret {
		return true
	}
	lower := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// Redaction replaces a secret value in a redacted copy.
const Redaction = "(redacted)"

// Redacted returns a deep copy of the environment in which the value of
// every secret property (IsSecret), its own and its entities', is
// Redaction. An unset secret (empty or "null") is kept as it is, so the copy
// still shows that it was not given.
func (e *Environment) Redacted() *Environment {
	if e == nil {
		return nil
	}
	c := *e
	if e.Platform != nil {
		pl := *e.Platform
		c.Platform = &pl
	}
	c.Properties = redactProps(e.Properties)
	c.Entities = nil
	for _, en := range e.Entities {
		c.Entities = append(c.Entities, Entity{ID: en.ID, Properties: redactProps(en.Properties), Adapters: append([]Adapter(nil), en.Adapters...)})
	}
	c.Adapters = append([]Adapter(nil), e.Adapters...)
	c.Unknown = append([]Section(nil), e.Unknown...)
	return &c
}

func redactProps(props []Property) []Property {
	out := make([]Property, len(props))
	for i, p := range props {
		if IsSecret(p.Key) && !IsUnset(p.Value) {
			p.Value = Redaction
		}
		out[i] = p
	}
	return out
}

// HasSecrets reports whether any property, its own or an entity's, is a
// set secret that has not been redacted.
func (e *Environment) HasSecrets() bool {
	if e == nil {
		return false
	}
	for _, p := range e.Properties {
		if isClearSecret(p) {
			return true
		}
	}
	for _, en := range e.Entities {
		for _, p := range en.Properties {
			if isClearSecret(p) {
				return true
			}
		}
	}
	return false
}

func isClearSecret(p Property) bool {
	return IsSecret(p.Key) && !IsUnset(p.Value) && p.Value != Redaction
}
