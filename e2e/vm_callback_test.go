package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
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
	h := &harness{dir: t.TempDir()}
	var err error
	if h.assets, err = vm.Prepare(t.Context(), h.dir); err != nil {
		t.Fatalf("preparing the VM: %v", err)
	}
	if h.rec, err = vm.NewSignedRecorder([]byte(secret)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rec.Close() })
	h.disk = filepath.Join(h.dir, "state.img")
	if err := vm.NewDisk(h.disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	h.signer = newSigner(t)

	env := vm.GuestEnv{
		InstanceID:     "e2e-signed",
		Hostname:       guestHostname,
		User:           guestUser,
		PublicKey:      strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.signer.PublicKey()))),
		CallbackURL:    h.rec.GuestURL(),
		CallbackSecret: secret,
	}
	x, err := env.XML()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.dir, "iso")
	os.MkdirAll(dir, 0o755)
	iso, err := vm.BuildISO(dir, x)
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}

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
		if err := jsonUnmarshal(e.Raw, &p); err != nil {
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

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
