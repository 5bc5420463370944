package cloudconfig

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Header is the first line of #cloud-config user-data.
const Header = "#cloud-config"

// Config is a #cloud-config document, checked: every key in it is one
// ovfinit applies.
type Config struct {
	// users: nil when the key is absent (cloud-init's default: the
	// default user only). DefaultUser says whether "default" is listed.
	Users       []User
	UsersSet    bool
	DefaultUser bool
	// user: a new name for the default user ("" keeps the image's).
	DefaultUserName string
	// password, ssh_authorized_keys: the default user's.
	Password          string
	SSHAuthorizedKeys []string
	Groups            []Group
	SSHPwauth         *bool
	Chpasswd          *Chpasswd

	Hostname, FQDN   string
	PreserveHostname bool
	HostnameLine     int

	WriteFiles []File
	Bootcmd    []Command
	Runcmd     []Command

	Packages       []Package
	PackageUpdate  bool
	PackageUpgrade bool

	PhoneHome    *PhoneHome
	FinalMessage *string
	PowerState   *PowerState

	// Lines has the line of each top-level key.
	Lines map[string]int
}

// User is one entry of users.
type User struct {
	Line         int
	Name         string
	Gecos        string
	Groups       []string
	PrimaryGroup string
	Admin        bool // sudo: ALL=(ALL) NOPASSWD:ALL
	Shell        string
	Home         string
	UID          int
	LockPasswd   bool
	// Password is passwd or hashed_passwd (a hash) or plain_text_passwd.
	Password string
	Keys     []string
}

// Group is one entry of groups.
type Group struct {
	Line    int
	Name    string
	Members []string
}

// Chpasswd is the chpasswd module: passwords for existing or new users.
type Chpasswd struct {
	Line   int
	Expire bool
	Users  []ChpasswdUser
}

// ChpasswdUser is one password; Password is a hash or clear text.
type ChpasswdUser struct {
	Line     int
	Name     string
	Password string
}

// File is one entry of write_files, its content decoded.
type File struct {
	Line        int
	Path        string
	Content     []byte
	Owner       string // user:group
	Permissions uint32
	Append      bool
	Defer       bool
}

// Command is one entry of runcmd or bootcmd: Shell runs with sh -c, Argv
// as it is.
type Command struct {
	Line  int
	Shell string
	Argv  []string
}

// Package is one entry of packages.
type Package struct {
	Line          int
	Name, Version string
}

// PhoneHome is the phone_home module.
type PhoneHome struct {
	Line  int
	URL   string
	Post  []string // the fields to post
	Tries int
}

// PowerState is power_state.
type PowerState struct {
	Line    int
	Mode    string // poweroff, reboot, halt
	Delay   int    // minutes; 0: now
	Message string
}

// PhoneHomeFields are the fields phone_home can post, as cloud-init names
// them.
var PhoneHomeFields = []string{"pub_key_rsa", "pub_key_ecdsa", "pub_key_ed25519", "instance_id", "hostname", "fqdn"}

