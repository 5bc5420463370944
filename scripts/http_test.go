package scripts

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testServer serves the requests of the http tests on 127.0.0.1.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, `{"port": 9000, "peers": ["a", "b"], "auth": "`+r.Header.Get("Authorization")+`"}`)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("X-Agent", r.Header.Get("User-Agent"))
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	})
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such thing", http.StatusNotFound) })
	mux.HandleFunc("GET /notjson", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, MaxHTTPResponse+1))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestHTTPLive(t *testing.T) {
	s := testServer(t)
	tests := []struct {
		name    string
		src     string
		wantErr string // substring; "" means success
	}{
		{name: "get json", src: `
r = http.get(URL + "/config", headers = {"Authorization": "Bearer abc"})
if r.status != 200: fail(r.status)
if r.headers["content-type"] != "application/json": fail(r.headers)
if r.headers["x-multi"] != "a, b": fail(r.headers["x-multi"])
c = r.json()
if c["port"] != 9000 or c["peers"] != ["a", "b"] or c["auth"] != "Bearer abc": fail(c)
if not r.body.startswith("{"): fail(r.body)
`},
		{name: "post json", src: `
r = http.post(URL + "/echo", json = {"name": "vm1", "n": 2})
if r.status != 201: fail(r.status)
if r.headers["x-content-type"] != "application/json": fail(r.headers)
if r.headers["x-agent"] != "ovfinit-script": fail(r.headers)
if r.json() != {"name": "vm1", "n": 2}: fail(r.body)
`},
		{name: "post body with own content type", src: `
r = http.post(URL + "/echo", body = "a=1", headers = {"content-type": "application/x-www-form-urlencoded"}, timeout = 5)
if r.body != "a=1" or r.headers["x-content-type"] != "application/x-www-form-urlencoded": fail(r)
r = http.post(URL + "/echo", json = [1], headers = {"Content-Type": "application/vnd.x+json"})
if r.headers["x-content-type"] != "application/vnd.x+json": fail(r.headers)
r = http.post(URL + "/echo")
if r.body != "": fail(r.body)
`},
		{name: "status is not an error", src: `
r = http.get(URL + "/missing")
if r.status != 404 or r.body != "no such thing\n": fail(r)
if http.get(URL + "/empty").json() != None: fail("empty body")
`},
		{name: "not json", src: `http.get(URL + "/notjson").json()`, wantErr: "response.json: the body is not JSON"},
		{name: "too big", src: `http.get(URL + "/big")`, wantErr: "test.star:1:9: http.get: GET " + s.URL + "/big: the response is larger than 16777216 bytes"},
		{name: "timeout", src: `http.get(URL + "/slow", timeout = 0.2)`, wantErr: "http.get: GET " + s.URL + "/slow: timeout of 200ms"},
		{name: "bad timeout", src: `http.get(URL, timeout = 0)`, wantErr: "http.get: timeout: want a number of seconds above 0"},
		{name: "not http", src: `http.get("file:///etc/passwd")`, wantErr: `http.get: url "file:///etc/passwd": want an absolute http:// or https:// URL`},
		{name: "relative", src: `http.get("/config")`, wantErr: `want an absolute http:// or https:// URL`},
		{name: "body and json", src: `http.post(URL, body = "x", json = {})`, wantErr: "http.post: give body or json, not both"},
		{name: "bad body", src: `http.post(URL, body = 1)`, wantErr: "http.post: body: want string or bytes, got int"},
		{name: "bad header", src: `http.get(URL, headers = {"X-A": 1})`, wantErr: "http.get: headers: want a dict of header names to strings"},
		{name: "header injection", src: `http.get(URL, headers = {"X-A": "a\r\nX-B: b"})`, wantErr: "http.get: headers:"},
		{name: "connection refused", src: `http.get("http://127.0.0.1:1/")`, wantErr: "http.get: GET http://127.0.0.1:1/: dial tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := testEnv(t, nil)
			env.Dialect.HTTP = true
			src := strings.ReplaceAll(tt.src, "URL", `"`+s.URL+`"`)
			err := Run(t.Context(), "test.star", []byte(src), env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Run(%q) = %v, want nil", tt.src, err)
				}
				return
			}
			var se *ScriptError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run(%q) = %v, want a ScriptError containing %q", tt.src, err, tt.wantErr)
			}
		})
	}
}

func TestHTTPOffByDefault(t *testing.T) {
	src := []byte("r = http.get(\"http://127.0.0.1/\")\n")
	err := Check("x.star", src, Dialect{})
	want := "x.star:1:5: undefined: http" + httpOffHint
	if err == nil || err.Error() != want {
		t.Errorf("Check(http.get) without HTTP = %v, want %q", err, want)
	}
	if err := Check("x.star", src, Dialect{HTTP: true}); err != nil {
		t.Errorf("Check(http.get) with HTTP = %v, want nil", err)
	}
	env, _ := testEnv(t, nil)
	if err := Run(t.Context(), "x.star", src, env); err == nil || err.Error() != want {
		t.Errorf("Run(http.get) without HTTP = %v, want %q", err, want)
	}
}

func TestHTTPDryRun(t *testing.T) {
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer s.Close()
	env, d, _ := dryEnv(t, nil)
	env.Dialect.HTTP = true
	src := `
r = http.get(URL + "/config")
if r.status != 200 or r.body != "" or r.headers != {} or r.json() != None: fail(r)
http.post(URL + "/register", json = {"id": ovf.instance_id})
http.post(URL + "/raw", body = "abc")
`
	if err := Run(t.Context(), "dry.star", []byte(`URL = "`+s.URL+`"`+src), env); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	want := []string{
		"http GET " + s.URL + "/config",
		"http POST " + s.URL + `/register (12 bytes)`,
		"http POST " + s.URL + "/raw (3 bytes)",
	}
	if diff := cmp.Diff(want, d.Effects); diff != "" {
		t.Errorf("dry-run effects (-want +got):\n%s", diff)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests during a dry run, want 0", n)
	}
}

func TestHTTPRedaction(t *testing.T) {
	s := testServer(t)
	env, lb := testEnv(t, nil)
	env.Dialect.HTTP = true
	env.Secrets = []string{"tok-12345"}
	u := strings.Replace(s.URL, "http://", "http://user:pw-999@", 1)
	src := `http.get("` + u + `/config?key=tok-12345")
http.get("` + u + `/slow?key=tok-12345", timeout = 0.1)
`
	err := Run(t.Context(), "r.star", []byte(src), env)
	if err == nil {
		t.Fatal("Run() = nil, want the timeout")
	}
	for _, text := range []string{lb.String(), err.Error()} {
		for _, secret := range []string{"tok-12345", "pw-999"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q shows the secret %q", text, secret)
			}
		}
	}
	if !strings.Contains(lb.String(), "status=200") {
		t.Errorf("log %q has no line for the request", lb.String())
	}
}
