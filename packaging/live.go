package packaging

import (
	"fmt"
	"strings"

	"github.com/kardianos/service"
)

// LiveInit maps the init system kardianos/service found on the running host
// (service.Platform(): "linux-systemd", "unix-systemv", "windows-service"...)
// to ours, or says clearly that it is not supported.
func LiveInit(platform string) (Init, error) {
	switch {
	case strings.Contains(platform, "systemd"):
		return Systemd, nil
	case strings.Contains(platform, "openrc"):
		return OpenRC, nil
	case strings.Contains(platform, "systemv"):
		return SysV, nil
	case platform == "freebsd":
		return FreeBSD, nil
	case strings.HasPrefix(platform, "windows"):
		return Windows, nil
	case platform == "":
		return "", fmt.Errorf("no init system found on this host: %w", ErrUnsupportedInit)
	}
	return "", fmt.Errorf("%s: %w", platform, ErrUnsupportedInit)
}

// noProgram is the kardianos Interface for install, start and stop, which
// never run the service in this process.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// LiveConfig is the kardianos configuration: our own definition as the
// custom script of every init system. The definitions contain no "{{", so
// kardianos' template engine passes them through unchanged.
func LiveConfig(s Service) *service.Config {
	sysv := s.SysVScript()
	if Platform() == "freebsd" {
		sysv = s.FreeBSDScript() // kardianos reads SysvScript for rc.d too
	}
	return &service.Config{
		Name:        Name,
		DisplayName: DisplayName,
		Description: Description,
		Executable:  s.Bin,
		Arguments:   append([]string{"run"}, s.Args...),
		Option: service.KeyValue{
			"SystemdScript": s.SystemdUnit(),
			"SysvScript":    sysv,
			"OpenRCScript":  s.OpenRCScript(),
			// Windows: started at boot, restarted on failure; the full
			// recovery actions are set by SetRecovery after install.
			"StartType": "automatic",
			"OnFailure": "restart",
		},
	}
}

// Platform is kardianos' name for the running host's init system.
func Platform() string { return service.Platform() }

// NewLive returns the service on the running host.
func NewLive(s Service, p service.Interface) (service.Service, error) {
	if p == nil {
		p = noProgram{}
	}
	return service.New(p, LiveConfig(s))
}

// RecoveryAction is one Windows service recovery action, OS-neutral so the
// plan is tested everywhere.
type RecoveryAction struct {
	Restart bool   // restart the service; false: do nothing
	DelayMS uint32 // wait before acting
}

// WindowsRecovery is what the service manager does when ovfinit exits
// without being stopped: restart after 5 s, then 30 s, then every 2
// minutes; the failure count resets after a day without failure.
func WindowsRecovery() (actions []RecoveryAction, resetSeconds uint32) {
	return []RecoveryAction{{true, 5000}, {true, 30000}, {true, 120000}}, 86400
}
