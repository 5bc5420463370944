package cloudconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"go.yaml.in/yaml/v3"
)

// DefaultUser is the image's default user as cloud-init's
// system_info.default_user describes it.
type DefaultUser struct {
	Name         string
	Gecos        string
	Groups       []string
	PrimaryGroup string
	Sudo         []string // sudoers rules; nil: none
	Shell        string   // "": the system default
	LockPasswd   bool
	// Source says where it came from: a cloud.cfg file, or
	// "/etc/os-release ID=debian" for the distribution's convention.
	Source string
}

// The cloud-init configuration files, read as cloud-init reads them: the
// main file, then cloud.cfg.d/*.cfg in name order, later ones winning.
const (
	cloudCfg    = "/etc/cloud/cloud.cfg"
	cloudCfgDir = "/etc/cloud/cloud.cfg.d"
	maxCfgFile  = 4 << 20
)

// convention is each distribution's default_user as cloud-init's own
// template (config/cloud.cfg.tmpl) renders it for that variant, keyed by
// os-release ID. Every one has the sudo rule ALL=(ALL) NOPASSWD:ALL and a
// locked password.
var convention = map[string]DefaultUser{
	"debian":     {Gecos: "Debian", Name: "debian", Groups: []string{"adm", "audio", "cdrom", "dialout", "dip", "floppy", "netdev", "plugdev", "sudo", "video"}, Shell: "/bin/bash"},
	"ubuntu":     {Gecos: "Ubuntu", Name: "ubuntu", Groups: []string{"adm", "cdrom", "dip", "lxd", "sudo"}, Shell: "/bin/bash"},
	"fedora":     {Gecos: "fedora Cloud User", Name: "fedora", Groups: []string{"wheel", "adm", "systemd-journal"}, Shell: "/bin/bash"},
	"centos":     {Gecos: "Cloud User", Name: "cloud-user", Groups: []string{"adm", "systemd-journal"}, Shell: "/bin/bash"},
	"rhel":       {Gecos: "Cloud User", Name: "cloud-user", Groups: []string{"adm", "systemd-journal"}, Shell: "/bin/bash"},
	"rocky":      {Gecos: "rocky Cloud User", Name: "rocky", Groups: []string{"adm", "systemd-journal"}, Shell: "/bin/bash"},
	"almalinux":  {Gecos: "almalinux Cloud User", Name: "almalinux", Groups: []string{"adm", "systemd-journal"}, Shell: "/bin/bash"},
	"amzn":       {Gecos: "EC2 Default User", Name: "ec2-user", Groups: []string{"wheel", "adm", "systemd-journal"}, Shell: "/bin/bash"},
	"arch":       {Gecos: "arch Cloud User", Name: "arch", Groups: []string{"wheel", "users"}, Shell: "/bin/bash"},
	"alpine":     {Gecos: "alpine Cloud User", Name: "alpine", Groups: []string{"adm", "wheel"}, Shell: "/bin/ash"},
	"opensuse":   {Gecos: "suse Cloud User", Name: "suse", Groups: []string{"cdrom", "users"}, Shell: "/bin/bash"},
	"sles":       {Gecos: "suse Cloud User", Name: "suse", Groups: []string{"cdrom", "users"}, Shell: "/bin/bash"},
	"gentoo":     {Gecos: "gentoo Cloud User", Name: "gentoo", Groups: []string{"users", "wheel"}, PrimaryGroup: "users", Shell: "/bin/bash"},
	"freebsd":    {Gecos: "FreeBSD", Name: "freebsd", Groups: []string{"wheel"}, Shell: "/bin/tcsh"},
	"photon":     {Gecos: "PhotonOS", Name: "photon", Groups: []string{"wheel"}, Shell: "/bin/bash"},
	"mariner":    {Gecos: "MarinerOS", Name: "mariner", Groups: []string{"wheel"}, Shell: "/bin/bash"},
	"openeuler":  {Gecos: "openeuler Cloud User", Name: "openeuler", Groups: []string{"wheel", "adm", "systemd-journal"}, Shell: "/bin/bash"},
	"cloudlinux": {Gecos: "cloudlinux Cloud User", Name: "cloudlinux", Groups: []string{"adm", "systemd-journal"}, Shell: "/bin/bash"},
}

// variant maps an os-release ID that cloud-init folds into another variant.
func variant(id string) string {
	switch {
	case strings.HasPrefix(id, "opensuse"), strings.HasPrefix(id, "sle"):
		return "opensuse"
	}
	return id
}

// ImageDefaultUser returns the default user of the OS tree at root:
// cloud-init's system_info.default_user when /etc/cloud/cloud.cfg (and
// cloud.cfg.d) still names one, else the convention of the distribution
// /etc/os-release names. It returns nil, nil when neither says anything (an
// unknown distribution, Windows). A cloud.cfg that cannot be read as YAML is
// an error naming the file and line: the image builder meant something.
func ImageDefaultUser(root string) (*DefaultUser, error) {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	du, err := cloudCfgUser(fsys)
	if du != nil || err != nil {
		return du, err
	}
	return conventionUser(fsys)
}

