package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/fsutil"
)

// Phases of a boot, as `ovfinit status` shows them.
const (
	PhaseRunning = "running"
	PhaseReady   = "ready"
	PhaseFailed  = "failed"
)

// Status is where the pipeline is: STATE_DIR/status.json, rewritten after
// every step. It holds no secret and is world-readable (0644), so that any
// user can run `ovfinit status`.
type Status struct {
	Phase       string             `json:"phase"`
	InstanceID  string             `json:"instanceId,omitempty"`
	Boot        string             `json:"boot"`
	PID         int                `json:"pid"`
	Started     time.Time          `json:"started"`
	Updated     time.Time          `json:"updated"`
	Step        string             `json:"step,omitempty"` // the step running, or the one that failed
	Message     string             `json:"message,omitempty"`
	Retry       *bool              `json:"retry,omitempty"` // on failure: whether redeploying could help
	Steps       []StepStatus       `json:"steps"`
	SSHHostKeys []callback.HostKey `json:"sshHostKeys,omitempty"`
}

// StepStatus is one step's outcome in this boot.
type StepStatus struct {
	Name       string `json:"name"`
	Frequency  string `json:"frequency"`
	Status     string `json:"status"` // running|ok|skipped|failed
	DurationMS int64  `json:"durationMs"`
	Message    string `json:"message,omitempty"`
}

// Write saves the status atomically.
func (s *Status) Write(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, append(data, '\n'), 0o644)
}

// ReadStatus reads a status file written by Write.
func ReadStatus(path string) (*Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := new(Status)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