// Error is a problem at a line of the document.
type Error struct {
	Line int
	Key  string // the key's path: users[1].sudo
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %v", e.Line, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Refused are cloud-init modules and keys ovfinit knows and does not apply;
// they are refused with this reason rather than as unknown keys.
var Refused = map[string]string{
	"apt":                        "ovfinit does not configure apt sources",
	"snap":                       "ovfinit does not manage snaps",
	"ntp":                        "ovfinit does not configure NTP",
	"timezone":                   "ovfinit does not set the time zone",
	"locale":                     "ovfinit does not set the locale",
	"keyboard":                   "ovfinit does not set the keyboard",
	"mounts":                     "ovfinit does not edit fstab",
	"disk_setup":                 "ovfinit does not partition disks",
	"fs_setup":                   "ovfinit does not make file systems",
	"growpart":                   "ovfinit does not grow partitions",
	"resize_rootfs":              "ovfinit does not resize file systems",
	"ca_certs":                   "ovfinit does not install CA certificates",
	"rsyslog":                    "ovfinit does not configure rsyslog",
	"ssh_import_id":              "ovfinit fetches nothing from key servers",
	"ssh_keys":                   "ovfinit generates the host keys itself",
	"ssh_deletekeys":             "ovfinit generates the host keys itself",
	"ssh_genkeytypes":            "ovfinit generates the host keys itself",
	"disable_root":               "ovfinit's root login policy is ovfinit.ssh.permit-root-login",
	"manage_etc_hosts":           "ovfinit writes the 127.0.1.1 line of /etc/hosts itself",
	"manage_resolv_conf":         "DNS comes from the network configuration",
	"resolv_conf":                "DNS comes from the network configuration",
	"yum_repos":                  "ovfinit does not configure package repositories",
	"zypper":                     "ovfinit does not configure package repositories",
	"package_reboot_if_required": "ovfinit does not reboot after packages",
	"puppet":                     "configuration management agents are not installed by ovfinit",
	"chef":                       "configuration management agents are not installed by ovfinit",
	"ansible":                    "configuration management agents are not installed by ovfinit",
	"salt_minion":                "configuration management agents are not installed by ovfinit",
	"mcollective":                "configuration management agents are not installed by ovfinit",
	"lxd":                        "ovfinit does not configure LXD",
	"seed_random":                "ovfinit does not seed the random generator",
	"random_seed":                "ovfinit does not seed the random generator",
	"wireguard":                  "network configuration comes from network-config",
	"network":                    "network configuration comes from the network-config property",
	"system_info":                "the image's settings are read from its own /etc/cloud/cloud.cfg",
	"merge_how":                  "there is one document: nothing to merge",
	"ubuntu_pro":                 "ovfinit does not attach subscriptions",
	"rh_subscription":            "ovfinit does not attach subscriptions",
	"vendor_data":                "ovfinit reads no vendor data",
}

// Parse reads a #cloud-config document (its first line is Header). Every
// problem is returned, each with its line: a key that is not one ovfinit
// applies is an error, so nothing in the document is silently dropped.
func Parse(data []byte) (*Config, error) {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if string(bytes.TrimRight(first, " \t\r")) != Header {
		return nil, fmt.Errorf("the first line is not %s", Header)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return &Config{}, nil
		}
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Line: extra.Line, Key: "---", Err: errors.New("a second YAML document: cloud-init reads one")}
	}
	p := &parser{c: &Config{Lines: map[string]int{}}}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return p.c, nil
	}
	p.mapping(root, "", func(key string, k, v *yaml.Node) {
		p.c.Lines[key] = k.Line
		if f, ok := modules[key]; ok {
			f(p, key, v)
			return
		}
		if why, ok := Refused[key]; ok {
			p.bad(k, key, "not applied: %s (docs/cloud-config.md lists what ovfinit applies)", why)
			return
		}
		p.bad(k, key, "not a cloud-config key ovfinit applies (docs/cloud-config.md lists them)")
	})
	p.check()
	return p.c, errors.Join(p.errs...)
}

type parser struct {
	c    *Config
	errs []error
}

func (p *parser) bad(n *yaml.Node, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{Line: n.Line, Key: key, Err: fmt.Errorf(format, args...)})
}

