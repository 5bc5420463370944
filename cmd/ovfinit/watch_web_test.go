package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/web"
)

// TestWatchWebFlags: --web on loopback needs no token; elsewhere one is
// generated unless given; a short token and the web flags without --web
// are usage errors.
func TestWatchWebFlags(t *testing.T) {
	t.Setenv("OVFINIT_WEB_TOKEN", "")
	tests := []struct {
		name      string
		o         watchOptions
		wantErr   string
		wantToken string // "generated": any token of 32 characters
	}{
		{"loopback", watchOptions{web: "127.0.0.1:8081"}, "", ""},
		{"localhost", watchOptions{web: "localhost:8081"}, "", ""},
		{"ipv6 loopback", watchOptions{web: "[::1]:8081"}, "", ""},
		{"all addresses", watchOptions{web: ":8081"}, "", "generated"},
		{"lan", watchOptions{web: "192.168.1.5:8081"}, "", "generated"},
		{"given token", watchOptions{web: "0.0.0.0:8081", webToken: "a-long-enough-token"}, "", "a-long-enough-token"},
		{"short token", watchOptions{web: "0.0.0.0:8081", webToken: "short"}, "--web-token: 5 characters, want at least 16", ""},
		{"token without web", watchOptions{webToken: "a-long-enough-token"}, "need --web", ""},
		{"linger without web", watchOptions{webLinger: time.Minute}, "need --web", ""},
		{"no port", watchOptions{web: "127.0.0.1"}, "want HOST:PORT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			err := webFlags(&o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("webFlags(%+v) = %v, want an error with %q", tt.o, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("webFlags(%+v) = %v", tt.o, err)
			}
			switch {
			case tt.wantToken == "generated" && len(o.webToken) != 32:
				t.Errorf("token %q, want a generated one of 32 characters", o.webToken)
			case tt.wantToken != "generated" && o.webToken != tt.wantToken:
				t.Errorf("token %q, want %q", o.webToken, tt.wantToken)
			}
		})
	}
}

// TestWatchWebAPI: watch --web serves the agents' progress at /api/vms,
// prints the page's URL with its token once, and keeps serving for
// --web-linger after the outcome.
func TestWatchWebAPI(t *testing.T) {
	const token = "test-token-0123456789"
	wln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := watchOptions{expect: 2, timeout: 20 * time.Second, limits: defaultServerLimits, maxSkew: callback.DefaultMaxSkew,
		secret: "s", web: wln.Addr().String(), webLn: wln, webToken: token, webLinger: time.Hour}
	done := make(chan error, 1)
	go func() { done <- watch(ctx, ln, o, &out, &errOut, false) }()
	url := fmt.Sprintf("http://%s/", ln.Addr())
	agentRun(t, url, "s", "vm-a", callback.ResultReady)
	agentRun(t, url, "s", "vm-b", callback.ResultFatal)

	// The outcome is known; watch lingers and the view still answers.
	for !strings.Contains(errOut.String(), "stays at") {
		select {
		case err := <-done:
			t.Fatalf("watch returned %v before lingering; stderr:\n%s", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/vms", wln.Addr()), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var snap web.Snapshot
	err = json.NewDecoder(resp.Body).Decode(&snap)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/vms: %d, %v", resp.StatusCode, err)
	}
	got := map[string]string{}
	for _, vm := range snap.VMs {
		got[vm.Instance] = fmt.Sprintf("%s %d steps", vm.State, len(vm.Steps))
	}
	want := map[string]string{"vm-a": "ready 3 steps", "vm-b": "failed-fatal 3 steps"}
	if fmt.Sprint(got) != fmt.Sprint(want) || snap.Summary.Ready != 1 || snap.Summary.FailedFatal != 1 {
		t.Errorf("/api/vms = %v, summary %+v; want %v", got, snap.Summary, want)
	}
	resp, err = http.Get(fmt.Sprintf("http://%s/api/vms", wln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/vms without the token = %d, want 401", resp.StatusCode)
	}

	cancel()
	err = <-done
	if code := exitCode(err); code != callback.OutcomeFatal {
		t.Errorf("watch = %v (exit %d), want the outcome's exit 1 after lingering", err, code)
	}
	if n := strings.Count(errOut.String(), token); n != 0 {
		t.Errorf("the given token is printed %d times, want never; stderr:\n%s", n, errOut.String())
	}
}

// TestWatchWebTokenPrintedOnce: a token watch makes (the view is not on
// loopback) is printed once, in the page's URL, and that URL opens it.
func TestWatchWebTokenPrintedOnce(t *testing.T) {
	t.Setenv("OVFINIT_WEB_TOKEN", "")
	wln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := watchOptions{expect: 1, timeout: 20 * time.Second, limits: defaultServerLimits, maxSkew: callback.DefaultMaxSkew,
		web: "0.0.0.0:0", webLn: wln, webLinger: time.Hour}
	if err := webFlags(&o); err != nil || !o.webMade {
		t.Fatalf("webFlags for 0.0.0.0: %v, token made %v", err, o.webMade)
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- watch(ctx, ln, o, &out, &errOut, false) }()
	agentRun(t, fmt.Sprintf("http://%s/", ln.Addr()), "", "vm-a", callback.ResultReady)
	for !strings.Contains(errOut.String(), "stays at") {
		select {
		case err := <-done:
			t.Fatalf("watch returned %v before lingering; stderr:\n%s", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	page := webURL(o, true)
	jar := &cookieJar{}
	c := &http.Client{Jar: jar}
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" {
		t.Errorf("GET %s: %d at %s, want the page, the token moved into a cookie", page, resp.StatusCode, resp.Request.URL)
	}
	cancel()
	<-done
	if n := strings.Count(errOut.String(), o.webToken); n != 1 {
		t.Errorf("the made token is printed %d times, want once; stderr:\n%s", n, errOut.String())
	}
}

// cookieJar keeps the cookies of one host, enough for the test.
type cookieJar struct{ c []*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, c []*http.Cookie) { j.c = append(j.c, c...) }
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie         { return j.c }

// exitCode is the exit status watch's error asks for.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exitError); ok {
		return ee.code
	}
	return -1
}
