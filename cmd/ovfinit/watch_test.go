package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

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
		// These two wait out their timeout: long enough for the refused
		// event to arrive on a loaded machine (500 ms was not, under Wine).
		{"bad signature", watchOptions{expect: 1, timeout: 2 * time.Second}, map[string]string{"vm-a": "ready"}, "wrong", 2,
			nil, []string{"refused event from 127.0.0.1", "with 401", "signature does not match"}},
		{"unknown instance", watchOptions{instances: []string{"vm-b"}, timeout: 2 * time.Second}, map[string]string{"vm-a": "ready"}, "s", 2,
			nil, []string{"with 403", `"vm-a"`}},
		// whsec_czNjcmV0 is the base64 of the raw key s3cret: both forms
		// of one key verify alike.
		{"whsec_ secret, agent with the raw key", watchOptions{expect: 1, secret: "whsec_czNjcmV0"}, map[string]string{"vm-a": "ready"}, "s3cret", 0,
			nil, []string{"1 of 1 VMs ready"}},
		{"raw secret, agent with whsec_", watchOptions{expect: 1, secret: "s3cret"}, map[string]string{"vm-a": "ready"}, "whsec_czNjcmV0", 0,
			nil, []string{"1 of 1 VMs ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			o := tt.o
			if o.secret == "" {
				o.secret = "s"
			}
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

// startWatch runs watch on 127.0.0.1 and returns its URL and a channel
// with its result.
func startWatch(t *testing.T, o watchOptions, out, errOut *syncBuffer) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.timeout == 0 {
		o.timeout = 20 * time.Second
	}
	if o.limits == (serverLimits{}) {
		o.limits = defaultServerLimits
	}
	done := make(chan error, 1)
	go func() { done <- watch(t.Context(), ln, o, out, errOut, false) }()
	return fmt.Sprintf("http://%s/", ln.Addr()), done
}

// postSigned posts one event signed with secret and returns the status.
func postSigned(t *testing.T, url, secret, inst, id, typ string, d callback.Data) int {
	t.Helper()
	d.InstanceID = inst
	body, err := json.Marshal(callback.Event{SpecVersion: callback.SpecVersion, ID: id, Source: callback.SourcePrefix + inst, Type: typ,
		Time: time.Now().UTC(), Sequence: 1, DataContentType: "application/json", Data: d})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", callback.ContentType)
	callback.SignRequest(req.Header, []byte(secret), id, body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s %s: %v", inst, id, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestWatchExpectCountsAllowedOnly: validly signed events from instances
// watch does not wait for (ids it was not given, or beyond --expect N) are
// refused and never make it finish.
func TestWatchExpectCountsAllowedOnly(t *testing.T) {
	ready := callback.Data{Result: callback.ResultReady, Percent: 100}
	step := callback.Data{Step: "network", Status: callback.StatusOK, Percent: 40}
	tests := []struct {
		name  string
		o     watchOptions
		posts []string // instance:type:want status, in order; the last finishes
		want  string
	}{
		{"expect 1, forged ids after the first", watchOptions{expect: 1},
			[]string{"vm-a:step:204", "x-1:ready:403", "x-2:ready:403", "x-3:ready:403", "vm-a:ready:204"}, "1 of 1 VMs ready"},
		{"expect 2 of a pattern", watchOptions{expect: 2, instances: []string{"vm-*"}},
			[]string{"evil-1:ready:403", "evil-2:ready:403", "vm-a:ready:204", "x:ready:403", "vm-b:ready:204"}, "2 of 2 VMs ready"},
		{"listed ids", watchOptions{instances: []string{"vm-a", "vm-b"}},
			[]string{"vm-c:ready:403", "vm-a:ready:204", "vm-d:ready:403", "vm-b:ready:204"}, "2 of 2 VMs ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			if o.secret == "" {
				o.secret = "s"
			}
			var out, errOut syncBuffer
			url, done := startWatch(t, o, &out, &errOut)
			for i, p := range tt.posts {
				f := strings.Split(p, ":")
				typ, d := callback.TypeStepFinished, step
				if f[1] == "ready" {
					typ, d = callback.TypeReady, ready
				}
				if code := postSigned(t, url, "s", f[0], fmt.Sprintf("b-%d", i+1), typ, d); fmt.Sprint(code) != f[2] {
					t.Errorf("POST %s from %s = %d, want %s", f[1], f[0], code, f[2])
				}
				select {
				case err := <-done:
					if i != len(tt.posts)-1 {
						t.Fatalf("watch() = %v after %s, before the instances it waits for are ready\nstderr:\n%s", err, p, errOut.String())
					}
					if err != nil || !strings.Contains(errOut.String(), tt.want) {
						t.Errorf("watch() = %v, stderr:\n%s\nwant nil and %q", err, errOut.String(), tt.want)
					}
					return
				default:
				}
			}
			if err := <-done; err != nil || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("watch() = %v, stderr:\n%s\nwant nil and %q", err, errOut.String(), tt.want)
			}
		})
	}
}