// modules reads each top-level key ovfinit applies.
var modules = map[string]func(p *parser, key string, v *yaml.Node){
	"users":               (*parser).users,
	"user":                (*parser).user,
	"groups":              (*parser).groups,
	"password":            func(p *parser, key string, v *yaml.Node) { p.c.Password = p.str(v, key) },
	"ssh_authorized_keys": func(p *parser, key string, v *yaml.Node) { p.c.SSHAuthorizedKeys = p.strList(v, key, false) },
	"ssh_pwauth": func(p *parser, key string, v *yaml.Node) {
		if v.Tag == "!!null" {
			return
		}
		if s := strings.ToLower(v.Value); s == "unchanged" {
			return
		}
		b := p.boolean(v, key)
		p.c.SSHPwauth = &b
	},
	"chpasswd": (*parser).chpasswd,
	"hostname": func(p *parser, key string, v *yaml.Node) {
		p.c.Hostname, p.c.HostnameLine = p.str(v, key), v.Line
	},
	"fqdn": func(p *parser, key string, v *yaml.Node) {
		p.c.FQDN = p.str(v, key)
		if p.c.HostnameLine == 0 {
			p.c.HostnameLine = v.Line
		}
	},
	"prefer_fqdn_over_hostname": func(p *parser, key string, v *yaml.Node) {
		if p.boolean(v, key) {
			p.bad(v, key, "true is not supported: ovfinit's host name is the first label of fqdn")
		}
	},
	"preserve_hostname": func(p *parser, key string, v *yaml.Node) { p.c.PreserveHostname = p.boolean(v, key) },
	"write_files":       (*parser).writeFiles,
	"runcmd":            func(p *parser, key string, v *yaml.Node) { p.c.Runcmd = p.commands(v, key) },
	"bootcmd":           func(p *parser, key string, v *yaml.Node) { p.c.Bootcmd = p.commands(v, key) },
	"packages":          (*parser).packages,
	"package_update":    func(p *parser, key string, v *yaml.Node) { p.c.PackageUpdate = p.c.PackageUpdate || p.boolean(v, key) },
	"apt_update":        func(p *parser, key string, v *yaml.Node) { p.c.PackageUpdate = p.c.PackageUpdate || p.boolean(v, key) },
	"package_upgrade": func(p *parser, key string, v *yaml.Node) {
		p.c.PackageUpgrade = p.c.PackageUpgrade || p.boolean(v, key)
	},
	"apt_upgrade": func(p *parser, key string, v *yaml.Node) {
		p.c.PackageUpgrade = p.c.PackageUpgrade || p.boolean(v, key)
	},
	"phone_home": (*parser).phoneHome,
	"final_message": func(p *parser, key string, v *yaml.Node) {
		s := p.str(v, key)
		p.c.FinalMessage = &s
	},
	"power_state": (*parser).powerState,
}

// mapping walks a mapping's keys in order, refusing duplicates.
func (p *parser) mapping(n *yaml.Node, path string, each func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.bad(n, orTop(path), "want a mapping of keys, got %s", kind(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		full := key
		if path != "" {
			full = path + "." + key
		}
		if l, dup := seen[key]; dup {
			p.bad(k, full, "given twice (first at line %d)", l)
			continue
		}
		seen[key] = k.Line
		each(key, k, v)
	}
}

func orTop(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// str reads a scalar as text (numbers too: a host name can be digits).
func (p *parser) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.bad(n, key, "want a text value, got %s", kind(n))
		return ""
	}
	return n.Value
}

// boolean reads YAML 1.1 booleans, as cloud-init's PyYAML does.
func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on", "y":
			return true
		case "false", "no", "off", "n":
			return false
		}
	}
	p.bad(n, key, "want true or false, got %s", kind(n))
	return false
}

