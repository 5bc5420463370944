package scripts

import (
	"strings"
	"testing"
)

// TestProgressRedacted (issue 13, defect 8): progress() messages go to the
// manager; the host sees them redacted like a log line, derived forms
// included, and the log line of the call too.
func TestProgressRedacted(t *testing.T) {
	env, lb := testEnv(t, map[string]string{"db.password": "Hunter22-pw"})
	env.Secrets = []string{"Hunter22-pw"}
	var got []string
	live := mustLive(t, env.Root)
	live.OnProgress = func(percent int, message string) { got = append(got, message) }
	env.Host = live
	src := `pw = ovf.property("db.password")
progress(10, "as is " + pw)
progress(20, "upper " + pw.upper())
progress(30, "json " + json.encode({"p": pw}))
`
	if err := Run(t.Context(), "p.star", []byte(src), env); err != nil {
		t.Fatal(err)
	}
	want := []string{"as is [redacted]", "upper [redacted]", `json {"p":"[redacted]"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress messages = %q, want %q", got, want)
	}
	if logs := lb.String(); strings.Contains(strings.ToLower(logs), "hunter22") {
		t.Errorf("log holds the secret:\n%s", logs)
	}
}
