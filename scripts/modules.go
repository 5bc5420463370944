package scripts

// The modules a script sees, each built per run by its newXModule, every
// builtin a named method of the module's type (as go.starlark.net's
// lib/time does), named "module.function" in errors:
//
//	ovf       ovf.property(key, default=None), ovf.properties(), ovf.instance_id,
//	          ovf.platform, ovf.entity(id) (.id, .property, .properties), ovf.entities()
//	host      host.os, host.arch, host.distro, host.version, host.hostname,
//	          host.interfaces()
//	exec      exec.run(argv, env=, stdin=, timeout=, check=), exec.shell(cmdline, ...)
//	file      file.read(path), file.write(path, content, mode=, owner=),
//	          file.append(...), file.exists(path), file.remove(path),
//	          file.mkdir(path, mode=), file.chmod(path, mode),
//	          file.template(src, dst, values, mode=, owner=)
//	log       log.info(msg), log.warn(msg), log.error(msg)
//	progress  progress(percent, message)
//	fail      fail(message, retry=False)
//	json      go.starlark.net's json module
//	time      go.starlark.net's time module
//	http      http.get(url, headers=, timeout=), http.post(url, body=, json=,
//	          headers=, timeout=) (http.go; only with ovfinit.script.http)
//	system    system.member(name), system.members(), system.publish(name, value)
//	          (system.go; fails in a VM that is in no system)

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"go.starlark.net/lib/json"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// builtinFunc is the signature of a Starlark builtin's Go function.
type builtinFunc = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

// The modules' state: each builtin is a named method of its module's type,
// bound to what the run gave it (the Host, the logger), as go.starlark.net's
// lib/time names its builtins.
type (
	ovfModule  struct{ o *ovfenv.Environment }
	hostModule struct{ h Host }
	execModule struct {
		h    Host
		log  *slog.Logger
		goos string
	}
	fileModule struct{ h Host }
	logModule  struct{ log *slog.Logger }
)

func module(name string, members starlark.StringDict) *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: name, Members: members}
}

// predeclaredNames are the names every script sees besides Starlark's
// universe (len, range, str, ...). fail replaces the universe's own. http
// is added when Dialect.HTTP is on.
var predeclaredNames = []string{"ovf", "host", "exec", "file", "log", "progress", "fail", "json", "time", "system"}

// newModules returns the predeclared names of one run, bound to host.
func newModules(env *Env, host Host, info HostInfo) starlark.StringDict {
	m := starlark.StringDict{
		"ovf":      newOVFModule(env),
		"host":     newHostModule(host, info),
		"exec":     newExecModule(host, env.Log, info.OS),
		"file":     newFileModule(host),
		"log":      newLogModule(env.Log),
		"progress": starlark.NewBuiltin("progress", progressBuiltin(host, env.Log, env.redactor)),
		"fail":     starlark.NewBuiltin("fail", failBuiltin),
		"json":     json.Module,
		"time":     starlarktime.Module,
		"system":   newSystemModule(env.System, env.Log, env.redactor),
	}
	if env.Dialect.HTTP {
		m["http"] = newHTTPModule(env.HTTP, env.Log)
	}
	return m
}

// wrap prefixes a builtin's error with its name, the convention of every
// builtin here.
func wrap(b *starlark.Builtin, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", b.Name(), err)
}

// ---- ovf ----

func propertyDict(props []ovfenv.Property) *starlark.Dict {
	d := starlark.NewDict(len(props))
	for _, p := range props {
		_ = d.SetKey(starlark.String(p.Key), starlark.String(p.Value)) // the last one wins, as in Property
	}
	return d
}

func propertyFunc(name string, lookup func(string) (string, bool)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key string
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "default?", &def); err != nil {
			return nil, err
		}
		if v, ok := lookup(key); ok {
			return starlark.String(v), nil
		}
		return def, nil
	})
}

