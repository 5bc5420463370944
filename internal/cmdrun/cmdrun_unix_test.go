//go:build unix

package cmdrun

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestExec(t *testing.T) {
	var logs bytes.Buffer
	x := Exec{Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}

	res, err := x.Run(t.Context(), Cmd{
		Argv:  []string{"sh", "-c", `read line; echo "out:$line:$OVFINIT_T"; echo warn >&2`},
		Env:   []string{"OVFINIT_T=env"},
		Stdin: []byte("secret-hash\n"),
	})
	if err != nil {
		t.Fatalf("Exec.Run(sh) = %v", err)
	}
	if got, want := string(res.Stdout), "out:secret-hash:env\n"; got != want || string(res.Stderr) != "warn\n" || res.Code != 0 {
		t.Errorf("Exec.Run(sh) = %q, %q, %d; want %q, %q, 0", res.Stdout, res.Stderr, res.Code, want, "warn\n")
	}
	if !strings.Contains(logs.String(), `argv="sh -c \"read line;`) {
		t.Errorf("log = %s\nwant the quoted argv", logs.String())
	}
	if strings.Contains(logs.String(), "secret-hash") {
		t.Errorf("log = %s\nwant no standard input in it", logs.String())
	}

	res, err = x.Run(t.Context(), Cmd{Argv: []string{"sh", "-c", "echo useradd: user bob exists >&2; exit 9"}})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 9 || res.Code != 9 {
		t.Fatalf("Exec.Run(exit 9) = %+v, %v; want an *ExitError with code 9", res, err)
	}
	if want := `sh -c "echo useradd: user bob exists >&2; exit 9": exit status 9: useradd: user bob exists`; err.Error() != want {
		t.Errorf("Exec.Run(exit 9) error =\n%s\nwant\n%s", err, want)
	}
}

// TestExecBounds: a command that writes more than the limits keeps only
// MaxOutput bytes of each stream, and its error carries only the tail of
// standard error.
func TestExecBounds(t *testing.T) {
	res, err := (Exec{}).Run(t.Context(), Cmd{Argv: []string{"sh", "-c",
		`head -c 5000000 /dev/zero; head -c 5000000 /dev/zero | tr '\0' e >&2; echo END >&2; exit 1`}})
	if len(res.Stdout) != MaxOutput || len(res.Stderr) != MaxOutput {
		t.Errorf("kept %d bytes of stdout and %d of stderr, want %d each", len(res.Stdout), len(res.Stderr), MaxOutput)
	}
	if err == nil || len(err.Error()) > MaxErrStderr+200 {
		t.Errorf("error is %d bytes, want at most about %d", len(err.Error()), MaxErrStderr)
	}
}

// TestExecContext: the command stops when the context ends; the error is
// an *ExitError (killed: code -1) and the context says why.
func TestExecContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := (Exec{}).Run(ctx, Cmd{Argv: []string{"sleep", "600"}})
	if err == nil || res.Code != -1 {
		t.Errorf("Exec.Run(sleep, canceled) = %+v, %v; want code -1 and an error", res, err)
	}
}
