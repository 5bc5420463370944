package scripts

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// newModules returns the predeclared modules of one run.
func newModules(env *Env, root *os.Root) starlark.StringDict {
	return starlark.StringDict{
		"ovf":  newOVFModule(env),
		"file": newFileModule(root),
		"log":  newLogModule(env.Log),
	}
}

// newOVFModule: ovf.property(key, default=None).
func newOVFModule(env *Env) *starlarkstruct.Module {
	property := func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key string
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "default?", &def); err != nil {
			return nil, err
		}
		if env.Property != nil {
			if v, ok := env.Property(key); ok {
				return starlark.String(v), nil
			}
		}
		return def, nil
	}
	return &starlarkstruct.Module{Name: "ovf", Members: starlark.StringDict{
		"property": starlark.NewBuiltin("ovf.property", property),
	}}
}

// maxReadSize bounds file.read: scripts edit configuration files, not images.
const maxReadSize = 16 << 20

// newFileModule: file.read(path), file.write(path, content, mode=0o644).
func newFileModule(root *os.Root) *starlarkstruct.Module {
	read := func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
			return nil, err
		}
		if err := threadContext(thread).Err(); err != nil {
			return nil, err
		}
		rel, err := localPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		data, err := readFile(root, rel, maxReadSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.String(data), nil
	}
	write := func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		var content starlark.Value
		mode := 0o644
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "content", &content, "mode?", &mode); err != nil {
			return nil, err
		}
		var data []byte
		switch c := content.(type) {
		case starlark.String:
			data = []byte(c)
		case starlark.Bytes:
			data = []byte(c)
		default:
			return nil, fmt.Errorf("%s: for parameter content: got %s, want string or bytes", b.Name(), content.Type())
		}
		if mode < 0 || mode > 0o777 {
			return nil, fmt.Errorf("%s: mode %#o is not between 0 and 0o777", b.Name(), mode)
		}
		if err := threadContext(thread).Err(); err != nil {
			return nil, err
		}
		rel, err := localPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if err := writeFileAtomic(root, rel, data, fs.FileMode(mode)); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.None, nil
	}
	return &starlarkstruct.Module{Name: "file", Members: starlark.StringDict{
		"read":  starlark.NewBuiltin("file.read", read),
		"write": starlark.NewBuiltin("file.write", write),
	}}
}

// newLogModule: log.info(msg), log.warn(msg), log.error(msg), each logged
// with the script position of the call.
func newLogModule(log *slog.Logger) *starlarkstruct.Module {
	at := func(level slog.Level) *starlark.Builtin {
		name := map[slog.Level]string{slog.LevelInfo: "log.info", slog.LevelWarn: "log.warn", slog.LevelError: "log.error"}[level]
		return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var msg starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg); err != nil {
				return nil, err
			}
			text, ok := starlark.AsString(msg)
			if !ok {
				text = msg.String()
			}
			log.Log(threadContext(thread), level, text, "pos", thread.CallFrame(1).Pos.String())
			return starlark.None, nil
		})
	}
	return &starlarkstruct.Module{Name: "log", Members: starlark.StringDict{
		"info":  at(slog.LevelInfo),
		"warn":  at(slog.LevelWarn),
		"error": at(slog.LevelError),
	}}
}