// strList reads a list of text values or, with comma, one comma-separated
// text.
func (p *parser) strList(n *yaml.Node, key string, comma bool) []string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if comma && n.Kind == yaml.ScalarNode {
		var out []string
		for _, s := range strings.Split(n.Value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if n.Kind != yaml.SequenceNode {
		p.bad(n, key, "want a list, got %s", kind(n))
		return nil
	}
	var out []string
	for i, e := range n.Content {
		out = append(out, p.str(e, fmt.Sprintf("%s[%d]", key, i)))
	}
	return out
}

func (p *parser) user(key string, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode {
		p.bad(v, key, "only a user name is supported here (to change more than the default user's name, use users)")
		return
	}
	p.c.DefaultUserName = p.str(v, key)
}

func (p *parser) users(key string, v *yaml.Node) {
	p.c.UsersSet = true
	if v.Tag == "!!null" {
		return
	}
	var entries []*yaml.Node
	switch v.Kind {
	case yaml.SequenceNode:
		entries = v.Content
	case yaml.ScalarNode:
		// users: default (or a comma-separated list of names)
		for _, s := range strings.Split(v.Value, ",") {
			entries = append(entries, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(s), Line: v.Line})
		}
	default:
		p.bad(v, key, "want a list of users, got %s", kind(v))
		return
	}
	for i, e := range entries {
		at := fmt.Sprintf("%s[%d]", key, i)
		if e.Kind == yaml.ScalarNode {
			if e.Value == "default" {
				p.c.DefaultUser = true
				continue
			}
			p.c.Users = append(p.c.Users, User{Line: e.Line, Name: e.Value, LockPasswd: true})
			continue
		}
		u := User{Line: e.Line, LockPasswd: true}
		p.mapping(e, at, func(k string, kn, vn *yaml.Node) {
			f := at + "." + k
			switch k {
			case "name":
				u.Name = p.str(vn, f)
			case "gecos":
				u.Gecos = p.str(vn, f)
			case "groups":
				u.Groups = p.strList(vn, f, true)
			case "primary_group":
				u.PrimaryGroup = p.str(vn, f)
			case "sudo":
				u.Admin = p.sudo(vn, f)
			case "shell":
				u.Shell = p.str(vn, f)
			case "homedir":
				u.Home = p.str(vn, f)
			case "uid":
				n, err := strconv.Atoi(p.str(vn, f))
				if err != nil || n < 1 {
					p.bad(vn, f, "want a whole number above 0, got %s", kind(vn))
				}
				u.UID = n
			case "lock_passwd":
				u.LockPasswd = p.boolean(vn, f)
			case "passwd", "hashed_passwd", "plain_text_passwd":
				if u.Password != "" {
					p.bad(kn, f, "a second password for the user: give one of passwd, hashed_passwd, plain_text_passwd")
				}
				u.Password = p.str(vn, f)
			case "ssh_authorized_keys":
				u.Keys = p.strList(vn, f, false)
			case "create_groups":
				if !p.boolean(vn, f) {
					p.bad(vn, f, "false is not supported: ovfinit creates missing groups")
				}
			case "system", "no_create_home", "no_user_group", "no_log_init", "ssh_redirect_user", "snapuser":
				if vn.Tag != "!!null" && p.boolean(vn, f) {
					p.bad(vn, f, "true is not supported by ovfinit")
				}
			default:
				p.bad(kn, f, "not a user key ovfinit applies (docs/cloud-config.md lists them)")
			}
		})
		if u.Name == "" {
			p.bad(e, at, "a user needs a name")
		}
		p.c.Users = append(p.c.Users, u)
	}
}

// sudo reads a user's sudo: false or null (none), or cloud-init's default
// rule; other rules are refused.
func (p *parser) sudo(n *yaml.Node, key string) bool {
	if n.Tag == "!!null" {
		return false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if p.boolean(n, key) {
			p.bad(n, key, "want a sudoers rule (ALL=(ALL) NOPASSWD:ALL) or false, got true")
		}
		return false
	}
	// One rule: cloud-init's schema (22.4, Debian 12) refuses a list here.
	if n.Kind != yaml.ScalarNode {
		p.bad(n, key, "want one sudoers rule (ALL=(ALL) NOPASSWD:ALL) or false, got %s", kind(n))
		return false
	}
	rules := []string{n.Value}
	admin := false
	for _, r := range rules {
		if !AdminRule(r) {
			p.bad(n, key, "sudo rule %q is not supported: ovfinit writes only ALL=(ALL) NOPASSWD:ALL", r)
			continue
		}
		admin = true
	}
	return admin
}

