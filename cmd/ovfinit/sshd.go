package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/internal/memtrim"
	"github.com/ovfinit/ovfinit/sshd"
)

func newSSHDCmd() *cobra.Command {
	var (
		listen, keysFile, stateDir, userCA, only, level, ciphers, permitRoot string
		tcpForwarding, agentForwarding                                       bool
	)
	var (
		maxStartups      string
		perSourceStartup int
	)
	cmd := &cobra.Command{
		Use:   "sshd --listen ADDR --authorized-keys FILE [--state-dir DIR]",
		Short: "Run only the embedded SSH server, in the foreground",
		Long: `Sshd runs ovfinit's SSH server alone, without the first-boot pipeline: for
images that want only the server, for debugging, and for benchmarks.

The keys in --authorized-keys log in as any account the server may switch to
(every local account when run as root, else only the account it runs as),
besides each account's own ~/.ssh/authorized_keys; --user limits logins to one
account. Host keys (ed25519, ECDSA, and RSA made in the background) are kept in
--state-dir and reused; their fingerprints are printed on standard output.
SFTP (and scp) runs this binary's hidden "sftp-server" command as the user.

It stops on SIGTERM or SIGINT, giving open sessions 10 seconds.
Exit status: 0 after a clean stop, 1 if the server could not start, 2 on
usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), level)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if keysFile == "" && userCA == "" {
				return &exitError{code: exitUsage, err: errors.New("--authorized-keys (or --user-ca) is required: without it nobody could log in")}
			}
			rootLogin, err := sshd.ParseRootLogin(permitRoot)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--permit-root-login: %w", err)}
			}
			cfg := sshd.Config{Addr: listen, Log: log,
				AllowTCPForwarding: tcpForwarding, AllowAgentForwarding: agentForwarding,
				PermitRootLogin: rootLogin,
				// Expired accounts and passwords, as OpenSSH with PAM.
				Accounts: sshd.ShadowAccounts("/etc/shadow")}
			if keysFile != "" {
				keys, err := readAuthorizedKeysFile(keysFile)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				cfg.StoredKeys = func(string) ([]sshd.AuthorizedKey, error) { return keys, nil }
			}
			if userCA != "" {
				cas, err := readKeysFile(userCA, log)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--user-ca: %w", err)}
				}
				cfg.UserCAKeys = cas
			}
			if maxStartups != "" {
				l, err := sshd.ParseMaxStartups(maxStartups)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--max-startups: %w", err)}
				}
				cfg.Limits.Startups = l
			}
			cfg.Limits.Startups.PerSource = perSourceStartup
			if ciphers != "" {
				cfg.Ciphers = strings.Split(ciphers, ",")
			}
			if only != "" {
				cfg.LookupUser = onlyUser(only)
			}
			return serveSSHD(cmd.Context(), cfg, stateDir, log, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":22", "address to listen on, host:port")
	f.StringVar(&keysFile, "authorized-keys", "", "authorized_keys file whose keys may log in (see above)")
	f.StringVar(&stateDir, "state-dir", defaultStateDir, "directory for the host keys (created 0700; keys 0600)")
	f.StringVar(&userCA, "user-ca", "", "file of CA public keys whose user certificates may log in")
	f.StringVar(&only, "user", "", "allow logins only as this account")
	f.StringVar(&ciphers, "ciphers", "", "comma-separated ciphers to offer (default: "+strings.Join(sshd.DefaultCiphers, ",")+")")
	f.BoolVar(&tcpForwarding, "allow-tcp-forwarding", false, "allow local port forwarding (ssh -L)")
	f.BoolVar(&agentForwarding, "allow-agent-forwarding", false, "allow agent forwarding (ssh -A)")
	f.StringVar(&permitRoot, "permit-root-login", string(sshd.RootLoginProhibitPassword), "how root may log in: yes, prohibit-password, forced-commands-only or no")
	f.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&maxStartups, "max-startups", "", "unauthenticated connections, start:rate:full as sshd_config's MaxStartups (default 10:30:100)")
	f.IntVar(&perSourceStartup, "per-source-max-startups", 0, "unauthenticated connections per source address (default 10)")
	return cmd
}

// newSFTPServerCmd is the hidden helper the SSH server runs, as the logged-in
// user, for each SFTP session: SFTP on standard input and output.
func newSFTPServerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    sshd.SFTPServerArg,
		Short:  "Serve SFTP on standard input and output (run by the SSH server)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sshd.ServeSFTP(os.Stdin, os.Stdout); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("sftp-server: %w", err)}
			}
			return nil
		},
	}
}

func readKeysFile(path string, log *slog.Logger) ([]gossh.PublicKey, error) {
	data, err := fsutil.ReadFileLimit(path, 1<<20)
	if err != nil {
		return nil, err
	}
	var keys []gossh.PublicKey
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, _, opts, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not an SSH public key", path, n+1)
		}
		if len(opts) > 0 {
			log.Warn("key options are not supported; key ignored", "where", fmt.Sprintf("%s:%d", path, n+1))
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no usable keys", path)
	}
	return keys, nil
}

// readAuthorizedKeysFile reads --authorized-keys: keys with their options,
// which the server enforces (docs/ssh.md). A line that is not a key is an
// error naming it.
func readAuthorizedKeysFile(path string) ([]sshd.AuthorizedKey, error) {
	data, err := fsutil.ReadFileLimit(path, 1<<20)
	if err != nil {
		return nil, err
	}
	keys, skipped := sshd.ParseAuthorizedKeys(data, path)
	if len(skipped) > 0 {
		return nil, errors.New(strings.Join(skipped, "; "))
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no usable keys", path)
	}
	return keys, nil
}

// onlyUser resolves only the named account, refusing all others.
func onlyUser(name string) func(string) (*sshd.User, error) {
	return func(n string) (*sshd.User, error) {
		if n != name {
			return nil, fmt.Errorf("user %q: only %q may log in (--user): %w", n, name, sshd.ErrUnknownUser)
		}
		return sshd.LookupUser(n)
	}
}

func serveSSHD(ctx context.Context, cfg sshd.Config, stateDir string, log *slog.Logger, out io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("--state-dir: %w", err)}
	}
	keys := sshd.NewHostKeys(sshd.HostKeysConfig{Root: stateDir, Dir: "/", RSA: true, GenerateRSA: rsaInChild(log), Log: log})
	if err := keys.Load(); err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("--state-dir %s: %w", stateDir, err)}
	}
	cfg.HostKeys = keys.Signers()
	if argv, err := sshd.SFTPCommand(); err == nil {
		cfg.SFTPCommand = argv
	} else {
		log.Warn("SFTP disabled", "err", err)
	}
	// Give memory back whenever nobody is connected (docs/performance.md).
	cfg.OnIdle = memtrim.Func(log)
	stopPolicy := serverPolicy(&cfg) // GC and GOMAXPROCS (procs.go)
	defer stopPolicy()
	srv, err := sshd.New(cfg)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("--listen %s: %w", cfg.Addr, err)}
	}
	// RSA in the background: the server is up meanwhile with the others.
	keys.Follow(cfg.HostKeys, srv.AddHostKey)
	keys.Ready()
	go func() {
		pubs := keys.Wait(ctx)
		host, _ := os.Hostname()
		fmt.Fprint(out, sshd.FingerprintBlock(pubs, "root@"+host))
		// Start-up is over: give back RSA generation's garbage and the
		// pages of the binary that start-up touched (docs/performance.md).
		memtrim.Func(log)()
	}()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return &exitError{code: exitFailed, err: err}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	<-done
	return nil
}
