package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// MaxHTTPResponse bounds the body of a response a script receives; a
// larger one is an error, not a truncated body (half a JSON document is
// worse than none).
const MaxHTTPResponse = 16 << 20

// DefaultHTTPTimeout is the time limit of one request when the script does
// not give timeout=. The script's own time limit always applies too.
const DefaultHTTPTimeout = 30 * time.Second

// HTTPRequest is one request of the http module.
type HTTPRequest struct {
	Method string // "GET" or "POST"
	URL    string // an absolute http or https URL
	Header http.Header
	Body   []byte
}

// HTTPResponse is what a script receives. Body holds at most
// MaxHTTPResponse bytes.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// HTTPClient does the requests of the http module. LiveHTTP uses the
// network; DryRun records the request and answers an empty 200.
type HTTPClient interface {
	Do(ctx context.Context, r HTTPRequest) (HTTPResponse, error)
}

// LiveHTTP is the HTTPClient of a real machine.
type LiveHTTP struct {
	// Client does the requests; nil means one over http.DefaultTransport
	// (which honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY). Tests hand in a
	// client whose Transport serves from a handler.
	Client *http.Client
}

// Do implements HTTPClient: it sends r and reads at most MaxHTTPResponse
// bytes of the answer. A status that is not 2xx is not an error.
func (l *LiveHTTP) Do(ctx context.Context, r HTTPRequest) (HTTPResponse, error) {
	c := l.Client
	if c == nil {
		c = &http.Client{}
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return HTTPResponse{}, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "ovfinit-script")
	}
	resp, err := c.Do(req)
	if err != nil {
		return HTTPResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPResponse+1))
	if err != nil {
		return HTTPResponse{}, fmt.Errorf("reading the response: %w", err)
	}
	if len(data) > MaxHTTPResponse {
		return HTTPResponse{}, fmt.Errorf("the response is larger than %d bytes", MaxHTTPResponse)
	}
	return HTTPResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Do implements HTTPClient for a dry run: the request is recorded as an
// effect ("http POST URL (N bytes)") and answered with status 200, no
// headers and an empty body, so .json() is None.
func (d *DryRun) Do(ctx context.Context, r HTTPRequest) (HTTPResponse, error) {
	line := "http " + r.Method + " " + r.URL
	if r.Body != nil {
		line += fmt.Sprintf(" (%d bytes)", len(r.Body))
	}
	d.effect("%s", line)
	return HTTPResponse{Status: http.StatusOK, Header: http.Header{}}, nil
}

// httpModule is the http module's state: the client and the logger.
type httpModule struct {
	c   HTTPClient
	log *slog.Logger
}

// newHTTPModule: http.get(url, headers=None, timeout=None) and
// http.post(url, body=None, json=None, headers=None, timeout=None).
func newHTTPModule(c HTTPClient, log *slog.Logger) *starlarkstruct.Module {
	m := &httpModule{c: c, log: log}
	return module("http", starlark.StringDict{
		"get":  starlark.NewBuiltin("http.get", m.get),
		"post": starlark.NewBuiltin("http.post", m.post),
	})
}