// TestWatchUsage: --instance patterns need --expect; bad patterns are
// refused naming them.
func TestWatchUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--instance", "vm-*"}, "give --expect too"},
		{[]string{"--instance", "vm-[", "--expect", "1"}, `instance pattern "vm-["`},
		{[]string{"--instance", "a,b", "--expect", "3"}, "more than the 2 ids"},
		{[]string{"--secret", "whsec_not base64", "--expect", "1"}, `--secret: a secret starting with "whsec_"`},
	} {
		cmd := newWatchCmd()
		cmd.SetArgs(append(tt.args, "--listen", "127.0.0.1:0"))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("watch %s = %v, want a usage error with %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}

// TestWatchSlowRequest: a sender that sends its headers and then trickles
// (or withholds) the body is cut off at the read deadline instead of
// holding a connection for as long as it likes.
func TestWatchSlowRequest(t *testing.T) {
	var out, errOut syncBuffer
	o := watchOptions{expect: 1, secret: "s", limits: serverLimits{readHeader: 200 * time.Millisecond, read: 300 * time.Millisecond, write: time.Second, idle: time.Second}}
	url, _ := startWatch(t, o, &out, &errOut)
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	for _, tt := range []struct{ name, send string }{
		{"slow body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + callback.ContentType + "\r\nContent-Length: 100000\r\n\r\n{\"id\":"},
		{"slow headers", "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			// Far beyond the deadlines: only a server that never closes
			// the connection makes the read wait this long.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if err != nil {
				t.Errorf("reading from watch after a partial request: %v, want the connection closed by watch", err)
			}
		})
	}
}

// TestWatchEscapes: event text that would act on a terminal (title,
// clipboard, clearing it, carriage returns and newlines forging lines,
// bidi overrides) is printed escaped, in every output format.
func TestWatchEscapes(t *testing.T) {
	evil := callback.Data{Step: "net\rwork", Status: "ok\x1b[2J", Result: callback.ResultReady, Percent: 100,
		Message:   "\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4K\x07\nvm-9 ready 100%\u202e\u009b1m",
		Hostname:  "h\x1b[31m\u2066",
		Addresses: []string{"10.0.0.5/24\r\n"}}
	bad := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool {
			return r == utf8.RuneError || (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) || r == '\u202e' || r == '\u2066'
		})
	}
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			var out, errOut syncBuffer
			url, done := startWatch(t, watchOptions{expect: 1, secret: "s", json: asJSON}, &out, &errOut)
			if code := postSigned(t, url, "s", "vm-\x1b]0;x\x07", "b-1", callback.TypeReady, evil); code != 204 {
				t.Fatalf("POST = %d, want 204", code)
			}
			if err := <-done; err != nil {
				t.Fatalf("watch() = %v", err)
			}
			if bad(out.String()) || bad(errOut.String()) {
				t.Errorf("output holds control or bidi characters:\nstdout %q\nstderr %q", out.String(), errOut.String())
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("one event printed as %d lines, want 1: %q", len(lines), out.String())
			}
			if asJSON {
				var ev callback.Event
				if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil || ev.Data.Message != evil.Message {
					t.Errorf("--json line %q decodes to message %q (%v), want the event's own", lines[0], ev.Data.Message, err)
				}
			}
		})
	}
	line := barLine(callback.VM{Instance: "vm\x1b[1A", Step: "s\r", Result: callback.ResultFatal, Message: evil.Message})
	if bad(line) || strings.Contains(line, "\n") {
		t.Errorf("barLine(hostile) = %q, holds control or bidi characters", line)
	}
}
