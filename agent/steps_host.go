package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

func setHostname(ctx context.Context, e *Env) error {
	h := e.Plan.Hostname
	if h == "" {
		return skip("no %s or %s property", PropHostname, PropLocalHostname)
	}
	short := h
	if i := strings.IndexByte(h, '.'); i > 0 {
		short = h[:i]
	}
	if err := rootfs.WriteFileAt(e.Root, "/etc/hostname", []byte(short+"\n"), 0o644); err != nil {
		return err
	}
	hosts, err := rootfs.ReadFileAt(e.Root, "/etc/hosts", 16<<20)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := rootfs.WriteFileAt(e.Root, "/etc/hosts", hostsWith(hosts, h, short), 0o644); err != nil {
		return err
	}
	if !e.Live {
		e.Log.Info("not setting the live host name: --root is not /", "root", e.Root)
		return nil
	}
	return e.SetHostname(short)
}

// hostsWith returns /etc/hosts with the 127.0.1.1 line naming the host (as
// Debian's installer writes it), replacing an earlier one.
func hostsWith(hosts []byte, fqdn, short string) []byte {
	line := "127.0.1.1\t" + fqdn
	if fqdn != short {
		line += " " + short
	}
	var out []string
	replaced := false
	for _, l := range strings.Split(strings.TrimRight(string(hosts), "\n"), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "127.0.1.1" {
			if !replaced {
				out = append(out, line)
				replaced = true
			}
			continue
		}
		if l != "" || len(out) > 0 {
			out = append(out, l)
		}
	}
	if !replaced {
		if len(out) == 0 {
			out = append(out, "127.0.0.1\tlocalhost")
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

func hostname(e *Env) string {
	if e.Plan != nil && e.Plan.Hostname != "" {
		return e.Plan.Hostname
	}
	h, _ := os.Hostname()
	return h
}
