// Package system is the manager's side of systems of VMs (`ovfinit watch
// --system FILE`): the system file (members, the instances that make them,
// the order they start in), the state the members' events and published
// values build, and the HTTP handler of the system protocol
// (docs/callbacks.md, "Systems of VMs"). No guest package imports it.
package system

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"go.yaml.in/yaml/v3"
)

// MaxMembers bounds the members of a system file, and MaxInstancesPer the
// instances one member counts.
const (
	MaxMembers      = 256
	MaxInstancesPer = 1024
)

// System is a parsed and checked system file.
type System struct {
	Members []*Member // in the file's order
	byName  map[string]*Member
}

// Member is one member of a system: the instances that make it and the
// members that must be ready before its scripts run.
type Member struct {
	Name      string
	Instances []string // ids or path.Match patterns (db-*)
	Count     int      // instances ready that make the member ready
	After     []string // names of members it waits for
	Line      int      // of its name in the file
}

// Member returns the member named name, or nil.
func (s *System) Member(name string) *Member { return s.byName[name] }

// MemberOf returns the member whose instance list matches the instance id
// first (an id before a pattern, then the file's order), or nil.
func (s *System) MemberOf(instance string) *Member {
	for _, m := range s.Members {
		for _, id := range m.Instances {
			if id == instance {
				return m
			}
		}
	}
	for _, m := range s.Members {
		for _, p := range m.Instances {
			if ok, _ := path.Match(p, instance); ok && isPattern(p) {
				return m
			}
		}
	}
	return nil
}

// Patterns returns every member's ids and patterns, and how many instances
// the system counts in all: what watch waits for.
func (s *System) Patterns() (list []string, count int) {
	for _, m := range s.Members {
		list = append(list, m.Instances...)
		count += m.Count
	}
	return list, count
}

