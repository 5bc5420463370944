package callback

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// This file holds a deliberately small JSON Schema checker: it understands
// only the keywords event.schema.json uses (type, required, enum, properties,
// additionalProperties: false, items, minLength, maxLength, pattern, minimum,
// maximum, allOf, if/then) and
// fails on any other keyword, so the schema can not silently outgrow it.

var annotationKeywords = map[string]bool{"$schema": true, "$id": true, "title": true, "description": true}

type schemaChecker struct{ errs []string }

func (c *schemaChecker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

// check validates v (as decoded by encoding/json) against schema s.
func (c *schemaChecker) check(path string, s map[string]any, v any) {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "type":
			if !hasType(v, s[k].(string)) {
				c.fail(path, "is %T, want %s", v, s[k])
			}
		case "enum":
			if !slices.ContainsFunc(s[k].([]any), func(e any) bool { return e == v }) {
				c.fail(path, "%v is not one of %v", v, s[k])
			}
		case "minLength":
			if str, ok := v.(string); ok && float64(len(str)) < s[k].(float64) {
				c.fail(path, "%q is shorter than %v", str, s[k])
			}
		case "maxLength":
			if str, ok := v.(string); ok && float64(len(str)) > s[k].(float64) {
				c.fail(path, "%q is longer than %v", str, s[k])
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(s[k].(string)).MatchString(str) {
				c.fail(path, "%q does not match %v", str, s[k])
			}
		case "minimum":
			if n, ok := v.(float64); ok && n < s[k].(float64) {
				c.fail(path, "%v is less than %v", n, s[k])
			}
		case "maximum":
			if n, ok := v.(float64); ok && n > s[k].(float64) {
				c.fail(path, "%v is more than %v", n, s[k])
			}
		case "required":
			if obj, ok := v.(map[string]any); ok {
				for _, r := range s[k].([]any) {
					if _, ok := obj[r.(string)]; !ok {
						c.fail(path, "missing required %q", r)
					}
				}
			}
		case "properties":
			if obj, ok := v.(map[string]any); ok {
				for name, sub := range s[k].(map[string]any) {
					if pv, ok := obj[name]; ok {
						c.check(path+"."+name, sub.(map[string]any), pv)
					}
				}
			}
		case "additionalProperties":
			if s[k] != false {
				c.fail(path, "checker supports only additionalProperties: false")
			}
			props, _ := s["properties"].(map[string]any)
			if obj, ok := v.(map[string]any); ok {
				for name := range obj {
					if _, ok := props[name]; !ok {
						c.fail(path, "unexpected property %q", name)
					}
				}
			}
		case "items":
			if arr, ok := v.([]any); ok {
				for i, item := range arr {
					c.check(fmt.Sprintf("%s[%d]", path, i), s[k].(map[string]any), item)
				}
			}
		case "allOf":
			for _, sub := range s[k].([]any) {
				c.check(path, sub.(map[string]any), v)
			}
		case "if":
			probe := &schemaChecker{}
			probe.check(path, s[k].(map[string]any), v)
			if then, ok := s["then"].(map[string]any); ok && len(probe.errs) == 0 {
				c.check(path, then, v)
			}
		case "then":
			// handled with "if"
		default:
			if !annotationKeywords[k] {
				c.fail(path, "schema keyword %q is not supported by this checker", k)
			}
		}
	}
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == math.Trunc(n)
	case "number":
		_, ok := v.(float64)
		return ok
	}
	return false
}

