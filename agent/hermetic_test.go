package agent

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/ovfinit/ovfinit/internal/wine"
	"github.com/ovfinit/ovfinit/users"
)

// testCmdVar names the small Unix command the test binary plays when a
// test's script runs it (testCmd): Windows has no true or base64.
const testCmdVar = "OVFINIT_AGENT_TEST_CMD"

func TestMain(m *testing.M) {
	switch os.Getenv(testCmdVar) {
	case "":
		os.Exit(m.Run())
	case "true":
		os.Exit(0)
	case "base64":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			os.Exit(1)
		}
		fmt.Println(base64.StdEncoding.EncodeToString(b))
		os.Exit(0)
	default:
		os.Exit(2)
	}
}

// testCmd returns the Starlark arguments of an exec.run call that runs
// this test binary as the command name (true or base64) with env, a
// Starlark dict's entries ("" for none), on every OS.
func testCmd(t *testing.T, name, env string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if env != "" {
		env += ", "
	}
	argv := strconv.Quote(exe)
	if q := os.Getenv("OVFINIT_QEMU_USER"); q != "" {
		// Cross-arch runs (packaging/scripts/crosstest.sh): the binary is
		// for another architecture and runs through the emulator.
		argv = strconv.Quote(q) + ", " + argv
	}
	return fmt.Sprintf("[%s], env = {%s%q: %q}", argv, env, testCmdVar, name)
}

// testCreateUser is the Env.CreateUser of the pipeline tests, whose root
// is a Linux tree (Env.OS "linux") on every OS: users.Ensure, which edits
// the files under the test's root (or runs shadow-utils with --root), and
// on Windows the same files applier explicitly (users.Manager's zero
// value), never netapi32 on the machine running the tests. The Windows
// account path has its own tests with Env.OS "windows" (winUserMachine).
func testCreateUser(root string, u users.User, log *slog.Logger) (*users.Account, error) {
	if runtime.GOOS == "windows" {
		return (&users.Manager{Root: root, Log: log}).Ensure(context.Background(), u)
	}
	return users.Ensure(root, u, log)
}

// checkPrivate fails t unless the file at p is the administrators' only:
// mode 0600 on Unix, a DACL for SYSTEM and Administrators on Windows
// (internal/wine.CheckPrivate says what Wine cannot show).
func checkPrivate(t *testing.T, p string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		wine.CheckPrivate(t, p)
		return
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v (%v), want mode 0600", p, fi, err)
	}
}