// newOVFModule: ovf.property, ovf.properties, ovf.instance_id, ovf.platform,
// ovf.entity, ovf.entities.
func newOVFModule(env *Env) *starlarkstruct.Module {
	o := env.OVF
	if o == nil {
		o = &ovfenv.Environment{}
	}
	var platform starlark.Value = starlark.None
	if p := o.Platform; p != nil {
		platform = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"kind": starlark.String(p.Kind), "version": starlark.String(p.Version), "vendor": starlark.String(p.Vendor),
			"locale": starlark.String(p.Locale), "timezone": starlark.String(p.Timezone),
		})
	}
	m := &ovfModule{o: o}
	members := starlark.StringDict{
		"properties": starlark.NewBuiltin("ovf.properties", m.properties),
		"entity":     starlark.NewBuiltin("ovf.entity", m.entity),
		"entities":   starlark.NewBuiltin("ovf.entities", m.entities),
	}
	members["property"] = propertyFunc("ovf.property", o.Property)
	members["instance_id"] = starlark.String(env.InstanceID)
	members["platform"] = platform
	return module("ovf", members)
}

// properties is the builtin ovf.properties.
func (m *ovfModule) properties(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return propertyDict(m.o.Properties), nil
}

// entity is the builtin ovf.entity.
func (m *ovfModule) entity(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "id", &id); err != nil {
		return nil, err
	}
	en := m.o.Entity(id)
	if en == nil {
		return starlark.None, nil
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"id":       starlark.String(en.ID),
		"property": propertyFunc("entity.property", en.Property),
		"properties": starlark.NewBuiltin("entity.properties", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return propertyDict(en.Properties), nil
		}),
	}), nil
}

// entities is the builtin ovf.entities.
func (m *ovfModule) entities(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	ids := make([]starlark.Value, len(m.o.Entities))
	for i, en := range m.o.Entities {
		ids[i] = starlark.String(en.ID)
	}
	return starlark.NewList(ids), nil
}

// ---- host ----

// newHostModule: host.os, host.arch, host.distro, host.version,
// host.hostname, host.interfaces().
func newHostModule(h Host, info HostInfo) *starlarkstruct.Module {
	m := &hostModule{h: h}
	members := starlark.StringDict{
		"interfaces": starlark.NewBuiltin("host.interfaces", m.interfaces),
	}
	members["os"] = starlark.String(info.OS)
	members["arch"] = starlark.String(info.Arch)
	members["distro"] = starlark.String(info.Distro)
	members["version"] = starlark.String(info.Version)
	members["hostname"] = starlark.String(info.Hostname)
	return module("host", members)
}

// interfaces is the builtin host.interfaces.
func (m *hostModule) interfaces(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	ifs, err := m.h.Interfaces()
	if err != nil {
		return nil, wrap(b, err)
	}
	out := make([]starlark.Value, len(ifs))
	for i, ifc := range ifs {
		addrs := make([]starlark.Value, len(ifc.Addresses))
		for j, a := range ifc.Addresses {
			addrs[j] = starlark.String(a)
		}
		out[i] = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"name": starlark.String(ifc.Name), "mac": starlark.String(ifc.MAC),
			"up": starlark.Bool(ifc.Up), "addresses": starlark.NewList(addrs),
		})
	}
	return starlark.NewList(out), nil
}

// ---- exec ----

// newExecModule: exec.run(argv, env=None, stdin=None, timeout=None,
// check=True) and exec.shell(cmdline, ...).
func newExecModule(h Host, log *slog.Logger, goos string) *starlarkstruct.Module {
	m := &execModule{h: h, log: log, goos: goos}
	return module("exec", starlark.StringDict{
		"run":   starlark.NewBuiltin("exec.run", m.run),
		"shell": starlark.NewBuiltin("exec.shell", m.shell),
	})
}

