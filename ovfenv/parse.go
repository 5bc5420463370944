package ovfenv

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// maxDepth bounds element nesting. A real ovf-env.xml is less than ten
// levels deep; the bound keeps hostile input from costing much.
const maxDepth = 256

// ParseError is one problem found in an OVF environment document, with
// where it was found. Parse returns every problem at once, joined with
// errors.Join; use errors.As to get at the first, or Unwrap() []error on
// the joined error to get them all.
type ParseError struct {
	// Line is the 1-based line of the document, zero when unknown.
	Line int
	// Column is the 1-based byte column on Line, zero when unknown.
	Column int
	// Path is the element path ("/Environment/PropertySection/Property[3]"),
	// written with the document's own prefixes; empty when the problem is
	// not about one element (a syntax error).
	Path string
	// Msg says what is wrong.
	Msg string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("ovf-env")
	if e.Line > 0 {
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(" column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// pos is a place in the document.
type pos struct{ line, col int }

// Parse reads an OVF environment document (DMTF DSP0243). Elements and
// attributes are matched by namespace URI, never by prefix; sections,
// elements and attributes it does not know are ignored. A Property whose
// key is in a namespace other than the environment's is ignored; one with
// no key at all is an error. An unprefixed id, key or value attribute is
// accepted as if it were in the environment namespace.
//
// On error Parse returns nil and every problem it found, each a
// *ParseError with the line it is on, joined with errors.Join.
func Parse(data []byte) (*Environment, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return nil, &ParseError{Line: 1, Column: 1, Msg: "document is UTF-16; only UTF-8 is supported"}
	}

	// Pass 1: encoding/xml checks the syntax and records where each element
	// starts, since etree keeps no positions.
	starts, err := elementStarts(data)
	if err != nil {
		return nil, err
	}

	// Pass 2: etree builds the tree. Its elements come in the same document
	// order as the StartElements of pass 1.
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{CharsetReader: charsetReader, MaxDepth: maxDepth + 1}
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, &ParseError{Msg: fmt.Sprintf("reading XML: %v", err)}
	}
	p := &parser{lines: make(map[*etree.Element]pos, len(starts))}
	i := 0
	var index func(el *etree.Element)
	index = func(el *etree.Element) {
		if i < len(starts) {
			p.lines[el] = starts[i]
		}
		i++
		for _, c := range el.ChildElements() {
			index(c)
		}
	}
	for _, c := range doc.ChildElements() {
		index(c)
	}
	if i != len(starts) {
		// Cannot happen while both passes use encoding/xml; keep going
		// without lines rather than report wrong ones.
		clear(p.lines)
	}
	return p.environment(doc.Root())
}

// charsetReader accepts the encodings that are UTF-8 already.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q: only UTF-8 is supported", charset)
}

// elementStarts checks that data is one well-formed XML document and
// returns the start position of each element, in document order.
func elementStarts(data []byte) ([]pos, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	var (
		starts []pos
		depth  int
		roots  int
	)
	for {
		line, col := dec.InputPos() // where the next token starts
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if roots == 0 {
				return nil, &ParseError{Line: line, Column: col, Msg: "no root element: the document is empty or has only a prolog"}
			}
			return starts, nil
		}
		if err != nil {
			return nil, syntaxError(dec, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return nil, &ParseError{Line: line, Column: col, Msg: fmt.Sprintf("element <%s> after the root element: a document has one root", t.Name.Local)}
				}
			}
			depth++
			if depth > maxDepth {
				return nil, &ParseError{Line: line, Column: col, Msg: fmt.Sprintf("elements nested more than %d deep", maxDepth)}
			}
			starts = append(starts, pos{line, col})
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, &ParseError{Line: line, Column: col, Msg: "text outside the root element"}
			}
		}
	}
}

func syntaxError(dec *xml.Decoder, err error) error {
	line, col := dec.InputPos()
	msg := err.Error()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg = "XML syntax error: " + se.Msg
		if se.Line != line {
			line, col = se.Line, 0
		}
	}
	return &ParseError{Line: line, Column: col, Msg: msg}
}

type parser struct {
	lines map[*etree.Element]pos
	errs  []error
}

