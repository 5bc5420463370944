package callback

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzReceiver feeds the receiver's request handling arbitrary bodies and
// headers, signed with the secret or not (as a sender holding it could),
// each twice and then under a second instance id. It must never panic,
// answer only with the documented statuses, track at most its bound of
// instances, keep at most its bound of text per instance, and hand on only
// events whose printed line is Printable.
func FuzzReceiver(f *testing.F) {
	secret := []byte("fuzz")
	now := time.Unix(1767225600, 0)
	ev := func(inst, id, typ string, d Data) []byte {
		d.InstanceID = inst
		b, _ := json.Marshal(Event{SpecVersion: SpecVersion, ID: id, Source: SourcePrefix + inst, Type: typ, Time: now,
			Sequence: 1, DataContentType: "application/json", Data: d})
		return b
	}
	f.Add(ev("vm-1", "b-1", TypeStepStarted, Data{Step: "network", Status: StatusStarted}), true, ContentType, "")
	f.Add(ev("vm-1", "b-2", TypeReady, Data{Result: ResultReady, Percent: 100, Hostname: "h", Addresses: []string{"10.0.0.5/24"}}), true, ContentType, "")
	f.Add(ev("vm-\x1b]0;x\x07", "id", TypeFailed, Data{Result: ResultFatal, Message: "\u202e\r\n"}), true, ContentType+"; charset=utf-8", "")
	f.Add([]byte(`{"id":"x","source":"urn:ovfinit:instance:a","type":"t","data":{"addresses":["a","b"]}}`), false, ContentType, "")
	f.Add([]byte("{"), true, "text/plain", "v1,AA==")
	f.Add([]byte{}, false, "", "")
	f.Fuzz(func(t *testing.T, body []byte, sign bool, ctype, sig string) {
		const limit = 4
		var handed []Event
		r := NewReceiver(ReceiverConfig{Secret: secret, Now: func() time.Time { return now }, MaxInstances: limit,
			OnEvent: func(ev Event, _ []byte) { handed = append(handed, ev) }})
		var id struct {
			ID string `json:"id"`
		}
		json.Unmarshal(body, &id)
		send := func(body []byte) {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			if sign {
				SignRequest(req.Header, secret, id.ID, body, now)
			} else if sig != "" {
				req.Header.Set(HeaderTimestamp, "1767225600")
				req.Header.Set(HeaderID, id.ID)
				req.Header.Set(HeaderSignature, sig)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			switch w.Code {
			case 204, 400, 401, 403, 413, 415, 503:
			default:
				t.Fatalf("ServeHTTP(%q) = %d, not a status the receiver answers with", body, w.Code)
			}
		}
		send(body)
		send(body)
		for _, inst := range []string{"other", "x", "y", "z", "w"} {
			send(bytes.Replace(body, []byte(SourcePrefix), []byte(SourcePrefix+inst), 1))
		}
		if n := len(r.VMs()); n > limit {
			t.Fatalf("receiver tracks %d instances, want at most %d", n, limit)
		}
		bound := MaxInstanceIDLen + 2*MaxStepLen + len(ResultFatal) + MaxMessageLen + MaxHostnameLen + MaxAddresses*MaxAddressLen +
			MaxBootsPerInstance*MaxEventIDLen + 2*MaxOtherIDs*MaxEventIDLen
		for _, vm := range r.VMs() {
			if n := retained(r, vm.Instance); n > bound {
				t.Fatalf("instance %q keeps %d bytes of text, want at most %d", vm.Instance, n, bound)
			}
		}
		for _, ev := range handed {
			if line := FormatEvent(ev); strings.ContainsFunc(line, func(c rune) bool { return c != ' ' && !unicode.IsPrint(c) }) {
				t.Fatalf("FormatEvent(%+v) = %q, not printable", ev, line)
			}
		}
		r.Outcome()
	})
}
