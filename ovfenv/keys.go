package ovfenv

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// KeyType is the kind of value a property holds. It decides how the value is
// checked and how `ovfinit env descriptor` declares it (ovf:type).
type KeyType string

// The value types.
const (
	TypeString KeyType = "string"
	TypeInt    KeyType = "int"
	TypeBool   KeyType = "bool"   // true/false/True/False/yes/no/1/0
	TypeBase64 KeyType = "base64" // standard base64; the decoded bytes are used
	TypeList   KeyType = "list"   // several values, one per line or comma-separated
)

// Key describes one property the agent understands. The table of Keys is the
// single source of its name, type, range and default for the planners (the
// typed getters Environment.Int, Bool, Seconds, Enum, Text), of
// docs/properties.md and of `ovfinit env descriptor`, so the documentation,
// the descriptor and the code cannot drift apart.
//
// Adding a property is one declaration in the keys_*.go file of its
// capability, `KeyX = add(&part, Key{...})` where the docs should list it;
// the planner reads it as env.Int(ovfenv.KeyX) (or Bool, ...), and
// `go test ./ovfenv -run TestPropertiesDoc -update` regenerates the docs.
type Key struct {
	Name        string  // the property key, e.g. "ovfinit.ssh.port"
	Group       string  // the docs section it belongs to, e.g. "SSH server"
	Type        KeyType // how the value is read
	Default     string  // "" when there is none
	Label       string  // short human name, for a deploy wizard
	Description string  // one paragraph, Markdown
	Secret      bool    // never logged, redacted in saved copies, ovf:password="true"

	// Min and Max bound a TypeInt value, both included; Max 0 is no upper
	// bound. Both 0: any whole number.
	Min, Max int64
	// Choices, when set, are the accepted spellings of a TypeString value
	// (lower case; the value is matched in any case) and what each means.
	Choices map[string]string
	// Split says how a list's value is cut into entries (List).
	Split ListSplit
}

// ListSplit is how a list-valued key's value is cut into entries.
type ListSplit int

const (
	// SplitLines: one entry per line; blank lines and "#" comments are
	// skipped (authorized_keys-like values, whose entries hold spaces).
	SplitLines ListSplit = iota
	// SplitWords: entries separated by commas or white space (names).
	SplitWords
)

// SplitList cuts v into k's entries, each trimmed, none empty.
func (k Key) SplitList(v string) []string {
	var out []string
	if k.Split == SplitWords {
		return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })
	}
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// add appends k to a part of the table and returns it: each key is written
// once, where it is declared, and the declaration is its place in the docs
// (declaration order within a keys_*.go file).
func add(part *[]Key, k Key) Key {
	*part = append(*part, k)
	return k
}

// Keys returns every property the agent understands, in documentation order.
// Each capability keeps its part of the table in its own keys_*.go file.
func Keys() []Key {
	var all []Key
	for _, part := range [][]Key{identityKeys, hostKeys, netKeys, userKeys, sshKeys, scriptKeys, callbackKeys, systemKeys} {
		all = append(all, part...)
	}
	return all
}

// keysByName indexes Keys() by name. It is built on first use, never at
// package initialisation, when the table may not be complete yet.
var keysByName = sync.OnceValue(func() map[string]Key {
	m := map[string]Key{}
	for _, k := range Keys() {
		m[k.Name] = k
	}
	return m
})

// LookupKey finds a key by name; a "guestinfo." prefix is ignored.
func LookupKey(name string) (Key, bool) {
	k, ok := keysByName()[NormalizeKey(name)]
	return k, ok
}

// NetKey returns the key of NIC n's field (mac, name, dhcp4, dhcp6, address,
// gateway, routes, mtu, dns, search): ovfinit.net.N.<field>. A NIC or field
// the table does not have gives a TypeString key of that name, not in the
// table.
func NetKey(n int, field string) Key {
	name := fmt.Sprintf("ovfinit.net.%d.%s", n, field)
	if k, ok := LookupKey(name); ok {
		return k
	}
	return Key{Name: name, Type: TypeString}
}