func (p *parser) groups(key string, v *yaml.Node) {
	add := func(n *yaml.Node, name string, members []string) {
		p.c.Groups = append(p.c.Groups, Group{Line: n.Line, Name: name, Members: members})
	}
	switch v.Kind {
	case yaml.ScalarNode:
		for _, g := range p.strList(v, key, true) {
			add(v, g, nil)
		}
	case yaml.MappingNode:
		p.mapping(v, key, func(g string, kn, vn *yaml.Node) { add(kn, g, p.strList(vn, key+"."+g, true)) })
	case yaml.SequenceNode:
		for i, e := range v.Content {
			at := fmt.Sprintf("%s[%d]", key, i)
			if e.Kind == yaml.MappingNode {
				p.mapping(e, at, func(g string, kn, vn *yaml.Node) { add(kn, g, p.strList(vn, at+"."+g, true)) })
				continue
			}
			add(e, p.str(e, at), nil)
		}
	default:
		p.bad(v, key, "want a list of groups, got %s", kind(v))
	}
}

func (p *parser) chpasswd(key string, v *yaml.Node) {
	c := &Chpasswd{Line: v.Line, Expire: true}
	p.mapping(v, key, func(k string, kn, vn *yaml.Node) {
		f := key + "." + k
		switch k {
		case "expire":
			c.Expire = p.boolean(vn, f)
		case "users":
			if vn.Kind != yaml.SequenceNode {
				p.bad(vn, f, "want a list, got %s", kind(vn))
				return
			}
			for i, e := range vn.Content {
				at := fmt.Sprintf("%s[%d]", f, i)
				u := ChpasswdUser{Line: e.Line}
				typ := "hash"
				p.mapping(e, at, func(k string, kn, vn *yaml.Node) {
					switch k {
					case "name":
						u.Name = p.str(vn, at+".name")
					case "password":
						u.Password = p.str(vn, at+".password")
					case "type":
						typ = p.str(vn, at+".type")
					default:
						p.bad(kn, at+"."+k, "want name, password or type")
					}
				})
				switch {
				case u.Name == "" || u.Password == "":
					p.bad(e, at, "needs a name and a password")
				case typ == "RANDOM" || strings.EqualFold(u.Password, "R") || strings.EqualFold(u.Password, "RANDOM"):
					p.bad(e, at, "random passwords are not supported: ovfinit has no console to print them on")
				case typ != "hash" && typ != "text":
					p.bad(e, at+".type", "want hash, text or RANDOM, got %q", typ)
				}
				c.Users = append(c.Users, u)
			}
		case "list":
			// The older form: "name:password" lines, or a list of them.
			var lines []string
			if vn.Kind == yaml.ScalarNode {
				lines = strings.Split(strings.TrimSpace(vn.Value), "\n")
			} else {
				lines = p.strList(vn, f, false)
			}
			for i, l := range lines {
				name, pw, ok := strings.Cut(strings.TrimSpace(l), ":")
				if !ok || name == "" || pw == "" {
					p.bad(vn, fmt.Sprintf("%s line %d", f, i+1), "want name:password")
					continue
				}
				if strings.EqualFold(pw, "R") || strings.EqualFold(pw, "RANDOM") {
					p.bad(vn, fmt.Sprintf("%s line %d", f, i+1), "random passwords are not supported: ovfinit has no console to print them on")
					continue
				}
				c.Users = append(c.Users, ChpasswdUser{Line: vn.Line, Name: name, Password: pw})
			}
		default:
			p.bad(kn, f, "want expire, users or list")
		}
	})
	p.c.Chpasswd = c
}