func (p *parser) errorf(el *etree.Element, format string, args ...any) {
	at := p.lines[el]
	p.errs = append(p.errs, &ParseError{Line: at.line, Column: at.col, Path: path(el), Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) environment(root *etree.Element) (*Environment, error) {
	if root == nil {
		return nil, &ParseError{Msg: "no root element"}
	}
	if root.Tag != "Environment" || root.NamespaceURI() != NamespaceEnv {
		p.errorf(root, "root element is %s, want Environment in namespace %q", describe(root), NamespaceEnv)
		return nil, errors.Join(p.errs...)
	}
	env := &Environment{Properties: []Property{}}
	env.ID, _ = envAttr(root, "id")
	env.VCenterID, _ = nsAttr(root, NamespaceVMware, "vCenterId")
	for _, el := range root.ChildElements() {
		switch ns := el.NamespaceURI(); {
		case ns == NamespaceEnv && el.Tag == "PlatformSection":
			if env.Platform == nil {
				env.Platform = platform(el)
			}
		case ns == NamespaceEnv && el.Tag == "PropertySection":
			env.Properties = append(env.Properties, p.properties(el)...)
		case ns == NamespaceEnv && el.Tag == "Entity":
			en := Entity{Properties: []Property{}}
			var ok bool
			if en.ID, ok = envAttr(el, "id"); !ok {
				p.errorf(el, "Entity has no id attribute")
			}
			for _, c := range el.ChildElements() {
				switch {
				case c.Tag == "PropertySection" && c.NamespaceURI() == NamespaceEnv:
					en.Properties = append(en.Properties, p.properties(c)...)
				case c.Tag == "EthernetAdapterSection" && c.NamespaceURI() == NamespaceVMware:
					en.Adapters = append(en.Adapters, p.adapters(c)...)
				}
			}
			env.Entities = append(env.Entities, en)
		case ns == NamespaceVMware && el.Tag == "EthernetAdapterSection":
			env.Adapters = append(env.Adapters, p.adapters(el)...)
		default:
			env.Unknown = append(env.Unknown, Section{Namespace: ns, Name: el.Tag, Line: p.lines[el].line})
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return env, nil
}

// adapters reads a ve:EthernetAdapterSection.
func (p *parser) adapters(el *etree.Element) []Adapter {
	var out []Adapter
	for _, c := range el.ChildElements() {
		if c.Tag != "Adapter" || c.NamespaceURI() != NamespaceVMware {
			continue
		}
		var a Adapter
		var ok bool
		if a.MAC, ok = nsAttr(c, NamespaceVMware, "mac"); !ok || a.MAC == "" {
			p.errorf(c, "Adapter has no ve:mac attribute (namespace %q)", NamespaceVMware)
		}
		a.Network, _ = nsAttr(c, NamespaceVMware, "network")
		a.UnitNumber, _ = nsAttr(c, NamespaceVMware, "unitNumber")
		out = append(out, a)
	}
	return out
}

func platform(el *etree.Element) *Platform {
	pl := &Platform{}
	for _, c := range el.ChildElements() {
		if c.NamespaceURI() != NamespaceEnv {
			continue
		}
		v := strings.TrimSpace(c.Text())
		switch c.Tag {
		case "Kind":
			pl.Kind = v
		case "Version":
			pl.Version = v
		case "Vendor":
			pl.Vendor = v
		case "Locale":
			pl.Locale = v
		case "TimeZone", "Timezone":
			pl.Timezone = v
		}
	}
	return pl
}

// properties reads the Property elements of one PropertySection.
func (p *parser) properties(section *etree.Element) []Property {
	props := []Property{}
	for _, el := range section.ChildElements() {
		if el.Tag != "Property" || el.NamespaceURI() != NamespaceEnv {
			continue
		}
		key, ok := envAttr(el, "key")
		if !ok {
			if foreign := foreignAttr(el, "key"); foreign != "" {
				continue // a key in another namespace: not ours
			}
			p.errorf(el, "Property has no key attribute (oe:key, namespace %q)", NamespaceEnv)
			continue
		}
		if key == "" {
			p.errorf(el, "Property has an empty key")
			continue
		}
		value, _ := envAttr(el, "value")
		props = append(props, Property{Key: key, Value: value, Line: p.lines[el].line})
	}
	return props
}

// nsAttr returns the value of the attribute local in namespace ns.
func nsAttr(el *etree.Element, ns, local string) (string, bool) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == local && a.Space != "" && a.NamespaceURI() == ns {
			return a.Value, true
		}
	}
	return "", false
}

// envAttr returns the attribute local in the environment namespace, or
// else the unprefixed attribute of that name.
func envAttr(el *etree.Element, local string) (string, bool) {
	if v, ok := nsAttr(el, NamespaceEnv, local); ok {
		return v, true
	}
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == local {
			return a.Value, true
		}
	}
	return "", false
}

// foreignAttr returns the prefixed name of an attribute local that is in a
// namespace other than the environment's, or "".
func foreignAttr(el *etree.Element, local string) string {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == local && a.Space != "" && a.Space != "xmlns" && a.NamespaceURI() != NamespaceEnv {
			return a.FullKey()
		}
	}
	return ""
}

// describe names an element for a message: its tag and namespace.
func describe(el *etree.Element) string {
	ns := el.NamespaceURI()
	if ns == "" {
		return fmt.Sprintf("<%s> (no namespace)", el.FullTag())
	}
	return fmt.Sprintf("<%s> (namespace %q)", el.FullTag(), ns)
}

// path is the element's location, "/Environment/PropertySection/Property[3]",
// with an index wherever siblings share the tag.
func path(el *etree.Element) string {
	var parts []string
	for e := el; e != nil && e.Tag != ""; e = e.Parent() {
		part := e.FullTag()
		if parent := e.Parent(); parent != nil {
			n, at := 0, 0
			for _, s := range parent.ChildElements() {
				if s.FullTag() == part {
					n++
					if s == e {
						at = n
					}
				}
			}
			if n > 1 {
				part += "[" + strconv.Itoa(at) + "]"
			}
		}
		parts = append(parts, part)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString("/")
		b.WriteString(parts[i])
	}
	return b.String()
}
