package agent

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// savedEnv is the copy of the last valid environment, kept so that a boot
// that finds none (an ejected ISO) keeps what was applied.
const savedEnv = "ovf-env.xml"

func findEnvironment(ctx context.Context, e *Env) error {
	var src *ovfenv.Source
	var err error
	if e.EnvFile != "" {
		src, err = ovfenv.ReadFile(e.EnvFile)
		if err != nil {
			return fatal(fmt.Errorf("--env: %w", err))
		}
	} else {
		src, err = e.FindEnv(ctx, e)
	}
	if err == nil {
		e.Source = src
		e.Log.Info("environment found", "transport", src.Transport, "location", src.Location, "bytes", len(src.Data))
		return nil
	}
	saved, rerr := os.ReadFile(e.statePath(savedEnv))
	if rerr != nil {
		if errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("no OVF environment found and none saved from an earlier boot: %w", err)
		}
		return fmt.Errorf("no OVF environment found (%v), and the saved one is unreadable: %w", err, rerr)
	}
	e.Log.Warn("no OVF environment found; keeping what was applied, using the environment saved at the last boot", "reason", err)
	e.Source = &ovfenv.Source{Transport: "saved", Location: e.statePath(savedEnv), Data: saved}
	return nil
}

func parseEnvironment(ctx context.Context, e *Env) error {
	env, err := ovfenv.Parse(e.Source.Data)
	if err != nil {
		// The manager must still hear about it: report to the callback URL
		// if the part of the document before the damage names one.
		if u := salvageProperty(e.Source.Data, PropCallbackURL); u != "" {
			id := salvageProperty(e.Source.Data, PropInstanceID)
			if id == "" {
				id = "unknown" // the events need a source; the document is unreadable
			}
			e.startEvents(salvageCallback(e.Source.Data, u, id))
		}
		return fatal(fmt.Errorf("%s %s: %w", e.Source.Transport, e.Source.Location, err))
	}
	e.OVF = env
	return nil
}

func identity(ctx context.Context, e *Env) error {
	id, how := "", ""
	if v, ok := e.OVF.Property(PropInstanceID); ok && strings.TrimSpace(v) != "" {
		id, how = strings.TrimSpace(v), "property instance-id"
	} else if e.OVF.ID != "" {
		id, how = e.OVF.ID, "Environment id"
	} else {
		u, err := e.SystemUUID(e.Root)
		if err != nil {
			return fatal(fmt.Errorf("no instance-id property, no Environment id, and no SMBIOS system UUID: %w", err))
		}
		id, how = u, "SMBIOS system UUID"
	}
	st, err := LoadState(e.statePath("state.json"))
	if err != nil {
		return fatal(err)
	}
	if st.Instance != "" && st.Instance != id {
		e.Log.Info("new instance: per-instance steps run again", "instance", id, "previous", st.Instance)
	}
	st.Instance = id
	e.InstanceID, e.State = id, st
	e.Log.Info("instance identified", "instance", id, "from", how)
	return nil
}

func validate(ctx context.Context, e *Env) error {
	sys, nerr := e.Network(e.Root)
	links := func() ([]netcfg.Link, error) {
		if nerr != nil {
			return nil, nerr
		}
		return sys.Links()
	}
	plan, err := BuildPlan(e.OVF, links)
	e.Plan = plan
	if plan.CallbackURL != "" {
		e.startEvents(plan.CallbackConfig(e.InstanceID))
	}
	if err != nil {
		return fatal(err)
	}
	if e.Source.Transport != "saved" {
		if err := fsutil.WriteFile(e.statePath(savedEnv), e.Source.Data, 0o600); err != nil {
			return fmt.Errorf("saving the environment: %w", err)
		}
	}
	return nil
}

func (e *Env) startEvents(cfg callback.Config) {
	if e.started {
		return
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = e.InstanceID
	}
	if err := e.Events.Start(cfg); err != nil {
		e.Log.Warn("callbacks disabled", "err", err)
		return
	}
	e.started = true
}

// salvageProperty reads a damaged document token by token up to the damage
// and returns the value of the last Property with the key, or "".
func salvageProperty(data []byte, key string) string {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	value := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return value
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Property" || se.Name.Space != ovfenv.NamespaceEnv {
			continue
		}
		var k, v string
		for _, a := range se.Attr {
			if a.Name.Space == ovfenv.NamespaceEnv && a.Name.Local == "key" {
				k = a.Value
			}
			if a.Name.Space == ovfenv.NamespaceEnv && a.Name.Local == "value" {
				v = a.Value
			}
		}
		if k == key {
			value = v
		}
	}
}
