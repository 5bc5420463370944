package system

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
)

// TestDocProtocol checks the system protocol's examples in
// docs/callbacks.md: every request and answer body decodes, strictly, into
// the types the code sends, and the system file parses.
func TestDocProtocol(t *testing.T) {
	doc, err := os.ReadFile("../../docs/callbacks.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "## Systems of VMs\n")
	if !ok {
		t.Fatal("docs/callbacks.md has no section Systems of VMs")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	blocks := strings.Split(sec, "```http\n")[1:]
	if len(blocks) != 3 {
		t.Fatalf("found %d http examples, want a query, a publish and an answer", len(blocks))
	}
	for i, b := range blocks {
		b, _, _ = strings.Cut(b, "```")
		head, body, _ := strings.Cut(b, "\n\n")
		if !strings.Contains(head, "Content-Type: "+callback.SystemContentType) {
			t.Errorf("example %d: no Content-Type %s", i+1, callback.SystemContentType)
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.DisallowUnknownFields()
		var v any = &callback.SystemRequest{}
		if strings.HasPrefix(head, "HTTP/1.1 200") {
			v = &callback.SystemAnswer{}
		}
		if err := dec.Decode(v); err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, body)
		}
	}
	_, y, _ := strings.Cut(sec, "```yaml\n")
	y, _, _ = strings.Cut(y, "```")
	if _, err := Parse("system.yaml", []byte(y)); err != nil {
		t.Errorf("the documented system file: %v", err)
	}
}
