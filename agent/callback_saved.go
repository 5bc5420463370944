package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// savedCallbackFile keeps the callback configuration after the boot, for the
// commands that report later (`ovfinit reserve`, `ovfinit sanitize`). The
// clear copy of the environment is gone by then, and the redacted one lacks
// the signing secret and the client key, so this file (0600) keeps them,
// in the runtime directory: a tmpfs, never the persistent state directory.
// The agent writes it again at every boot.
const savedCallbackFile = "callback.json"

type savedCallback struct {
	URL        string   `json:"url"`
	InstanceID string   `json:"instanceId"`
	Attempt    int      `json:"attempt"`
	Secret     []byte   `json:"secret,omitempty"`
	CA         []byte   `json:"ca,omitempty"`
	Pins       [][]byte `json:"pins,omitempty"`
	ClientCert []byte   `json:"clientCert,omitempty"`
	ClientKey  []byte   `json:"clientKey,omitempty"`
}

// saveCallback writes cfg for the later commands; without a URL it removes
// an earlier file, so a redeploy without callbacks sends nothing.
func (e *Env) saveCallback(cfg callback.Config) error {
	p := e.runtimePath(savedCallbackFile)
	if cfg.URL == "" {
		if err := e.remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(savedCallback{
		URL: cfg.URL, InstanceID: cfg.InstanceID, Attempt: cfg.Attempt, Secret: cfg.Secret,
		CA: cfg.TLS.CA, Pins: cfg.TLS.Pins, ClientCert: cfg.TLS.ClientCert, ClientKey: cfg.TLS.ClientKey,
	})
	if err != nil {
		return err
	}
	if err := e.mkdirAll(path.Dir(p), 0o700); err != nil {
		return err
	}
	return e.writeFile(p, b, 0o600)
}

// LoadCallback returns the callback configuration this boot saved under
// root and runtimeDir ("" means DefaultRuntimeDir); ok is false when the
// boot had no callback URL (or ovfinit has not run since the machine
// started).
func LoadCallback(root, runtimeDir string) (cfg callback.Config, ok bool, err error) {
	if runtimeDir == "" {
		runtimeDir = DefaultRuntimeDir
	}
	p := path.Join("/", runtimeDir, savedCallbackFile)
	b, err := rootfs.ReadFileAt(root, p, maxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, false, nil
	}
	if err != nil {
		return cfg, false, err
	}
	var s savedCallback
	if err := json.Unmarshal(b, &s); err != nil {
		return cfg, false, fmt.Errorf("%s: %w", p, err)
	}
	return callback.Config{
		URL: s.URL, InstanceID: s.InstanceID, Attempt: s.Attempt, Secret: s.Secret,
		TLS: callback.TLSOptions{CA: s.CA, Pins: s.Pins, ClientCert: s.ClientCert, ClientKey: s.ClientKey},
	}, s.URL != "", nil
}