func (p *parser) writeFiles(key string, v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		p.bad(v, key, "want a list of files, got %s", kind(v))
		return
	}
	for i, e := range v.Content {
		at := fmt.Sprintf("%s[%d]", key, i)
		f := File{Line: e.Line, Owner: "root:root", Permissions: 0o644}
		content, encoding := "", "text/plain"
		var contentNode *yaml.Node
		p.mapping(e, at, func(k string, kn, vn *yaml.Node) {
			fk := at + "." + k
			switch k {
			case "path":
				f.Path = p.str(vn, fk)
			case "content":
				content, contentNode = p.str(vn, fk), vn
			case "encoding":
				encoding = p.str(vn, fk)
			case "owner":
				f.Owner = p.str(vn, fk)
			case "permissions":
				s := p.str(vn, fk)
				m, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0"), 8, 32)
				if s == "0" || s == "00" {
					m, err = 0, nil
				}
				if err != nil || m > 0o7777 {
					p.bad(vn, fk, "want an octal mode such as '0644', got %q", s)
				}
				f.Permissions = uint32(m)
			case "append":
				f.Append = p.boolean(vn, fk)
			case "defer":
				f.Defer = p.boolean(vn, fk)
			case "source":
				p.bad(kn, fk, "not applied: ovfinit fetches nothing; give the content")
			default:
				p.bad(kn, fk, "want path, content, encoding, owner, permissions, append or defer")
			}
		})
		if f.Path == "" || !strings.HasPrefix(f.Path, "/") || slices.Contains(strings.Split(f.Path, "/"), "..") {
			p.bad(e, at+".path", "want an absolute path without '..', got %q", f.Path)
		} else {
			f.Path = path.Clean(f.Path)
		}
		if u, g, ok := strings.Cut(f.Owner, ":"); u == "" || (ok && g == "") {
			p.bad(e, at+".owner", "want user or user:group, got %q", f.Owner)
		}
		data, err := decodeContent(content, encoding)
		if err != nil {
			n := e
			if contentNode != nil {
				n = contentNode
			}
			p.bad(n, at+".content", "%v", err)
		}
		f.Content = data
		p.c.WriteFiles = append(p.c.WriteFiles, f)
	}
}

// commands reads runcmd or bootcmd: each entry a shell line or an argv
// list.
func (p *parser) commands(v *yaml.Node, key string) []Command {
	if v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.bad(v, key, "want a list of commands, got %s", kind(v))
		return nil
	}
	var out []Command
	for i, e := range v.Content {
		at := fmt.Sprintf("%s[%d]", key, i)
		switch e.Kind {
		case yaml.ScalarNode:
			out = append(out, Command{Line: e.Line, Shell: p.str(e, at)})
		case yaml.SequenceNode:
			argv := p.strList(e, at, false)
			if len(argv) == 0 {
				p.bad(e, at, "an empty command")
			}
			out = append(out, Command{Line: e.Line, Argv: argv})
		default:
			p.bad(e, at, "want a command line or a list of arguments, got %s", kind(e))
		}
	}
	return out
}

func (p *parser) packages(key string, v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		p.bad(v, key, "want a list of packages, got %s", kind(v))
		return
	}
	for i, e := range v.Content {
		at := fmt.Sprintf("%s[%d]", key, i)
		switch e.Kind {
		case yaml.ScalarNode:
			p.c.Packages = append(p.c.Packages, Package{Line: e.Line, Name: p.str(e, at)})
		case yaml.SequenceNode:
			l := p.strList(e, at, false)
			if len(l) != 2 {
				p.bad(e, at, "want [name, version]")
				continue
			}
			p.c.Packages = append(p.c.Packages, Package{Line: e.Line, Name: l[0], Version: l[1]})
		default:
			p.bad(e, at, "want a package name or [name, version] (apt:/snap: lists are not supported), got %s", kind(e))
		}
	}
	for _, pk := range p.c.Packages {
		if !validPackage(pk.Name) || (pk.Version != "" && !validPackage(pk.Version)) {
			p.bad(&yaml.Node{Line: pk.Line}, key, "%q is not a package name", strings.TrimSpace(pk.Name+" "+pk.Version))
		}
	}
}

// validPackage keeps package names and versions to what package managers
// accept, and away from their options.
func validPackage(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".+-_:~*", r)) {
			return false
		}
	}
	return true
}

