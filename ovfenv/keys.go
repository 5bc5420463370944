package ovfenv

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
// single source of docs/properties.md and of `ovfinit env descriptor`, so the
// documentation, the descriptor and the code cannot drift apart.
type Key struct {
	Name        string  // the property key, e.g. "ovfinit.ssh.port"
	Group       string  // the docs section it belongs to, e.g. "SSH server"
	Type        KeyType // how the value is read
	Default     string  // "" when there is none
	Label       string  // short human name, for a deploy wizard
	Description string  // one paragraph, Markdown
	Secret      bool    // never logged, redacted in saved copies, ovf:password="true"
}

// Keys returns every property the agent understands, in documentation order.
// Each capability keeps its part of the table in its own keys_*.go file.
func Keys() []Key {
	var all []Key
	for _, part := range [][]Key{identityKeys, hostKeys, netKeys, userKeys, sshKeys, scriptKeys, callbackKeys} {
		all = append(all, part...)
	}
	return all
}

// LookupKey finds a key by name; a "guestinfo." prefix is ignored.
func LookupKey(name string) (Key, bool) {
	name = NormalizeKey(name)
	for _, k := range Keys() {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}
