package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/internal/wine"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// logBuffer is a slog handler target tests can read back.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testEnv(t *testing.T, props map[string]string) (Env, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	h := slog.NewTextHandler(lb, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	return Env{
		OVF:     envWith(props),
		Root:    t.TempDir(),
		Log:     slog.New(h),
		Timeout: 10 * time.Second,
	}, lb
}

// envWith makes an environment with the properties, in key order.
func envWith(props map[string]string) *ovfenv.Environment {
	e := &ovfenv.Environment{}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		e.Properties = append(e.Properties, ovfenv.Property{Key: k, Value: props[k]})
	}
	return e
}

func run(t *testing.T, src string, env Env) error {
	t.Helper()
	return Run(t.Context(), "test.star", []byte(src), env)
}

func TestPropertyToFile(t *testing.T) {
	env, _ := testEnv(t, map[string]string{"hostname": "vm1", "ovfinit.motd": "hello"})
	src := `
motd = ovf.property("ovfinit.motd")
missing = ovf.property("nope")
fallback = ovf.property("nope", default="dflt")
file.write("/etc/motd", motd + " from " + ovf.property("hostname") + "\n")
file.write("etc/nested/dir/x.conf", "missing=%s fallback=%s" % (missing, fallback))
if file.read("/etc/motd") != "hello from vm1\n":
    fail("read back " + file.read("/etc/motd"))
`
	if err := run(t, src, env); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	tests := []struct{ path, want string }{
		{"etc/motd", "hello from vm1\n"},
		{"etc/nested/dir/x.conf", "missing=None fallback=dflt"},
	}
	for _, tt := range tests {
		got, err := os.ReadFile(filepath.Join(env.Root, tt.path))
		if err != nil {
			t.Fatalf("reading %s: %v", tt.path, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
		}
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(env.Root, "etc/nested"))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o755 {
			t.Errorf("mode of created directory = %#o, want 0755", got)
		}
	}
	// No temporary files are left behind.
	entries, err := os.ReadDir(filepath.Join(env.Root, "etc"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"motd", "nested"}, names); diff != "" {
		t.Errorf("entries of etc (-want +got):\n%s", diff)
	}
}

func TestNilPropertyAndLogger(t *testing.T) {
	env := Env{Root: t.TempDir()}
	if err := run(t, `print(ovf.property("x", "d")); log.info("hi")`, env); err != nil {
		t.Fatalf("Run() with nil Property and Log = %v, want nil", err)
	}
	if err := Run(t.Context(), "x.star", nil, Env{}); err == nil {
		t.Errorf("Run() with empty Root = nil, want an error")
	}
}

// TestWriteMode: the mode a script asks for. Windows keeps only the
// read-only bit, which Go reports as 0444 (no owner write) or 0666.
func TestWriteMode(t *testing.T) {
	tests := []struct {
		src  string
		want fs.FileMode
	}{
		{`file.write("a", "x")`, 0o644},
		{`file.write("a", "x", mode=0o600)`, 0o600},
		{`file.write("a", b"x", 0o755)`, 0o755},
		{`file.write("a", "x", mode=0o640); file.write("a", "y", mode=0o400)`, 0o400},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			env, _ := testEnv(t, nil)
			if err := run(t, tt.src, env); err != nil {
				t.Fatalf("Run(%q) = %v, want nil", tt.src, err)
			}
			fi, err := os.Stat(filepath.Join(env.Root, "a"))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if runtime.GOOS == "windows" {
				want = 0o666
				if tt.want&0o200 == 0 {
					want = 0o444
				}
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("Run(%q): mode = %#o, want %#o", tt.src, got, want)
			}
		})
	}
}

