package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
)

func newScriptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "script",
		Short: "Check and try out Starlark customization scripts",
		Long: `Tools for script authors: check scripts for errors without running them, and
run one against a given OVF environment, for real or as a dry run that prints
every effect instead of doing it. docs/scripting.md describes the language
and the builtins.`,
	}
	cmd.AddCommand(newScriptCheckCmd(), newScriptRunCmd())
	return cmd
}

func newScriptCheckCmd() *cobra.Command {
	var d scripts.Dialect
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Parse and resolve scripts, reporting every error with its position",
		Long: `Check parses each FILE, checks its header (# frequency:, # optional:) and
resolves every name, without running anything. Each error is printed as
FILE:LINE:COL: MESSAGE on standard error.

Exit status: 0 when every file is fine, 1 when any has an error, 2 on a usage
error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, name := range args {
				src, err := os.ReadFile(name)
				if err == nil {
					err = scripts.Check(name, src, d)
				}
				if err != nil {
					bad++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
				}
			}
			if bad > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("%d of %d scripts have errors", bad, len(args))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&d.AllowWhile, "allow-while", false, "allow while loops and recursion (as ovfinit.script.allow-while=true does)")
	cmd.Flags().BoolVar(&d.HTTP, "http", false, "the http module exists (as ovfinit.script.http=true makes it); without it, http is undefined")
	return cmd
}

func newScriptRunCmd() *cobra.Command {
	var envFile, root, instanceID, level string
	var dryRun bool
	var env scripts.Env
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a script against an OVF environment, or print what it would do (--dry-run)",
		Long: `Run runs FILE as the agent would, with ovf.* reading the environment given
with --env (none: an empty one). load() finds modules in FILE's directory.

With --dry-run nothing is changed: every effect (a file written, appended,
removed, a directory made, a mode changed, a command run, progress) is printed
on standard output, one line each, and commands "succeed" with no output.
Reads (file.read, file.exists, host.*) see the machine under --root, and the
files the script wrote earlier in the same run. With --http the script has
the http module; a dry run prints its requests instead of sending them.

Without --dry-run and with a --root other than /, commands (exec.run,
exec.shell) are refused: they would run on this machine, not in the tree
under --root.

Logs (print, log.*, commands) go to standard error. A script error is printed
as FILE:LINE:COL: MESSAGE with the Starlark backtrace.

Exit status: 0 when the script finished, 1 when it failed (or the environment
could not be read), 2 on a usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), level)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			name := args[0]
			src, err := os.ReadFile(name)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			env.OVF = &ovfenv.Environment{}
			if envFile != "" {
				s, err := ovfenv.ReadFile(envFile)
				if err != nil {
					return &exitError{code: exitFailed, err: fmt.Errorf("--env: %w", err)}
				}
				if env.OVF, err = ovfenv.Parse(s.Data); err != nil {
					return &exitError{code: exitFailed, err: fmt.Errorf("--env %s: %w", envFile, err)}
				}
			}
			env.InstanceID = instanceID
			if env.InstanceID == "" {
				if v, ok := env.OVF.Property("instance-id"); ok {
					env.InstanceID = strings.TrimSpace(v)
				} else {
					env.InstanceID = env.OVF.ID
				}
			}
			for _, p := range env.OVF.Properties {
				if ovfenv.IsSecret(p.Key) && p.Value != "" {
					env.Secrets = append(env.Secrets, p.Value)
				}
			}
			live, err := scripts.NewLiveHost(root)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("--root: %w", err)}
			}
			defer live.Close()
			if abs, err := filepath.Abs(root); err == nil && filepath.Dir(abs) != abs {
				// A command would run on this machine, not in the tree
				// under --root: refuse it, as the agent does offline.
				live.ExecDisabled = "--root is not / (commands would run on this machine, not under " + root + ")"
			}
			out := cmd.OutOrStdout()
			if dryRun {
				env.Host = &scripts.DryRun{Base: live, Out: out}
			} else {
				live.OnProgress = func(percent int, message string) { fmt.Fprintf(out, "progress %d%% %q\n", percent, message) }
				env.Host = live
			}
			env.Log = log
			env.Library = os.DirFS(filepath.Dir(name))
			err = scripts.Run(cmd.Context(), name, src, env)
			var se *scripts.ScriptError
			if errors.As(err, &se) && se.Backtrace != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), strings.TrimSpace(se.Backtrace))
			}
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&envFile, "env", "", "the OVF environment (ovf-env.xml) the script reads with ovf.*; none: an empty one")
	f.BoolVar(&dryRun, "dry-run", false, "print every effect instead of doing it")
	f.StringVar(&root, "root", "/", "directory the script's paths are resolved in")
	f.StringVar(&instanceID, "instance-id", "", "ovf.instance_id (default: the instance-id property, else the Environment id)")
	f.Uint64Var(&env.MaxSteps, "max-steps", scripts.DefaultMaxSteps, "Starlark step limit")
	f.DurationVar(&env.Timeout, "timeout", scripts.DefaultTimeout, "wall-clock limit")
	f.BoolVar(&env.Dialect.AllowWhile, "allow-while", false, "allow while loops and recursion")
	f.BoolVar(&env.Dialect.HTTP, "http", false, "give the script the http module (as ovfinit.script.http=true does); with --dry-run requests are printed, not sent")
	f.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}
