package netcfg

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
)

// Runner runs one external command. Tests swap in a fake that records argv.
type Runner func(ctx context.Context, name string, args ...string) error

// ExecRunner runs commands with os/exec, logging the quoted argv and, on
// failure, the captured stderr. log may be nil.
func ExecRunner(log *slog.Logger) Runner {
	return func(ctx context.Context, name string, args ...string) error {
		argv := make([]string, 0, len(args)+1)
		for _, a := range append([]string{name}, args...) {
			argv = append(argv, strconv.Quote(a))
		}
		if log != nil {
			log.Info("running", "argv", strings.Join(argv, " "))
		}
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
}