func TestPathsStayInRoot(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"dotdot write", `file.write("../escape", "x")`, `file.write: path "../escape" escapes the root directory`},
		{"dotdot inside absolute", `file.write("/etc/../../escape", "x")`, "escapes the root directory"},
		{"dotdot read", `file.read("a/../../../etc/passwd")`, "escapes the root directory"},
		{"empty", `file.write("", "x")`, "file.write: empty path"},
		{"root itself", `file.write("/", "x")`, "names the root directory"},
		{"dot", `file.read(".")`, "names the root directory"},
		{"bad mode", `file.write("a", "x", mode=0o1777)`, "mode 01777 is not between 0 and 0o777"},
		{"bad content", `file.write("a", 3)`, "want string or bytes"},
		{"missing file", `file.read("/nope")`, "file.read: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := testEnv(t, nil)
			err := run(t, tt.src, env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run(%q) = %v, want an error containing %q", tt.src, err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(env.Root), "escape")); err == nil {
				t.Errorf("Run(%q) wrote outside the root", tt.src)
			}
		})
	}

	t.Run("symlink out of root", func(t *testing.T) {
		env, _ := testEnv(t, nil)
		outside := t.TempDir()
		if err := os.Symlink(outside, filepath.Join(env.Root, "link")); err != nil {
			wine.SkipMissing(t, "CreateSymbolicLinkW", fmt.Sprintf("it fails (%v)", err))
			t.Fatal(err)
		}
		if fi, err := os.Lstat(filepath.Join(env.Root, "link")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			wine.SkipMissing(t, "CreateSymbolicLinkW", fmt.Sprintf("it makes no symbolic link (Lstat: %v, %v)", fi, err))
		}
		src := `file.write("/link/x", "x")`
		if err := run(t, src, env); err == nil {
			t.Errorf("Run(%q) = nil, want an error", src)
		}
		if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
			t.Errorf("Run(%q) wrote through a symlink out of the root", src)
		}
	})

	t.Run("missing file is fs.ErrNotExist", func(t *testing.T) {
		env, _ := testEnv(t, nil)
		err := run(t, `file.read("/nope")`, env)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Run(file.read of a missing file) = %v, want an error matching fs.ErrNotExist", err)
		}
	})
}

func TestLogging(t *testing.T) {
	env, lb := testEnv(t, nil)
	src := `print("hello", 42)
def f():
    log.warn("careful")
f()
log.info("note")
log.error(123)
`
	if err := run(t, src, env); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	want := []string{
		`level=INFO msg="hello 42" pos=test.star:1:6`,
		`level=WARN msg=careful pos=test.star:3:13`,
		`level=INFO msg=note pos=test.star:5:9`,
		`level=ERROR msg=123 pos=test.star:6:10`,
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(lb.String()), "\n") {
		if !strings.Contains(line, "level=DEBUG") {
			got = append(got, line)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		env     func(*Env)
		wantPos string
		wantMsg string
		cause   error
		trace   bool // a backtrace is expected
	}{
		{name: "syntax", src: "x = 1\ny = (2\n", wantPos: "test.star:3:1", wantMsg: "got end of file, want ')'"},
		{name: "undefined", src: "x = 1\nprint(y)\nz = w\n", wantPos: "test.star:2:7", wantMsg: "undefined: y\ntest.star:3:5: undefined: w"},
		{name: "while not allowed", src: "while True:\n  pass\n", wantPos: "test.star:1:1", wantMsg: "does not support while loops"},
		{name: "division by zero", src: "x = 1\ny = x // 0\n", wantPos: "test.star:2:7", wantMsg: "division by zero", trace: true},
		{name: "fail", src: "def check():\n    fail(\"bad value\")\ncheck()\n", wantPos: "test.star:2:9", wantMsg: "fail: bad value", trace: true},
		{name: "builtin error", src: "\nfile.write(\"../x\", \"y\")\n", wantPos: "test.star:2:11", wantMsg: `file.write: path "../x" escapes the root directory`, trace: true},
		{name: "recursion", src: "def f(n):\n    return f(n)\nf(1)\n", wantPos: "test.star:2:12", wantMsg: "called recursively", trace: true},
		{
			name:    "step limit",
			src:     "def spin():\n    for i in range(1000000000):\n        pass\nspin()\n",
			env:     func(e *Env) { e.MaxSteps = 10_000 },
			wantPos: "test.star:2:", wantMsg: "Starlark computation cancelled: more than 10000 steps",
			cause: ErrStepLimit, trace: true,
		},
		{
			name:    "timeout",
			src:     "def spin():\n    for i in range(1000000000):\n        pass\nspin()\n",
			env:     func(e *Env) { e.Timeout = 50 * time.Millisecond; e.MaxSteps = 1 << 62 },
			wantPos: "test.star:2:", wantMsg: "Starlark computation cancelled: time limit of 50ms exceeded",
			cause: context.DeadlineExceeded, trace: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := testEnv(t, nil)
			if tt.env != nil {
				tt.env(&env)
			}
			err := Run(t.Context(), "test.star", []byte(tt.src), env)
			var serr *ScriptError
			if !errors.As(err, &serr) {
				t.Fatalf("Run(%q) = %v (%T), want a *ScriptError", tt.src, err, err)
			}
			if !strings.HasPrefix(serr.Pos, tt.wantPos) {
				t.Errorf("Run(%q).Pos = %q, want %q...", tt.src, serr.Pos, tt.wantPos)
			}
			if !strings.Contains(serr.Msg, tt.wantMsg) {
				t.Errorf("Run(%q).Msg = %q, want it to contain %q", tt.src, serr.Msg, tt.wantMsg)
			}
			if want := serr.Pos + ": "; !strings.HasPrefix(err.Error(), want) || serr.Pos == "" {
				t.Errorf("Run(%q).Error() = %q, want it to start with %q", tt.src, err.Error(), want)
			}
			if serr.Script != "test.star" {
				t.Errorf("Run(%q).Script = %q, want %q", tt.src, serr.Script, "test.star")
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("Run(%q) = %v, want errors.Is(err, %v)", tt.src, err, tt.cause)
			}
			if tt.trace && !strings.Contains(serr.Backtrace, "Traceback") {
				t.Errorf("Run(%q).Backtrace = %q, want a Starlark traceback", tt.src, serr.Backtrace)
			}
		})
	}
}