// cloudCfgUser merges cloud.cfg and cloud.cfg.d/*.cfg and returns
// system_info.default_user, or nil when no file names one.
func cloudCfgUser(fsys *rootfs.FS) (*DefaultUser, error) {
	files := []string{cloudCfg}
	if ents, err := fsys.ReadDir(cloudCfgDir); err == nil {
		var names []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".cfg") && !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for _, n := range names {
			files = append(files, path.Join(cloudCfgDir, n))
		}
	}
	var merged map[string]any
	src := ""
	for _, f := range files {
		data, err := fsys.ReadFile(f, maxCfgFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if du, ok := dig(m, "system_info", "default_user").(map[string]any); ok && len(du) > 0 {
			src = f
		}
		merged = mergeCfg(merged, m)
	}
	du, ok := dig(merged, "system_info", "default_user").(map[string]any)
	if !ok {
		return nil, nil
	}
	u, err := defaultUserFrom(du)
	if err != nil {
		return nil, fmt.Errorf("%s: system_info.default_user: %w", src, err)
	}
	if u == nil {
		return nil, nil
	}
	u.Source = src
	return u, nil
}

// mergeCfg merges b over a as cloud-init merges its configuration files:
// mappings recursively, anything else replaced by the later file.
func mergeCfg(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		am, aok := out[k].(map[string]any)
		bm, bok := v.(map[string]any)
		if aok && bok {
			out[k] = mergeCfg(am, bm)
			continue
		}
		out[k] = v
	}
	return out
}

// dig walks nested mappings.
func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// defaultUserFrom reads a default_user mapping; nil when it has no name.
func defaultUserFrom(m map[string]any) (*DefaultUser, error) {
	name, _ := m["name"].(string)
	if name == "" {
		return nil, nil
	}
	u := &DefaultUser{Name: name, LockPasswd: true}
	var errs []error
	for k, v := range m {
		switch k {
		case "name":
		case "gecos":
			u.Gecos, _ = v.(string)
		case "groups":
			g, err := stringList(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("groups: %w", err))
			}
			u.Groups = g
		case "primary_group":
			u.PrimaryGroup, _ = v.(string)
		case "sudo":
			switch s := v.(type) {
			case nil, bool:
				if s == true {
					errs = append(errs, fmt.Errorf("sudo: want a sudoers rule or a list of them, got true"))
				}
			default:
				rules, err := stringList(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("sudo: %w", err))
				}
				u.Sudo = rules
			}
		case "shell":
			u.Shell, _ = v.(string)
		case "lock_passwd":
			b, ok := v.(bool)
			if !ok {
				errs = append(errs, fmt.Errorf("lock_passwd: want true or false"))
			}
			u.LockPasswd = b
		case "doas", "no_user_group", "homedir":
			errs = append(errs, fmt.Errorf("%s is not supported for the default user", k))
		default:
			errs = append(errs, fmt.Errorf("unknown key %s", k))
		}
	}
	return u, errors.Join(errs...)
}

// stringList reads a list of strings or one comma-separated string.
func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		var out []string
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		var out []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %v", e)
			}
			out = append(out, strings.TrimSpace(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list or a comma-separated string, got %v", v)
}

// conventionUser reads /etc/os-release (else /usr/lib/os-release) and
// returns the convention for its ID, then for each ID_LIKE.
func conventionUser(fsys *rootfs.FS) (*DefaultUser, error) {
	var data []byte
	var err error
	for _, f := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		data, err = fsys.ReadFile(f, 1<<20)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
	}
	if err != nil {
		return nil, nil
	}
	rel := parseOSRelease(data)
	ids := append([]string{rel["ID"]}, strings.Fields(rel["ID_LIKE"])...)
	for i, id := range ids {
		c, ok := convention[variant(strings.ToLower(id))]
		if !ok {
			continue
		}
		u := c
		u.Groups = slices.Clone(c.Groups)
		u.Sudo = []string{"ALL=(ALL) NOPASSWD:ALL"}
		u.LockPasswd = true
		key := "ID"
		if i > 0 {
			key = "ID_LIKE"
		}
		u.Source = fmt.Sprintf("os-release %s=%s (cloud-init's convention)", key, id)
		return &u, nil
	}
	return nil, nil
}

// parseOSRelease reads os-release's KEY=value lines, quotes removed.
func parseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// AdminRule reports whether a sudoers rule is the passwordless full rule
// cloud-init gives its default user ("ALL=(ALL) NOPASSWD:ALL", spacing and
// "(ALL:ALL)" aside): the one ovfinit's administrator setting writes.
func AdminRule(rule string) bool {
	r := strings.Join(strings.Fields(rule), "")
	return r == "ALL=(ALL)NOPASSWD:ALL" || r == "ALL=(ALL:ALL)NOPASSWD:ALL"
}
