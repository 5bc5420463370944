package hostname

import (
	"context"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// Live runs hostname(1) with the fully qualified name, as rc.d/hostname
// does with rc.conf's hostname= at boot, through internal/cmdrun (the
// error names the argv and the tail of stderr).
func Live(ctx context.Context, fqdn, _ string) (bool, error) {
	return false, cmdrun.Run(ctx, cmdrun.Exec{}, "hostname", fqdn)
}
