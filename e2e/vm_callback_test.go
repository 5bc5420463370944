package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSignedCallbacks boots a VM whose environment carries
// ovfinit.callback.secret and checks, end to end, that the agent signs
// every event: the recorder verifies each request with callback.Verify and
// refuses (401) any it cannot, and the boot must reach ready with none
// refused. It also checks the percent the progress bars of ovfinit watch
// rely on: never going back, 100 on ready.
func TestSignedCallbacks(t *testing.T) {
	requireVM(t)
	const secret = "e2e-shared-secret"
	h := newHarness(t, setup{secret: secret})
	env := h.env("e2e-signed")
	env.Script = "" // the pipeline without its script step
	iso := h.isoOf(t, "iso", env.Properties())

	b := h.boot(t, iso, "e2e-signed") // fails on any refused (unsigned, badly signed) event
	defer h.poweroff(t, b)
	if len(b.events) < 10 {
		t.Errorf("%d verified events before ready, want a whole pipeline's", len(b.events))
	}
	last := -1
	for _, e := range b.events {
		var p struct {
			Data struct {
				Percent int `json:"percent"`
			} `json:"data"`
		}
		if err := json.Unmarshal(e.Raw, &p); err != nil {
			t.Fatalf("event %s: %v", e.ID, err)
		}
		if p.Data.Percent < last {
			t.Errorf("event %s percent %d after %d: progress went back", e.ID, p.Data.Percent, last)
		}
		last = p.Data.Percent
		if strings.Contains(string(e.Raw), secret) {
			t.Errorf("event %s carries the secret: %s", e.ID, e.Raw)
		}
	}
	if last != 100 {
		t.Errorf("ready percent = %d, want 100", last)
	}
}