var (
	schemaOnce sync.Once
	schema     map[string]any
	schemaErr  error
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	schemaOnce.Do(func() {
		b, err := os.ReadFile("event.schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		schemaErr = json.Unmarshal(b, &schema)
	})
	if schemaErr != nil {
		t.Fatalf("loading event.schema.json: %v", schemaErr)
	}
	return schema
}

// validateEvent returns every way body breaks event.schema.json.
func validateEvent(t *testing.T, body []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	c := &schemaChecker{}
	c.check("$", loadSchema(t), v)
	return c.errs
}

// TestSchemaChecker makes sure the checker can fail: each broken event must
// be rejected with the named problem.
func TestSchemaChecker(t *testing.T) {
	good := `{"specversion":"1.0","id":"b-1","source":"urn:ovfinit:instance:i","type":"org.ovfinit.step.started",
		"time":"2026-01-01T00:00:00Z","sequence":"0000000001","datacontenttype":"application/json",
		"data":{"instanceId":"i","step":"hostname","status":"started"}}`
	if errs := validateEvent(t, []byte(good)); len(errs) != 0 {
		t.Fatalf("validateEvent(good) = %v, want no errors", errs)
	}
	tests := []struct {
		name, body, want string
	}{
		{"unknown type", strings.Replace(good, "org.ovfinit.step.started", "org.ovfinit.nope", 1), "is not one of"},
		{"missing id", strings.Replace(good, `"id":"b-1",`, "", 1), `missing required "id"`},
		{"bad status", strings.Replace(good, `"status":"started"`, `"status":"done"`, 1), "$.data.status"},
		{"step event without step", strings.Replace(good, `"step":"hostname",`, "", 1), `missing required "step"`},
		{"extra property", strings.Replace(good, `"sequence":"0000000001"`, `"sequence":"0000000001","secret":"x"`, 1), `unexpected property "secret"`},
		{"sequence a number", strings.Replace(good, `"sequence":"0000000001"`, `"sequence":1`, 1), "want string"},
		{"sequence not padded", strings.Replace(good, `"sequence":"0000000001"`, `"sequence":"1"`, 1), "does not match"},
		{"percent over 100", strings.Replace(good, `"status":"started"`, `"status":"started","percent":101`, 1), "more than"},
		{"ready without result", `{"specversion":"1.0","id":"b-1","source":"s","type":"org.ovfinit.ready","time":"t","sequence":"0000000001","datacontenttype":"application/json","data":{"instanceId":"i"}}`, `missing required "result"`},
		{"failed with result ready", `{"specversion":"1.0","id":"b-1","source":"s","type":"org.ovfinit.failed","time":"t","sequence":"0000000001","datacontenttype":"application/json","data":{"instanceId":"i","result":"ready","retry":false}}`, "$.data.result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := validateEvent(t, []byte(tt.body))
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("validateEvent(%s) = %q, want an error containing %q", tt.name, errs, tt.want)
			}
		})
	}
}

// TestSchemaEnumsMatchConstants keeps the schema and the Go constants in step.
func TestSchemaEnumsMatchConstants(t *testing.T) {
	s := loadSchema(t)
	props := s["properties"].(map[string]any)
	data := props["data"].(map[string]any)["properties"].(map[string]any)
	enum := func(m map[string]any, name string) []any { return m[name].(map[string]any)["enum"].([]any) }
	tests := []struct {
		name string
		got  []any
		want []any
	}{
		{"type", enum(props, "type"), anys(Types)},
		{"data.status", enum(data, "status"), []any{StatusStarted, StatusOK, StatusSkipped, StatusFailed}},
		{"data.result", enum(data, "result"), []any{ResultReady, ResultRetry, ResultFatal}},
		{"specversion", enum(props, "specversion"), []any{SpecVersion}},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("schema enum %s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestDocExamples checks every JSON example in docs/callbacks.md against the
// schema, so the documentation can not drift from it.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/callbacks.md")
	if err != nil {
		t.Fatalf("reading docs/callbacks.md: %v", err)
	}
	blocks := strings.Split(string(doc), "```json\n")[1:]
	if len(blocks) != 4 {
		t.Errorf("docs/callbacks.md has %d JSON examples, want 4 (one per type)", len(blocks))
	}
	types := map[string]bool{}
	for i, b := range blocks {
		body, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("example %d is not closed", i+1)
		}
		if errs := validateEvent(t, []byte(body)); len(errs) != 0 {
			t.Errorf("docs/callbacks.md example %d does not match event.schema.json: %q", i+1, errs)
		}
		var ev Event
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Errorf("example %d: %v", i+1, err)
		}
		types[ev.Type] = true
	}
	for _, typ := range []string{TypeStepStarted, TypeStepFinished, TypeReady, TypeFailed} {
		if !types[typ] {
			t.Errorf("docs/callbacks.md has no example of %s", typ)
		}
	}
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