// runArgv runs argv for exec.run and exec.shell, with their keyword
// arguments (env, stdin, timeout, check).
func (m *execModule) runArgv(thread *starlark.Thread, b *starlark.Builtin, argv []string, kwargs []starlark.Tuple, extra ...any) (starlark.Value, error) {
	var env *starlark.Dict
	var stdin starlark.Value = starlark.None
	var timeout starlark.Value = starlark.None
	check := true
	pairs := append(extra, "env?", &env, "stdin?", &stdin, "timeout?", &timeout, "check?", &check)
	if err := starlark.UnpackArgs(b.Name(), nil, kwargs, pairs...); err != nil {
		return nil, err
	}
	c := Command{Argv: argv}
	if env != nil {
		for _, item := range env.Items() {
			k, ok1 := starlark.AsString(item[0])
			v, ok2 := starlark.AsString(item[1])
			if !ok1 || !ok2 || k == "" || strings.ContainsAny(k, "=\x00") {
				return nil, fmt.Errorf("%s: env: want a dict of names to strings, got %s: %s", b.Name(), item[0], item[1].Type())
			}
			c.Env = append(c.Env, k+"="+v)
		}
		sort.Strings(c.Env)
	}
	switch s := stdin.(type) {
	case starlark.NoneType:
	case starlark.String:
		c.Stdin = []byte(s)
	case starlark.Bytes:
		c.Stdin = []byte(s)
	default:
		return nil, fmt.Errorf("%s: for parameter stdin: got %s, want string or bytes", b.Name(), stdin.Type())
	}
	ctx := threadContext(thread)
	if timeout != starlark.None {
		secs, ok := starlark.AsFloat(timeout)
		if !ok || secs <= 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
			return nil, fmt.Errorf("%s: timeout: want a number of seconds above 0, got %s", b.Name(), timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(secs*float64(time.Second)),
			fmt.Errorf("timeout of %gs", secs))
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap(b, context.Cause(ctx))
	}
	cmdline := cmdrun.Quote(argv)
	start := time.Now()
	res, err := m.h.Exec(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Name(), cmdline, err)
	}
	attrs := []any{"cmd", cmdline, "code", res.Code, "duration", time.Since(start).Round(time.Millisecond), "pos", thread.CallFrame(1).Pos.String()}
	if res.Code != 0 && len(res.Stderr) > 0 {
		attrs = append(attrs, "stderr", tail(res.Stderr, 2048))
	}
	m.log.Log(ctx, slog.LevelInfo, "command ran", attrs...)
	if check && res.Code != 0 {
		msg := fmt.Sprintf("%s: command %s exited with code %d", b.Name(), cmdline, res.Code)
		if t := tail(res.Stderr, 512); t != "" {
			msg += ": " + t
		}
		return nil, errors.New(msg)
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"stdout": starlark.String(res.Stdout), "stderr": starlark.String(res.Stderr), "code": starlark.MakeInt(res.Code),
	}), nil
}

// shellArgv is how exec.shell runs a command line: sh -c on Unix, cmd /c on
// Windows.
func shellArgv(goos, line string) []string {
	if goos == "windows" {
		return []string{"cmd.exe", "/d", "/s", "/c", line}
	}
	return []string{"/bin/sh", "-c", line}
}

// run is the builtin exec.run.
func (m *execModule) run(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%s: want one positional argument, argv (a list of strings), got %d", b.Name(), len(args))
	}
	list, ok := args[0].(starlark.Indexable)
	if !ok || args[0].Type() == "string" {
		return nil, fmt.Errorf("%s: argv: want a list of strings, got %s (use exec.shell for a command line)", b.Name(), args[0].Type())
	}
	argv := make([]string, list.Len())
	for i := range argv {
		s, ok := starlark.AsString(list.Index(i))
		if !ok {
			return nil, fmt.Errorf("%s: argv[%d]: want a string, got %s", b.Name(), i, list.Index(i).Type())
		}
		argv[i] = s
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("%s: argv is empty", b.Name())
	}
	return m.runArgv(thread, b, argv, kwargs)
}

// shell is the builtin exec.shell.
func (m *execModule) shell(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%s: want one positional argument, the command line, got %d", b.Name(), len(args))
	}
	line, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf("%s: cmdline: want a string, got %s", b.Name(), args[0].Type())
	}
	return m.runArgv(thread, b, shellArgv(m.goos, line), kwargs)
}

// tail returns the last n bytes of b, trimmed, as text.
func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = append([]byte("..."), b[len(b)-n:]...)
	}
	return string(b)
}

// ---- file ----

func contentArg(b *starlark.Builtin, v starlark.Value) ([]byte, error) {
	switch c := v.(type) {
	case starlark.String:
		return []byte(c), nil
	case starlark.Bytes:
		return []byte(c), nil
	}
	return nil, fmt.Errorf("%s: for parameter content: got %s, want string or bytes", b.Name(), v.Type())
}

func modeArg(b *starlark.Builtin, mode int) (fs.FileMode, error) {
	if mode < 0 || mode > 0o777 {
		return 0, fmt.Errorf("%s: mode %#o is not between 0 and 0o777", b.Name(), mode)
	}
	return fs.FileMode(mode), nil
}

