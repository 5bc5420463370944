package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
// for root, and STATUS_DIR/status.json (PublicStatusPath), world-readable
// (0644, in a directory of its own, 0755: the state directory stays 0700,
// it holds the key store) so that any user can run `ovfinit status`,
// without any text a script wrote (its fail() reason, its errors): a
// script may print anything, and what the redaction cannot recognise must
// not reach every user of the machine. What stays is ovfinit's own: step
// names, outcomes, start times, durations and ovfinit's messages.
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
	Name       string    `json:"name"`
	Frequency  string    `json:"frequency"`
	Status     string    `json:"status"`           // running|ok|skipped|failed
	Start      time.Time `json:"started,omitzero"` // when the step started (or was found done before)
	DurationMS int64     `json:"durationMs"`
	Message    string    `json:"message,omitempty"`
}

// PublicStatusPath is where `ovfinit status` run by any user reads the
// pipeline's status: the world-readable copy, without the scripts' own
// text. statusDir is a path under root; "" means DefaultStatusDir. It is a
// host path, for reading; the agent writes it through rootfs
// (PublicStatusName).
func PublicStatusPath(root, statusDir string) string {
	return filepath.Join(rootOrSlash(root), filepath.FromSlash(PublicStatusName(statusDir)))
}

// PublicStatusName is PublicStatusPath as a slash path under the root.
func PublicStatusName(statusDir string) string {
	if statusDir == "" {
		statusDir = DefaultStatusDir
	}
	return path.Join("/", statusDir, "status.json")
}

// writePublic writes s, which must hold no secret and no script text
// (public), to PublicStatusName under root, through rootfs: the file 0644
// in a directory 0755 made so whatever the umask; a directory there that
// is a symlink or not a directory is refused.
func (s *Status) writePublic(root, statusDir string) error {
	name := PublicStatusName(statusDir)
	dir := path.Dir(name)
	rfs, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer rfs.Close()
	fi, err := rfs.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err = rfs.MkdirAll(dir, 0o755); err == nil {
			fi, err = rfs.Lstat(dir)
		}
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (%s)", dir, fi.Mode().Type())
	}
	if fi.Mode().Perm() != 0o755 {
		if err := rfs.Chmod(dir, 0o755); err != nil {
			return err
		}
	}
	return s.write(root, name, 0o644)
}

// ScriptStep is the step whose messages are a script's own text.
const ScriptStep = "script"

// HiddenMessage replaces a script's text in the world-readable status.
const HiddenMessage = "(the script's message is shown to root only: sudo ovfinit status)"

// Write saves the status atomically and world-readable (0644) as
// PublicStatusName(statusDir) under root. It must hold no script text: see
// public.
func (s *Status) Write(root, statusDir string) error {
	return s.writePublic(root, statusDir)
}

func (s *Status) write(root, name string, mode os.FileMode) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if s.Phase == PhaseRunning {
		// Between steps the status is a progress display, rewritten twice
		// per step: no fsync (each is a disk flush of the host's under
		// emulation; about 150 per first boot, issue 20). The state of the
		// steps (state.json) and the final status are synced.
		return rootfs.WriteFileAtNoSync(root, name, append(data, '\n'), mode)
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
// may (root), else the world-readable one in statusDir ("" means
// DefaultStatusDir), both through rootfs.
func LoadStatus(root, stateDir, statusDir string) (*Status, error) {
	s, err := readStatusAt(root, PrivateStatusName(stateDir))
	if err == nil || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
		return s, err
	}
	return readStatusAt(root, PublicStatusName(statusDir))
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
