package ovfenv

import (
	"bytes"
	"encoding/xml"
)

// Salvage reads a damaged document token by token, in one pass, up to the
// damage, and returns the properties read before it: every Property element
// of the environment namespace, wherever it is, in document order with its
// line. It never fails; a document damaged at its first byte gives an empty
// Environment. The agent uses it to find the callback URL (and its TLS
// material) of a document Parse refuses, so that the manager still hears
// about the failure.
func Salvage(data []byte) *Environment {
	env := &Environment{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err != nil {
			return env
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Property" || se.Name.Space != NamespaceEnv {
			continue
		}
		line, _ := dec.InputPos()
		p := Property{Line: line}
		for _, a := range se.Attr {
			if a.Name.Space != NamespaceEnv {
				continue
			}
			switch a.Name.Local {
			case "key":
				p.Key = a.Value
			case "value":
				p.Value = a.Value
			}
		}
		if p.Key != "" {
			env.Properties = append(env.Properties, p)
		}
	}
}
