package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/ovfinit/ovfinit/manager/web"
)

// minWebToken is the shortest --web-token accepted.
const minWebToken = 16

// webFlags checks --web, --web-token and --web-linger, and makes a token
// when the web view listens on more than loopback without one.
func webFlags(o *watchOptions) error {
	if o.web == "" {
		if o.webToken != "" || o.webLinger != 0 {
			return errors.New("--web-token and --web-linger need --web ADDR")
		}
		return nil
	}
	host, _, err := net.SplitHostPort(o.web)
	if err != nil {
		return fmt.Errorf("--web %s: want HOST:PORT, as 127.0.0.1:8081: %w", o.web, err)
	}
	if o.webLinger < 0 {
		return fmt.Errorf("--web-linger %v: want a duration from 0 up", o.webLinger)
	}
	if o.webToken == "" {
		o.webToken = os.Getenv("OVFINIT_WEB_TOKEN")
	}
	if o.webToken != "" && len(o.webToken) < minWebToken {
		return fmt.Errorf("--web-token: %d characters, want at least %d", len(o.webToken), minWebToken)
	}
	if o.webToken == "" && !loopbackHost(host) {
		b := make([]byte, 24)
		rand.Read(b)
		o.webToken, o.webMade = base64.RawURLEncoding.EncodeToString(b), true
	}
	return nil
}

// loopbackHost reports whether a listen host is a loopback address; ""
// (every address) and names other than localhost are not.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// webURL is the page's address, with the token when asked: the only
// place the token is printed.
func webURL(o watchOptions, withToken bool) string {
	u := url.URL{Scheme: "http", Host: o.webLn.Addr().String(), Path: "/"}
	if withToken && o.webToken != "" {
		u.RawQuery = url.Values{"token": {o.webToken}}.Encode()
	}
	return u.String()
}

// serveWeb serves the web view of fleet on o.webLn until the returned
// function is called.
func serveWeb(o watchOptions, fleet *web.Fleet) (stop func()) {
	h := web.NewHandler(web.Config{Fleet: fleet, Token: o.webToken})
	// No ReadTimeout or WriteTimeout: the live connection is long (a read
	// timeout would cancel its context); the handler sets a deadline on
	// each write, and GET requests have no body to trickle.
	srv := &http.Server{Handler: h, MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: defaultServerLimits.readHeader, IdleTimeout: defaultServerLimits.idle}
	go srv.Serve(o.webLn)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// Shutdown waits for the live connections, which never end by
		// themselves: Close them when the second is up.
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
}
