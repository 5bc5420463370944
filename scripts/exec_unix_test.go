//go:build unix

package scripts

import (
	"testing"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// TestLiveExecOutputBounded: a command that writes more than
// cmdrun.MaxOutput hands back only that much of each stream. (The old
// limitedBuffer embedded a bytes.Buffer, whose ReadFrom os/exec's io.Copy
// used instead of the bounded Write: no bound at all.)
func TestLiveExecOutputBounded(t *testing.T) {
	h, err := NewLiveHost(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	res, err := h.Exec(t.Context(), Command{Argv: []string{"sh", "-c", "head -c 6000000 /dev/zero; head -c 6000000 /dev/zero >&2; exit 3"}})
	if err != nil {
		t.Fatalf("Exec() = %v; want a Result with code 3", err)
	}
	if len(res.Stdout) != cmdrun.MaxOutput || len(res.Stderr) != cmdrun.MaxOutput || res.Code != 3 {
		t.Errorf("Exec() kept %d bytes of stdout, %d of stderr, code %d; want %d, %d, 3", len(res.Stdout), len(res.Stderr), res.Code, cmdrun.MaxOutput, cmdrun.MaxOutput)
	}
}
