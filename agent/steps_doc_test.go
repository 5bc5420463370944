package agent

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestStepsDocumented: docs/cli.md's pipeline table lists the steps of
// Steps(), in their order, so readers see the order ovfinit runs them in.
func TestStepsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "The pipeline, in order")
	if !ok {
		t.Fatal("docs/cli.md has no pipeline table")
	}
	// The intro line, a blank line, the table, a blank line.
	_, table, _ = strings.Cut(table, "\n\n")
	table, _, _ = strings.Cut(table, "\n\n")
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		got = append(got, m[1])
	}
	var want []string
	for _, s := range Steps() {
		want = append(want, s.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("docs/cli.md lists the steps\n%q\nSteps() runs\n%q", got, want)
	}
}
