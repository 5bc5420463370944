package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// Phases of a boot, as `ovfinit status` shows them.
const (
	PhaseRunning = "running"
	PhaseReady   = "ready"
	PhaseFailed  = "failed"
)

// Status is where the pipeline is, rewritten after every step, redacted
// (Env.Redact), in two files: STATE_DIR/status.private.json (0600) in full,
// for root, and STATE_DIR/status.json, world-readable (0644) so that any
// user can run `ovfinit status`, without any text a script wrote (its
// fail() reason, its errors): a script may print anything, and what the
// redaction cannot recognise must not reach every user of the machine.
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

// ScriptStep is the step whose messages are a script's own text.
const ScriptStep = "script"

// HiddenMessage replaces a script's text in the world-readable status.
const HiddenMessage = "(the script's message is shown to root only: sudo ovfinit status)"

// Write saves the status atomically, world-readable (0644). It must hold
// no script text: see public.
// It goes to StatusName(stateDir) under root, through rootfs.
func (s *Status) Write(root, stateDir string) error {
	return s.write(root, StatusName(stateDir), 0o644)
}

func (s *Status) write(root, name string, mode os.FileMode) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return rootfs.WriteFileAt(root, name, append(data, '\n'), mode)
}

// redacted returns a copy of s with r applied to every message.
func (s *Status) redacted(r *redact.Redactor) *Status {
	c := *s
	c.Message = r.String(s.Message)
	c.Steps = slices.Clone(s.Steps)
	for i := range c.Steps {
		c.Steps[i].Message = r.String(c.Steps[i].Message)
	}
	return &c
}

// public returns a copy of s without the messages of ScriptStep.
func (s *Status) public() *Status {
	c := *s
	if c.Step == ScriptStep && c.Message != "" {
		c.Message = HiddenMessage
	}
	c.Steps = slices.Clone(s.Steps)
	for i := range c.Steps {
		if c.Steps[i].Name == ScriptStep && c.Steps[i].Message != "" {
			c.Steps[i].Message = HiddenMessage
		}
	}
	return &c
}

// PublicMessage is a failure of Run as a world-readable place (systemd's
// status line) may show it: redacted, and without a script's own text.
func (e *Env) PublicMessage(err error) string {
	var se *scriptError
	if errors.As(err, &se) {
		return "step " + ScriptStep + ": " + HiddenMessage
	}
	return e.Redact.String(err.Error())
}

// LoadStatus reads the full status under root and stateDir when this user
// may (root), else the world-readable one.
func LoadStatus(root, stateDir string) (*Status, error) {
	s, err := readStatusAt(root, PrivateStatusName(stateDir))
	if err == nil || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
		return s, err
	}
	return readStatusAt(root, StatusName(stateDir))
}

// readStatusAt reads the status file name under root, through rootfs.
func readStatusAt(root, name string) (*Status, error) {
	data, err := rootfs.ReadFileAt(root, name, maxStateFile)
	if err != nil {
		return nil, err
	}
	return parseStatus(name, data)
}

// ReadStatus reads a status file written by Write, at a host path.
func ReadStatus(path string) (*Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseStatus(path, data)
}

func parseStatus(path string, data []byte) (*Status, error) {
	s := new(Status)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
