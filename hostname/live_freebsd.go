package hostname

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Live runs hostname(1) with the fully qualified name, as rc.d/hostname
// does with rc.conf's hostname= at boot.
func Live(ctx context.Context, fqdn, _ string) (bool, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "hostname", fqdn)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("hostname %q: %w: %s", fqdn, err, strings.TrimSpace(stderr.String()))
	}
	return false, nil
}