func isPattern(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// ParseError is one problem of a system file, at its line.
type ParseError struct {
	File string
	Line int // 0: the whole file
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Parse reads a system file (YAML; name is the file's name in errors):
//
//	members:
//	  db:
//	    instances: [db-1]        # instance ids or patterns (db-*)
//	  app:
//	    instances: ["app-*"]
//	    count: 2                 # default: the ids listed, or 1 with a pattern
//	    after: [db]              # ready before app's scripts run
//
// It returns every problem at once, each with its line: an unknown key, an
// unknown member in after, a cycle, an instance listed twice, a bad name
// or pattern.
func Parse(name string, src []byte) (*System, error) {
	p := &parser{file: name}
	s := p.parse(src)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return s, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) bad(line int, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(src []byte) *System {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err == io.EOF {
		p.bad(0, "empty: want a mapping with members")
		return nil
	} else if err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				p.errs = append(p.errs, &ParseError{File: p.file, Msg: e})
			}
		} else {
			p.errs = append(p.errs, &ParseError{File: p.file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		}
		return nil
	}
	if len(doc.Content) == 0 {
		p.bad(0, "empty: want a mapping with members")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.bad(root.Line, "want a mapping with the key members")
		return nil
	}
	s := &System{byName: map[string]*Member{}}
	var members *yaml.Node
	for k, v := range pairs(root) {
		switch k.Value {
		case "members":
			members = v
		default:
			p.bad(k.Line, "unknown key %q (want members)", k.Value)
		}
	}
	if members == nil {
		p.bad(root.Line, "no members")
		return s
	}
	if members.Kind != yaml.MappingNode {
		p.bad(members.Line, "members: want a mapping of member names")
		return s
	}
	owner := map[string]*Member{} // instance id -> member that lists it
	for k, v := range pairs(members) {
		m := p.member(k, v)
		if m == nil {
			continue
		}
		if s.byName[m.Name] != nil {
			p.bad(k.Line, "member %q again (first on line %d)", m.Name, s.byName[m.Name].Line)
			continue
		}
		for _, id := range m.Instances {
			if o := owner[id]; o != nil && !isPattern(id) {
				p.bad(k.Line, "member %q: instance %q is member %q's already (line %d)", m.Name, id, o.Name, o.Line)
			}
			owner[id] = m
		}
		s.byName[m.Name] = m
		s.Members = append(s.Members, m)
	}
	if len(s.Members) > MaxMembers {
		p.bad(members.Line, "%d members, at most %d", len(s.Members), MaxMembers)
	}
	if len(s.Members) == 0 && len(p.errs) == 0 {
		p.bad(members.Line, "no members")
	}
	// Dependencies: every name known, no cycle.
	afterLines := map[*Member][]int{}
	for k, v := range pairs(members) {
		if m := s.byName[k.Value]; m != nil {
			if a := child(v, "after"); a != nil {
				for _, it := range a.Content {
					afterLines[m] = append(afterLines[m], it.Line)
				}
			}
		}
	}
	for _, m := range s.Members {
		for i, d := range m.After {
			line := m.Line
			if i < len(afterLines[m]) {
				line = afterLines[m][i]
			}
			switch {
			case d == m.Name:
				p.bad(line, "member %q: after itself", m.Name)
			case s.byName[d] == nil:
				p.bad(line, "member %q: after %q, which is no member (members: %s)", m.Name, d, strings.Join(names(s.Members), ", "))
			}
		}
	}
	p.cycles(s)
	return s
}

// cycles reports each dependency cycle once, at the line of its first
// member in the file.
func (p *parser) cycles(s *System) {
	const (
		white = iota
		grey
		black
	)
	color := map[*Member]int{}
	var stack []*Member
	var visit func(m *Member)
	visit = func(m *Member) {
		color[m] = grey
		stack = append(stack, m)
		for _, d := range m.After {
			n := s.byName[d]
			if n == nil || n == m {
				continue
			}
			switch color[n] {
			case white:
				visit(n)
			case grey:
				i := len(stack) - 1
				for stack[i] != n {
					i--
				}
				cyc := append(names(stack[i:]), n.Name)
				first := stack[i]
				for _, c := range stack[i:] {
					if c.Line < first.Line {
						first = c
					}
				}
				p.bad(first.Line, "dependency cycle: %s waits for itself (%s)", first.Name, strings.Join(cyc, " after "))
			}
		}
		stack = stack[:len(stack)-1]
		color[m] = black
	}
	for _, m := range s.Members {
		if color[m] == white {
			visit(m)
		}
	}
}

func names(ms []*Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// member reads one member's mapping.
func (p *parser) member(k, v *yaml.Node) *Member {
	if err := callback.CheckSystemName(k.Value); err != nil {
		p.bad(k.Line, "member %v", err)
		return nil
	}
	m := &Member{Name: k.Value, Line: k.Line}
	if v.Kind != yaml.MappingNode {
		p.bad(v.Line, "member %q: want a mapping with instances, count, after", m.Name)
		return nil
	}
	count := 0
	for kk, vv := range pairs(v) {
		switch kk.Value {
		case "instances":
			m.Instances = p.strings(m.Name, "instances", vv)
			for _, id := range m.Instances {
				if err := callback.CheckInstances([]string{id}); err != nil {
					p.bad(vv.Line, "member %q: %v", m.Name, err)
				}
			}
		case "count":
			n, err := strconv.Atoi(vv.Value)
			if vv.Kind != yaml.ScalarNode || err != nil || n < 1 || n > MaxInstancesPer {
				p.bad(vv.Line, "member %q: count %q: want a whole number from 1 to %d", m.Name, vv.Value, MaxInstancesPer)
				continue
			}
			count = n
		case "after":
			m.After = p.strings(m.Name, "after", vv)
		default:
			p.bad(kk.Line, "member %q: unknown key %q (want instances, count, after)", m.Name, kk.Value)
		}
	}
	if len(m.Instances) == 0 {
		p.bad(k.Line, "member %q: no instances (the instance ids or patterns, such as db-* , that make it)", m.Name)
		return m
	}
	patterns := false
	for _, id := range m.Instances {
		patterns = patterns || isPattern(id)
	}
	switch {
	case count > 0:
		if !patterns && count > len(m.Instances) {
			p.bad(k.Line, "member %q: count %d, more than the %d ids listed", m.Name, count, len(m.Instances))
		}
		m.Count = count
	case patterns:
		m.Count = 1
	default:
		m.Count = len(m.Instances)
	}
	return m
}

// strings reads a list of strings, or one string as a list of one.
func (p *parser) strings(member, key string, v *yaml.Node) []string {
	switch v.Kind {
	case yaml.ScalarNode:
		return []string{v.Value}
	case yaml.SequenceNode:
		var out []string
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				p.bad(it.Line, "member %q: %s: want a list of names", member, key)
				continue
			}
			out = append(out, it.Value)
		}
		return out
	}
	p.bad(v.Line, "member %q: %s: want a list", member, key)
	return nil
}

// pairs yields a mapping node's keys and values.
func pairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// child returns a mapping's value for key, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	for k, v := range pairs(n) {
		if k.Value == key {
			return v
		}
	}
	return nil
}