func TestCanceledWhileRunning(t *testing.T) {
	env, _ := testEnv(t, nil)
	env.MaxSteps = 1 << 62
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	env.Host = &cancelOnProgress{LiveHost: mustLive(t, env.Root), cancel: cancel} // the script cancels its own run
	// The loop asks for its own cancellation once it runs; the thread sees
	// it either on returning from progress (line 3) or at a later step of
	// the loop (line 2), depending on how fast the canceling goroutine is
	// (under qemu-user it can be slow). Either way the loop is stopped.
	src := "def spin():\n    for i in range(1000000000):\n        if i == 1000: progress(1, 'x')\nspin()\n"
	err := Run(ctx, "test.star", []byte(src), env)
	var serr *ScriptError
	if !errors.As(err, &serr) {
		t.Fatalf("Run(%q) = %v (%T), want a *ScriptError", src, err, err)
	}
	if !strings.HasPrefix(serr.Pos, "test.star:2:") && !strings.HasPrefix(serr.Pos, "test.star:3:") {
		t.Errorf("Run(%q).Pos = %q, want inside the loop (test.star:2: or :3:)", src, serr.Pos)
	}
	if want := "Starlark computation cancelled: canceled: context canceled"; serr.Msg != want {
		t.Errorf("Run(%q).Msg = %q, want %q", src, serr.Msg, want)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run(%q) = %v, want errors.Is(err, context.Canceled)", src, err)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	env, _ := testEnv(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := Run(ctx, "test.star", []byte(`file.write("a", "x")`), env)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run(canceled ctx) = %v, want an error matching context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(env.Root, "a")); err == nil {
		t.Errorf("Run(canceled ctx) ran the script")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"ok", "if ovf.property('x'):\n    file.write('/a', 'b')\nlog.info('x')\n", ""},
		{"top-level for", "for x in [1, 2]:\n    print(x)\n", ""},
		{"set", "s = set([1])\n", ""},
		{"syntax", "x = = 1\n", "c.star:1:5: "},
		{"undefined", "\n\nfoo()\n", "c.star:3:1: undefined: foo"},
		{"load not resolved at check", "load('x.star', 'y')\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check("c.star", []byte(tt.src), Dialect{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check(%q) = %v, want nil", tt.src, err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("Check(%q) = %v, want an error starting %q", tt.src, err, tt.wantErr)
			}
		})
	}
}

func TestLoadRefused(t *testing.T) {
	env, _ := testEnv(t, nil)
	err := run(t, "load('other.star', 'x')\n", env)
	var serr *ScriptError
	if !errors.As(err, &serr) || !strings.HasPrefix(serr.Pos, "test.star:1:") {
		t.Errorf("Run(load) = %v, want a *ScriptError at test.star:1", err)
	}
}

type cancelOnProgress struct {
	*LiveHost
	cancel func()
}

func (c *cancelOnProgress) Progress(int, string) { c.cancel() }

func mustLive(t *testing.T, root string) *LiveHost {
	t.Helper()
	h, err := NewLiveHost(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
