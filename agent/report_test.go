package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

// TestFailureReachesManager runs a damaged environment through the real
// callback sender: the manager on 127.0.0.1 must get the failed event, with
// retry=false, even though the document never parsed.
func TestFailureReachesManager(t *testing.T) {
	var mu sync.Mutex
	var got []callback.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev callback.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("manager got a body that is not an event: %v", err)
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	xml := envXML("instance-id", "i-damaged", "ovfinit.callback.url", srv.URL+"/events", "hostname", "web1", "ovfinit.user", "bob")
	xml = xml[:strings.Index(xml, `oe:key="ovfinit.user"`)] // cut inside the last Property

	e, _ := newMachine(t).env(xml)
	sender := callback.NewSender(e.Log, e.BootID)
	defer sender.Close()
	e.Events = sender
	if err := Run(context.Background(), e, Steps()); err == nil {
		t.Fatal("Run() = nil, want a parse error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sender.Wait(ctx); err != nil {
		t.Fatalf("Wait() = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the manager got no event")
	}
	last := got[len(got)-1]
	if last.Type != callback.TypeFailed || last.Data.Retry == nil || *last.Data.Retry || last.Data.Result != "fatal" {
		t.Errorf("last event = %s %+v, want failed with retry=false, result fatal", last.Type, last.Data)
	}
	if last.Data.InstanceID != "i-damaged" || !strings.Contains(last.Data.Message, "line") {
		t.Errorf("failed event data = %+v, want instance i-damaged and a message naming the line", last.Data)
	}
	for i, ev := range got {
		if ev.Sequence != callback.Sequence(i+1) {
			t.Errorf("event %d has sequence %d, want %d (in order, none lost)", i, ev.Sequence, i+1)
		}
	}
}
