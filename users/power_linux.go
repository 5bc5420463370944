package users

import (
	"context"
	"os"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"golang.org/x/sys/unix"
)

func syncAll() { unix.Sync() }

// Power returns the function that brings the live machine to an end state:
// `systemctl poweroff|reboot` when systemd runs, else sync and reboot(2).
func Power(run cmdrun.Runner) func(ctx context.Context, endState string) error {
	return func(ctx context.Context, endState string) error {
		_, err := os.Stat("/run/systemd/system")
		if argv := powerArgs("linux", err == nil, endState); argv != nil {
			return cmdrun.Run(ctx, run, argv...)
		}
		switch endState {
		case EndOff:
			unix.Sync()
			return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		case EndReboot:
			unix.Sync()
			return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
		}
		return nil
	}
}