// do makes the request of http.get and http.post.
func (m *httpModule) do(thread *starlark.Thread, b *starlark.Builtin, method, rawURL string, headers *starlark.Dict, timeout starlark.Value, body []byte) (starlark.Value, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: url %q: want an absolute http:// or https:// URL", b.Name(), rawURL)
	}
	req := HTTPRequest{Method: method, URL: rawURL, Header: http.Header{}, Body: body}
	if headers != nil {
		for _, item := range headers.Items() {
			k, ok1 := starlark.AsString(item[0])
			v, ok2 := starlark.AsString(item[1])
			if !ok1 || !ok2 || k == "" || strings.ContainsAny(k, ":\r\n \t") || strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("%s: headers: want a dict of header names to strings, got %s: %s", b.Name(), item[0], item[1].Type())
			}
			req.Header.Add(k, v)
		}
	}
	d := DefaultHTTPTimeout
	if timeout != starlark.None {
		secs, ok := starlark.AsFloat(timeout)
		if !ok || secs <= 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
			return nil, fmt.Errorf("%s: timeout: want a number of seconds above 0, got %s", b.Name(), timeout)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	ctx, cancel := context.WithTimeoutCause(threadContext(thread), d, fmt.Errorf("timeout of %v", d))
	defer cancel()
	shown := u.Redacted()
	start := time.Now()
	resp, err := m.c.Do(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, with any password in it
		}
		return nil, fmt.Errorf("%s: %s %s: %w", b.Name(), method, shown, err)
	}
	m.log.Log(ctx, slog.LevelInfo, "http request", "method", method, "url", shown, "status", resp.Status,
		"bytes", len(resp.Body), "duration", time.Since(start).Round(time.Millisecond), "pos", thread.CallFrame(1).Pos.String())
	return responseValue(resp), nil
}

func hasHeader(d *starlark.Dict, name string) bool {
	for _, k := range d.Keys() {
		if s, ok := starlark.AsString(k); ok && strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// get is the builtin http.get.
func (m *httpModule) get(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var u string
	var headers *starlark.Dict
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &u, "headers?", &headers, "timeout?", &timeout); err != nil {
		return nil, err
	}
	return m.do(thread, b, http.MethodGet, u, headers, timeout, nil)
}

// post is the builtin http.post.
func (m *httpModule) post(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var u string
	var headers *starlark.Dict
	var timeout, body, js starlark.Value = starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &u, "body?", &body, "json?", &js, "headers?", &headers, "timeout?", &timeout); err != nil {
		return nil, err
	}
	var data []byte
	switch {
	case body != starlark.None && js != starlark.None:
		return nil, fmt.Errorf("%s: give body or json, not both", b.Name())
	case js != starlark.None:
		enc, err := starlark.Call(thread, json.Module.Members["encode"], starlark.Tuple{js}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: json: %w", b.Name(), err)
		}
		data = []byte(enc.(starlark.String))
		if headers == nil {
			headers = starlark.NewDict(1)
		}
		if !hasHeader(headers, "Content-Type") {
			headers = copyDict(headers)
			_ = headers.SetKey(starlark.String("Content-Type"), starlark.String("application/json"))
		}
	case body != starlark.None:
		c, err := contentArg(b, body)
		if err != nil {
			return nil, fmt.Errorf("%s: body: want string or bytes, got %s", b.Name(), body.Type())
		}
		data = c
	default:
		data = []byte{}
	}
	return m.do(thread, b, http.MethodPost, u, headers, timeout, data)
}

func copyDict(d *starlark.Dict) *starlark.Dict {
	out := starlark.NewDict(d.Len() + 1)
	for _, item := range d.Items() {
		_ = out.SetKey(item[0], item[1])
	}
	return out
}

// responseValue is the script's view of a response: status, headers (a
// dict of lower-case names; repeated headers joined by ", "), body (a
// string) and json() (the body decoded; None when it is empty).
func responseValue(r HTTPResponse) starlark.Value {
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	hd := starlark.NewDict(len(names))
	for _, k := range names {
		_ = hd.SetKey(starlark.String(strings.ToLower(k)), starlark.String(strings.Join(r.Header[k], ", ")))
	}
	body := starlark.String(r.Body)
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"status":  starlark.MakeInt(r.Status),
		"headers": hd,
		"body":    body,
		"json": starlark.NewBuiltin("response.json", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			if len(strings.TrimSpace(string(body))) == 0 {
				return starlark.None, nil
			}
			v, err := starlark.Call(thread, json.Module.Members["decode"], starlark.Tuple{body}, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: the body is not JSON: %w", b.Name(), err)
			}
			return v, nil
		}),
	})
}
