package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

// syncBuffer is a bytes.Buffer safe for the watcher and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// agentRun sends a whole boot: steps, then ready or failed with result.
func agentRun(t *testing.T, url, secret, inst, result string) {
	t.Helper()
	s := callback.NewSender(nil, "boot-"+inst)
	defer s.Close()
	cfg := callback.Config{URL: url, InstanceID: inst, Attempt: 1, Secret: []byte(secret),
		InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxElapsed: 5 * time.Second}
	if err := s.Start(cfg); err != nil {
		t.Fatal(err)
	}
	for i, step := range []string{"hostname", "network", "user"} {
		s.Emit(callback.TypeStepStarted, callback.Data{Step: step, Status: callback.StatusStarted, Percent: i * 33})
		s.Emit(callback.TypeStepFinished, callback.Data{Step: step, Status: callback.StatusOK, Percent: (i + 1) * 33})
	}
	switch result {
	case callback.ResultReady:
		s.Emit(callback.TypeReady, callback.Data{Result: result, Percent: 100, Hostname: inst + ".lab"})
	default:
		retry := result == callback.ResultRetry
		s.Emit(callback.TypeFailed, callback.Data{Step: "user", Result: result, Retry: &retry, Message: "boom"})
	}
	s.Wait(t.Context()) // an event refused by watch is dropped; watch may also have exited
}

func TestWatch(t *testing.T) {
	tests := []struct {
		name     string
		o        watchOptions
		agents   map[string]string // instance -> result
		secret   string            // what the agents sign with
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{"two ready", watchOptions{expect: 2}, map[string]string{"vm-a": "ready", "vm-b": "ready"}, "s", 0,
			[]string{"vm-a step.started hostname", "vm-b ready 100% host vm-b.lab"}, []string{"2 of 2 VMs ready", "(14 events, 0 duplicates dropped, 0 refused)"}},
		{"fatal", watchOptions{expect: 2}, map[string]string{"vm-a": "fatal"}, "s", 1,
			[]string{"vm-a failed user fatal: boom"}, []string{"vm-a failed (fatal) at step user: boom"}},
		{"retry", watchOptions{expect: 1}, map[string]string{"vm-a": "retry"}, "s", 2,
			nil, []string{"retry may help"}},
		{"timeout", watchOptions{expect: 3, timeout: 300 * time.Millisecond}, map[string]string{"vm-a": "ready"}, "s", 2,
			nil, []string{"timed out after 300ms: 1 of 3 VMs ready"}},
		{"bad signature", watchOptions{expect: 1, timeout: 500 * time.Millisecond}, map[string]string{"vm-a": "ready"}, "wrong", 2,
			nil, []string{"refused event from 127.0.0.1", "with 401", "signature does not match"}},
		{"unknown instance", watchOptions{instances: []string{"vm-b"}, timeout: 500 * time.Millisecond}, map[string]string{"vm-a": "ready"}, "s", 2,
			nil, []string{"with 403", `"vm-a"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			o := tt.o
			o.secret = "s"
			if o.timeout == 0 {
				o.timeout = 10 * time.Second
			}
			var out, errOut syncBuffer
			done := make(chan error, 1)
			go func() { done <- watch(context.Background(), ln, o, &out, &errOut, false) }()
			url := fmt.Sprintf("http://%s/events", ln.Addr())
			var wg sync.WaitGroup
			for inst, result := range tt.agents {
				wg.Go(func() { agentRun(t, url, tt.secret, inst, result) })
			}
			err = <-done
			wg.Wait()
			code := 0
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else if err != nil {
				t.Fatalf("watch() = %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("watch() exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out.String(), errOut.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}

func TestWatchJSONAndDedup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- watch(context.Background(), ln, watchOptions{expect: 1, timeout: 10 * time.Second, json: true}, &out, &errOut, false)
	}()
	// The same event twice (a retry whose answer was lost), then ready.
	url := fmt.Sprintf("http://%s/", ln.Addr())
	post := func(body string) {
		resp, err := http.Post(url, callback.ContentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Errorf("POST = %d, want 204", resp.StatusCode)
		}
	}
	step := `{"specversion":"1.0","id":"b-1","source":"urn:ovfinit:instance:i","type":"org.ovfinit.step.started","time":"2026-01-01T00:00:00Z","sequence":"0000000001","datacontenttype":"application/json","data":{"instanceId":"i","step":"x","status":"started"}}`
	post(step)
	post(step)
	post(strings.NewReplacer(`"b-1"`, `"b-2"`, "step.started", "ready", `"step":"x","status":"started"`, `"result":"ready"`, "0000000001", "0000000002").Replace(step))
	if err := <-done; err != nil {
		t.Fatalf("watch() = %v, want nil", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("--json printed %d lines, want 2 (duplicate dropped):\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		var ev callback.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.ID != fmt.Sprintf("b-%d", i+1) {
			t.Errorf("line %d = %s (%v), want event b-%d", i+1, l, err, i+1)
		}
	}
}

func TestBarLine(t *testing.T) {
	tests := []struct {
		vm   callback.VM
		want string
	}{
		{callback.VM{Instance: "vm-1", Percent: 50, Step: "network", Status: "ok"}, "vm-1                 [############............]  50% network ok"},
		{callback.VM{Instance: "vm-2", Percent: 100, Result: "ready", Hostname: "h", Addresses: []string{"10.0.0.5/24"}}, "vm-2                 [########################] 100% ready h 10.0.0.5/24"},
		{callback.VM{Instance: "vm-3", Percent: 20, Step: "user", Result: "fatal", Message: "no"}, "vm-3                 [####....................]  20% FAILED (fatal) at user: no"},
	}
	for _, tt := range tests {
		if got := barLine(tt.vm); got != tt.want {
			t.Errorf("barLine(%+v) =\n%q, want\n%q", tt.vm, got, tt.want)
		}
	}
}
