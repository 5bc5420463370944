package ovfenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPropertiesDoc keeps docs/properties.md equal to what the key table
// generates; -update rewrites it.
func TestPropertiesDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "properties.md")
	got := PropertiesMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("docs/properties.md is not what ovfenv.Keys() generates (run go test ./ovfenv -run TestPropertiesDoc -update) (-file +generated):\n%s", diff)
	}
	for _, k := range Keys() {
		if !strings.Contains(got, "| `"+k.Name+"` |") {
			t.Errorf("PropertiesMarkdown() has no row for %s", k.Name)
		}
		if k.Name == "" || k.Group == "" || k.Type == "" || k.Label == "" || k.Description == "" {
			t.Errorf("key %+v: name, group, type, label and description are required", k)
		}
	}
}
