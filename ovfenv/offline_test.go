package ovfenv

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// TestOfflineRoot: with Offline (ovfinit run --root DIR), no transport asks
// the running host: no command runs, neither the native guestinfo channel
// nor the registry is touched, each skipped transport says why, and the
// file transports read under the root.
func TestOfflineRoot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string // the transport that wins
	}{
		{"seed", map[string][]byte{SeedPath: sampleEnv}, TransportSeed},
		{"fw_cfg file under the root", map[string][]byte{FwCfgPath: sampleEnv, SeedPath: sampleEnv}, TransportFwCfg},
		{"KVP pool under the root", map[string][]byte{KVPPoolDir + "/.kvp_pool_0": kvpPool(KVPKey, string(sampleEnv))}, TransportHyperV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, data := range tc.files {
				writeFile(t, filepath.Join(root, p), data)
			}
			run := &cmdrun.Fake{Unknown: cmdrun.NotFound}
			o := TransportOptions{
				Root: root, Offline: true, Run: run,
				Guestinfo: func(string) (string, bool, error) {
					t.Errorf("the native guestinfo channel was asked with an offline root")
					return "", false, nil
				},
				GuestinfoSet: func(string, string) error {
					t.Errorf("guestinfo was set with an offline root")
					return nil
				},
				KVP: func() (map[string]string, error) {
					t.Errorf("the KVP registry was read with an offline root")
					return nil, nil
				},
			}
			src, err := (&Prober{Transports: DefaultTransports(o)}).Probe(context.Background())
			if err != nil {
				t.Fatalf("Probe() = %v", err)
			}
			if src.Transport != tc.want {
				t.Errorf("Probe() chose %s, want %s", src.Transport, tc.want)
			}
			if len(run.Lines()) != 0 {
				t.Errorf("ran %q with an offline root, want no command", run.Lines())
			}
			reasons := map[string]string{}
			for _, a := range src.Tried {
				reasons[a.Transport] = a.Reason
			}
			for name, want := range map[string]string{
				TransportGuestinfo:  "skipped: VMware guestinfo is the running VM's, and " + root + " is an offline tree",
				TransportVirtualBox: "skipped: VBoxControl asks the running VM",
			} {
				if !strings.Contains(reasons[name], want) {
					t.Errorf("%s reason = %q, want it to contain %q", name, reasons[name], want)
				}
			}
			if tc.want != TransportFwCfg && !strings.Contains(reasons[TransportFwCfg], "modprobe is not run") {
				t.Errorf("fw_cfg reason = %q, want it to say modprobe is not run", reasons[TransportFwCfg])
			}
			if err := WipeGuestinfo(t.Context(), o, []string{"ovfinit.x.password"}); err == nil || !strings.Contains(err.Error(), "offline") {
				t.Errorf("WipeGuestinfo(offline) = %v, want a refusal", err)
			}
		})
	}
}