// newFileModule: file.read, write, append, exists, remove, mkdir, chmod,
// template.
func newFileModule(h Host) *starlarkstruct.Module {
	m := &fileModule{h: h}
	return module("file", starlark.StringDict{
		"read":     starlark.NewBuiltin("file.read", m.read),
		"write":    starlark.NewBuiltin("file.write", m.write),
		"append":   starlark.NewBuiltin("file.append", m.append),
		"exists":   starlark.NewBuiltin("file.exists", m.exists),
		"remove":   starlark.NewBuiltin("file.remove", m.remove),
		"mkdir":    starlark.NewBuiltin("file.mkdir", m.mkdir),
		"chmod":    starlark.NewBuiltin("file.chmod", m.chmod),
		"template": starlark.NewBuiltin("file.template", m.template),
	})
}

// writeFile writes data for file.write and file.append.
func (m *fileModule) writeFile(thread *starlark.Thread, b *starlark.Builtin, path string, data []byte, mode int, owner string) (starlark.Value, error) {
	perm, err := modeArg(b, mode)
	if err != nil {
		return nil, err
	}
	if err := threadContext(thread).Err(); err != nil {
		return nil, err
	}
	return starlark.None, wrap(b, m.h.WriteFile(path, data, perm, owner))
}

// renderTemplate replaces every {{name}} placeholder (spaces inside the
// braces allowed) with values[name]: a string as is, a number or bool as
// Starlark prints it. A placeholder values lacks, a value of another type
// (build lists into a string in the script), or a {{ that opens no valid
// placeholder is an error naming the line, and nothing is written.
//
// It is deliberately not text/template: that package's reflection keeps
// every exported method of the whole program alive in the linker, which
// cost the binary 3.4 MB, and scripts have Starlark for any logic.
func renderTemplate(name string, text []byte, values *starlark.Dict) ([]byte, error) {
	data := map[string]string{}
	for _, item := range values.Items() {
		k, ok := starlark.AsString(item[0])
		if !ok {
			return nil, fmt.Errorf("values: keys must be strings, got %s", item[0].Type())
		}
		switch v := item[1].(type) {
		case starlark.String:
			data[k] = string(v)
		case starlark.Int, starlark.Float, starlark.Bool:
			data[k] = v.String()
		default:
			return nil, fmt.Errorf("values[%q]: a %s can not be used in a template: make it a string in the script (for a list: \"\\n\".join(...))", k, v.Type())
		}
	}
	var out bytes.Buffer
	rest := string(text)
	line := 1
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			out.WriteString(rest)
			return out.Bytes(), nil
		}
		out.WriteString(rest[:i])
		line += strings.Count(rest[:i], "\n")
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%s:%d: {{ without a closing }}", name, line)
		}
		key := strings.TrimSpace(rest[i+2 : i+j])
		if !isTemplateKey(key) {
			return nil, fmt.Errorf("%s:%d: {{%s}} is not a placeholder: want {{name}}, a name of letters, digits, _, - and .", name, line, rest[i+2:i+j])
		}
		v, ok := data[key]
		if !ok {
			return nil, fmt.Errorf("%s:%d: {{%s}}: values has no key %q", name, line, key, key)
		}
		out.WriteString(v)
		line += strings.Count(rest[i:i+j], "\n")
		rest = rest[i+j+2:]
	}
}

// read is the builtin file.read.
func (m *fileModule) read(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	data, err := m.h.ReadFile(path)
	if err != nil {
		return nil, wrap(b, err)
	}
	return starlark.String(data), nil
}

// write is the builtin file.write.
func (m *fileModule) write(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path, owner string
	var content starlark.Value
	mode := 0o644
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "content", &content, "mode?", &mode, "owner?", &owner); err != nil {
		return nil, err
	}
	data, err := contentArg(b, content)
	if err != nil {
		return nil, err
	}
	return m.writeFile(thread, b, path, data, mode, owner)
}

// append is the builtin file.append.
func (m *fileModule) append(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var content starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "content", &content); err != nil {
		return nil, err
	}
	data, err := contentArg(b, content)
	if err != nil {
		return nil, err
	}
	return starlark.None, wrap(b, m.h.AppendFile(path, data))
}

