package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// xmlEnv is envXML with the values escaped for XML (envXML's %q is not).
func xmlEnv(props ...string) string {
	return envDocument(props, func(v string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(v))
		return `"` + b.String() + `"`
	})
}

// leakForms are the forms of secret a script can make in one step, computed
// here independently of the redactor.
func leakForms(secret string) map[string]string {
	j := func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }
	return map[string]string{
		"exact":       secret,
		"upper":       strings.ToUpper(secret),
		"lower":       strings.ToLower(secret),
		"json":        j(secret),
		"json twice":  j(j(secret)),
		"%q":          strconv.Quote(secret),
		"hex":         hex.EncodeToString([]byte(secret)),
		"base64":      base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 line": base64.StdEncoding.EncodeToString([]byte(secret + "\n")),
		"base64 +1":   base64.StdEncoding.EncodeToString([]byte("x" + secret + "\n")),
	}
}

// TestScriptDerivedSecretsRedacted (issue 13, defects 8 and 9): a script
// that turns a secret into JSON, a repr, upper or title case, hex and base64
// and sends it in progress(), the log and fail() leaks none of these forms
// to the log, the events, the error or the status files; the
// world-readable status holds none of the script's text at all, and the
// full status is root's only.
func TestScriptDerivedSecretsRedacted(t *testing.T) {
	const pw = `Hunter2"pass\wd`
	base64Cmd := testCmd(t, "base64", "")
	script := `
pw = ovf.property("db.password")
progress(10, "connecting with " + pw.upper())
progress(20, "as json " + json.encode(pw))
hexed = "".join(["0123456789abcdef"[ord(c) // 16] + "0123456789abcdef"[ord(c) % 16] for c in pw.elems()])
log.info("hex " + hexed)
print("repr %r" % pw, pw.lower())
r = exec.run(` + base64Cmd + `, stdin = pw)
print("base64", r.stdout)
r = exec.run(` + base64Cmd + `, stdin = "x" + pw + "\n")
log.warn("base64 at offset 1: " + r.stdout)
fail(json.encode({"p": pw, "again": json.encode(pw)}) + " " + pw.title())
`
	m := newMachine(t)
	e, ev := m.env(xmlEnv("instance-id", "i-1", "ovfinit.callback.url", "http://10.0.2.2:8080/events",
		"ovfinit.script", b64(script), "db.password", pw))
	var log bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(io.MultiWriter(&log, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	err := Run(context.Background(), e, Steps())
	if err == nil {
		t.Fatal("Run() = nil, want the script's failure")
	}
	var progress []string
	for _, r := range ev.events {
		if r.Type == callback.TypeProgress {
			progress = append(progress, r.Data.Message)
		}
	}
	if len(progress) != 2 || !strings.Contains(progress[0], "connecting with [redacted]") || !strings.Contains(progress[1], `as json "[redacted]"`) {
		t.Errorf("progress events = %q, want both with the secret redacted", progress)
	}
	last := ev.events[len(ev.events)-1]
	if last.Type != callback.TypeFailed || !strings.Contains(last.Data.Message, "[redacted]") {
		t.Errorf("last event %s %q, want failed with the secret redacted", last.Type, last.Data.Message)
	}
	events, _ := json.Marshal(ev.events)
	pub, perr := os.ReadFile(PublicStatusPath(m.root, e.StatusDir))
	priv, verr := os.ReadFile(PrivateStatusPath(m.root, e.StateDir))
	if perr != nil || verr != nil {
		t.Fatalf("status files: %v, %v", perr, verr)
	}
	texts := map[string]string{"log": log.String(), "events": string(events), "error": err.Error(),
		"status.json": string(pub), "status.private.json": string(priv)}
	for name, form := range leakForms(pw) {
		for what, text := range texts {
			if strings.Contains(text, form) {
				t.Errorf("the %s holds the %s form of the secret (%q)", what, name, form)
			}
		}
	}
	if strings.Contains(string(pub), "fail:") || !strings.Contains(string(pub), HiddenMessage) {
		t.Errorf("status.json (world-readable) =\n%s\nwant the script's message replaced by %q", pub, HiddenMessage)
	}
	if !strings.Contains(string(priv), "fail: {") || !strings.Contains(string(priv), "[redacted]") {
		t.Errorf("status.private.json =\n%s\nwant the script's redacted message", priv)
	}
	checkPrivate(t, PrivateStatusPath(m.root, e.StateDir))
	if msg := e.PublicMessage(err); strings.Contains(msg, "fail:") || !strings.Contains(msg, HiddenMessage) {
		t.Errorf("PublicMessage() = %q, want the script's text hidden (systemd's status line is world-readable)", msg)
	}
	st, err := LoadStatus(m.root, e.StateDir, e.StatusDir)
	if err != nil || st.Phase != PhaseFailed || !strings.Contains(st.Message, "fail: {") {
		t.Errorf("LoadStatus() = %+v, %v; want the full failure for root", st, err)
	}
}

// TestCallbackURLCredentialsRedacted (issue 13, defect 10): the callback
// URL's user information and query token are not in the state directory's
// copy of the environment, the log or the events, and a later boot that
// has only that copy does not post to the redacted URL.
func TestCallbackURLCredentialsRedacted(t *testing.T) {
	const (
		user  = "cbuser"
		pass  = "cb-pass-123"
		token = "tok-Z9y8X7w6"
		url   = "https://" + user + ":" + pass + "@mgr.example:8443/events?token=" + token + "&v=2"
	)
	script := `print("calling back to", ovf.property("ovfinit.callback.url"))
progress(50, "token " + ovf.property("ovfinit.callback.url").split("token=")[1])
`
	m := newMachine(t)
	e, ev := m.env(xmlEnv("instance-id", "i-1", "ovfinit.callback.url", url, "ovfinit.script", b64(script),
		"mirror", "http://mirror.example/repo?key="+token+"-mirror"))
	var log bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(io.MultiWriter(&log, t.Output()), nil))
	if err := Run(context.Background(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if ev.started == nil || ev.started.URL != url {
		t.Fatalf("sender started with %+v, want the URL in clear (the request needs it)", ev.started)
	}
	saved, err := os.ReadFile(filepath.Join(m.root, "var/lib/ovfinit", ovfenv.SavedRedactedName))
	if err != nil {
		t.Fatal(err)
	}
	events, _ := json.Marshal(ev.events)
	for what, text := range map[string]string{"saved copy": string(saved), "log": log.String(), "events": string(events)} {
		for _, s := range []string{pass, token} {
			if strings.Contains(text, s) {
				t.Errorf("the %s holds %q:\n%s", what, s, text)
			}
		}
	}
	for _, want := range []string{"https://redacted:redacted@mgr.example:8443/events?token=redacted&amp;v=redacted", "http://mirror.example/repo?key=redacted"} {
		if !strings.Contains(string(saved), want) {
			t.Errorf("saved copy lacks %q:\n%s", want, saved)
		}
	}

	// A reboot without the transport (the clear copy went at the end of
	// the first boot): the redacted URL reads as unset, nothing is posted
	// to it, and the mirror URL is gone as a secret would be.
	e2, ev2, _ := m.boot("")
	if !strings.HasSuffix(e2.Source.Location, ovfenv.SavedRedactedName) {
		t.Fatalf("second boot read %q, want the redacted copy", e2.Source.Location)
	}
	if v, ok := e2.OVF.Property("ovfinit.callback.url"); ok || ev2.started != nil {
		t.Errorf("second boot: callback URL %q, sender started with %+v; want no callbacks to a redacted URL", v, ev2.started)
	}
	if v, ok := e2.OVF.Property("mirror"); ok {
		t.Errorf("second boot: mirror = %q, want unset", v)
	}
}
