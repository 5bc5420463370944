package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/e2e/vm"
)

// failRecorder is a testing.TB that records Errorf instead of failing.
type failRecorder struct {
	testing.TB
	errs []string
}

func (f *failRecorder) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// TestCheckSignaturesFails: the check every VM test runs at its end
// (startRecorder) fails the test when the guest sent one event unsigned,
// even after a Reset between boots, and passes when all were signed. No
// VM: the events are posted here.
func TestCheckSignaturesFails(t *testing.T) {
	secret := newSecret(t)
	post := func(rec *vm.Recorder, seq int, sign bool) {
		t.Helper()
		body := fmt.Sprintf(`{"specversion":"1.0","id":"b-%d","source":"urn:ovfinit:instance:i","type":%q,"time":"2026-01-02T03:04:05Z","sequence":%d,"datacontenttype":"application/json","data":{"instanceId":"i","boot":"b","step":"network","status":"started"}}`,
			seq, vm.TypeStepStarted, seq)
		req, err := http.NewRequest("POST", rec.URL(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/cloudevents+json")
		if sign {
			callback.SignRequest(req.Header, []byte(secret), fmt.Sprintf("b-%d", seq), []byte(body), time.Now())
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for _, tc := range []struct {
		name     string
		unsigned bool
	}{{"all signed", false}, {"one unsigned", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := vm.NewSignedRecorder([]byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Close()
			post(rec, 1, true)
			post(rec, 2, !tc.unsigned)
			rec.Reset() // as the harness does before each boot
			post(rec, 3, true)
			f := &failRecorder{TB: t}
			checkSignatures(f, rec)
			if tc.unsigned && (len(f.errs) == 0 || !strings.Contains(f.errs[0], "refused a request for its signature")) {
				t.Errorf("checkSignatures with an unsigned event: errors %q, want one naming the refused request", f.errs)
			}
			if !tc.unsigned && len(f.errs) > 0 {
				t.Errorf("checkSignatures with every event signed: errors %q, want none", f.errs)
			}
		})
	}
}