// exists is the builtin file.exists.
func (m *fileModule) exists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	ok, err := m.h.Exists(path)
	return starlark.Bool(ok), wrap(b, err)
}

// remove is the builtin file.remove.
func (m *fileModule) remove(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	ok, err := m.h.Remove(path)
	return starlark.Bool(ok), wrap(b, err)
}

// mkdir is the builtin file.mkdir.
func (m *fileModule) mkdir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	mode := 0o755
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "mode?", &mode); err != nil {
		return nil, err
	}
	perm, err := modeArg(b, mode)
	if err != nil {
		return nil, err
	}
	return starlark.None, wrap(b, m.h.Mkdir(path, perm))
}

// chmod is the builtin file.chmod.
func (m *fileModule) chmod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var mode int
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "mode", &mode); err != nil {
		return nil, err
	}
	perm, err := modeArg(b, mode)
	if err != nil {
		return nil, err
	}
	return starlark.None, wrap(b, m.h.Chmod(path, perm))
}

// template is the builtin file.template.
func (m *fileModule) template(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var src, dst, owner string
	var values *starlark.Dict
	mode := 0o644
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "dst", &dst, "values", &values, "mode?", &mode, "owner?", &owner); err != nil {
		return nil, err
	}
	text, err := m.h.ReadFile(src)
	if err != nil {
		return nil, wrap(b, err)
	}
	out, err := renderTemplate(src, text, values)
	if err != nil {
		return nil, wrap(b, err)
	}
	return m.writeFile(thread, b, dst, out, mode, owner)
}

// isTemplateKey: letters, digits, '_', '-' and '.', not empty.
func isTemplateKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ---- log, progress, fail ----

// newLogModule: log.info(msg), log.warn(msg), log.error(msg), each logged
// with the script position of the call.
func newLogModule(log *slog.Logger) *starlarkstruct.Module {
	m := &logModule{log: log}
	return module("log", starlark.StringDict{
		"info":  starlark.NewBuiltin("log.info", m.info),
		"warn":  starlark.NewBuiltin("log.warn", m.warn),
		"error": starlark.NewBuiltin("log.error", m.error),
	})
}

// info is the builtin log.info(msg).
func (m *logModule) info(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return m.at(slog.LevelInfo, thread, b, args, kwargs)
}

// warn is the builtin log.warn(msg).
func (m *logModule) warn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return m.at(slog.LevelWarn, thread, b, args, kwargs)
}

// error is the builtin log.error(msg).
func (m *logModule) error(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return m.at(slog.LevelError, thread, b, args, kwargs)
}

// at logs msg at level, with the script position of the call.
func (m *logModule) at(level slog.Level, thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg); err != nil {
		return nil, err
	}
	text, ok := starlark.AsString(msg)
	if !ok {
		text = msg.String()
	}
	m.log.Log(threadContext(thread), level, text, "pos", thread.CallFrame(1).Pos.String())
	return starlark.None, nil
}

// progressBuiltin: progress(percent, message). The message goes to the
// manager: it is redacted like a log line before the host sees it.
func progressBuiltin(h Host, log *slog.Logger, red *redact.Redactor) builtinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var percent int
		var message string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "percent", &percent, "message", &message); err != nil {
			return nil, err
		}
		if percent < 0 || percent > 100 {
			return nil, fmt.Errorf("%s: percent %d is not between 0 and 100", b.Name(), percent)
		}
		log.Info("progress", "percent", percent, "message", message, "pos", thread.CallFrame(1).Pos.String())
		h.Progress(percent, red.String(message))
		return starlark.None, nil
	}
}

// FailError is the error of fail(): the script's own reason, and whether
// the manager should try the deployment again.
type FailError struct {
	Message string
	Retry   bool
}

func (e *FailError) Error() string { return "fail: " + e.Message }

// failBuiltin: fail(message, retry=False). Like Starlark's own fail, the
// message may be any value (it is str()-ed).
func failBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	retry := false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "message", &msg, "retry?", &retry); err != nil {
		return nil, err
	}
	text, ok := starlark.AsString(msg)
	if !ok {
		text = msg.String()
	}
	return nil, &FailError{Message: text, Retry: retry}
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