func (p *parser) phoneHome(key string, v *yaml.Node) {
	ph := &PhoneHome{Line: v.Line, Tries: 10, Post: PhoneHomeFields}
	p.mapping(v, key, func(k string, kn, vn *yaml.Node) {
		f := key + "." + k
		switch k {
		case "url":
			ph.URL = p.str(vn, f)
		case "post":
			if vn.Kind == yaml.ScalarNode && vn.Value == "all" {
				return
			}
			ph.Post = p.strList(vn, f, false)
			for _, x := range ph.Post {
				if !slices.Contains(PhoneHomeFields, x) {
					p.bad(vn, f, "%q: want all or some of %s", x, strings.Join(PhoneHomeFields, ", "))
				}
			}
		case "tries":
			n, err := strconv.Atoi(p.str(vn, f))
			if err != nil || n < 1 || n > 100 {
				p.bad(vn, f, "want a number from 1 to 100")
			}
			ph.Tries = n
		default:
			p.bad(kn, f, "want url, post or tries")
		}
	})
	if !strings.HasPrefix(ph.URL, "http://") && !strings.HasPrefix(ph.URL, "https://") {
		p.bad(v, key+".url", "want an http:// or https:// URL")
	}
	p.c.PhoneHome = ph
}

func (p *parser) powerState(key string, v *yaml.Node) {
	ps := &PowerState{Line: v.Line}
	p.mapping(v, key, func(k string, kn, vn *yaml.Node) {
		f := key + "." + k
		switch k {
		case "mode":
			ps.Mode = p.str(vn, f)
			if !slices.Contains([]string{"poweroff", "reboot", "halt"}, ps.Mode) {
				p.bad(vn, f, "want poweroff, reboot or halt, got %q", ps.Mode)
			}
		case "delay":
			s := strings.TrimPrefix(p.str(vn, f), "+")
			if s == "now" {
				return
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 24*60 {
				p.bad(vn, f, "want now or +MINUTES, got %q", vn.Value)
			}
			ps.Delay = n
		case "message":
			ps.Message = p.str(vn, f)
		case "timeout":
			// How long cloud-init waits for itself to finish: ovfinit
			// acts after its ready event, so there is nothing to wait for.
			p.str(vn, f)
		case "condition":
			if vn.Kind != yaml.ScalarNode || !(vn.Tag == "!!bool" && p.boolean(vn, f)) {
				p.bad(vn, f, "only true is supported (a command as condition is not)")
			}
		default:
			p.bad(kn, f, "want mode, delay, message, timeout or condition")
		}
	})
	if ps.Mode == "" {
		p.bad(v, key+".mode", "a mode is required: poweroff, reboot or halt")
	}
	p.c.PowerState = ps
}

// check looks at the document as a whole.
func (p *parser) check() {
	c := p.c
	if c.Hostname != "" || c.FQDN != "" {
		if c.PreserveHostname {
			p.bad(&yaml.Node{Line: c.HostnameLine}, "hostname", "preserve_hostname is true: drop hostname/fqdn, or preserve_hostname")
		}
		if c.Hostname != "" && c.FQDN != "" && !strings.HasPrefix(c.FQDN, c.Hostname+".") && c.FQDN != c.Hostname {
			p.bad(&yaml.Node{Line: c.HostnameLine}, "fqdn", "%q does not start with hostname %q", c.FQDN, c.Hostname)
		}
	}
}

// Secrets returns the document's passwords (clear text and hashes): the
// caller redacts them from logs, events and saved copies.
func (c *Config) Secrets() []string {
	var out []string
	if c.Password != "" {
		out = append(out, c.Password)
	}
	for _, u := range c.Users {
		if u.Password != "" {
			out = append(out, u.Password)
		}
	}
	if c.Chpasswd != nil {
		for _, u := range c.Chpasswd.Users {
			out = append(out, u.Password)
		}
	}
	return out
}
