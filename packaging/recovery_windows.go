package packaging

import (
	"fmt"
	"time"

	"golang.org/x/sys/windows/svc/mgr"
)

// SetRecovery sets the recovery actions of WindowsRecovery on the installed
// service (kardianos sets only one action).
func SetRecovery() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return fmt.Errorf("opening service %s: %w", Name, err)
	}
	defer s.Close()
	plan, reset := WindowsRecovery()
	var actions []mgr.RecoveryAction
	for _, a := range plan {
		typ := mgr.NoAction
		if a.Restart {
			typ = mgr.ServiceRestart
		}
		actions = append(actions, mgr.RecoveryAction{Type: typ, Delay: time.Duration(a.DelayMS) * time.Millisecond})
	}
	if err := s.SetRecoveryActions(actions, reset); err != nil {
		return fmt.Errorf("setting the recovery actions of %s: %w", Name, err)
	}
	// Also act when the service stops itself with an error exit code.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("setting recovery on non-crash failures of %s: %w", Name, err)
	}
	return nil
}
