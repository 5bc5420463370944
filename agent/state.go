package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// State is what ovfinit remembers between boots: which steps have run, for
// which instance. It lives in STATE_DIR/state.json, mode 0600.
type State struct {
	// Instance is the instance id of the last boot that got past identity.
	Instance  string                    `json:"instance"`
	Instances map[string]*InstanceState `json:"instances"`
	Once      map[string]StepRecord     `json:"once,omitempty"`
}

// InstanceState records the per-instance steps that finished for one id.
type InstanceState struct {
	FirstBoot time.Time             `json:"firstBoot"`
	Steps     map[string]StepRecord `json:"steps"`
}

// StepRecord is when a step finished, and in which boot.
type StepRecord struct {
	At   time.Time `json:"at"`
	Boot string    `json:"boot"`
}

// LoadState reads the state file, the slash path name under root. A missing
// file is an empty state; a file that does not parse is an error naming it
// (it is never silently reset, since that would run every per-instance step
// again).
func LoadState(root, path string) (*State, error) {
	s := &State{Instances: map[string]*InstanceState{}, Once: map[string]StepRecord{}}
	data, err := rootfs.ReadFileAt(root, path, maxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt (remove it to start over as a new instance): %w", path, err)
	}
	if s.Instances == nil {
		s.Instances = map[string]*InstanceState{}
	}
	if s.Once == nil {
		s.Once = map[string]StepRecord{}
	}
	return s, nil
}

// Save writes the state atomically, mode 0600, to the slash path name
// under root.
func (s *State) Save(root, name string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return rootfs.WriteFileAt(root, name, append(data, '\n'), 0o600)
}

// Done reports whether the step has finished for the instance (or, for a
// Once step, at all).
func (s *State) Done(freq Frequency, instance, step string) (StepRecord, bool) {
	switch freq {
	case PerInstance:
		if in := s.Instances[instance]; in != nil {
			r, ok := in.Steps[step]
			return r, ok
		}
	case Once:
		r, ok := s.Once[step]
		return r, ok
	}
	return StepRecord{}, false
}

// Record notes that the step finished.
func (s *State) Record(freq Frequency, instance, step string, r StepRecord) {
	switch freq {
	case PerInstance:
		in := s.Instances[instance]
		if in == nil {
			in = &InstanceState{FirstBoot: r.At, Steps: map[string]StepRecord{}}
			s.Instances[instance] = in
		}
		in.Steps[step] = r
	case Once:
		s.Once[step] = r
	}
}
