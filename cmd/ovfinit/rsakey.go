package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/sshd"
)

// rsaKeyArg is the hidden helper that makes the RSA host key of `ovfinit
// run` and `ovfinit sshd`.
const rsaKeyArg = "rsa-host-key"

// newRSAKeyCmd is the hidden helper: it lowers its own CPU priority as far
// as it goes, makes an RSA host key and writes it, PEM, to standard
// output, which is a pipe to its parent (never a file, never a log).
func newRSAKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:    rsaKeyArg,
		Short:  "Print a new RSA host key (run by ovfinit run and sshd, at the lowest CPU priority)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lowestPriority(); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: lowering the CPU priority: %w", rsaKeyArg, err)}
			}
			k, err := rsa.GenerateKey(rand.Reader, sshd.RSABits)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", rsaKeyArg, err)}
			}
			block, err := gossh.MarshalPrivateKey(k, "")
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", rsaKeyArg, err)}
			}
			_, err = cmd.OutOrStdout().Write(pem.EncodeToMemory(block))
			return err
		},
	}
}

// rsaInChild is sshd.HostKeysConfig.GenerateRSA where lowestPriority
// works: the helper above, run from this binary. RSA generation takes
// seconds of an emulated CPU, and a machine's first boot made it right
// after the ready event, while the manager's first logins and the last
// events wanted the CPU (issue 20); at the lowest priority it takes what
// they leave. nil where the priority cannot be lowered: the key is made
// in the process, as before.
func rsaInChild(log *slog.Logger) func(context.Context) (crypto.Signer, error) {
	if !canLowerPriority {
		return nil
	}
	return func(ctx context.Context) (crypto.Signer, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return rsaFromHelper(ctx, cmdrun.Exec{Log: log}, exe)
	}
}

// rsaFromHelper runs exe's helper and reads its key.
func rsaFromHelper(ctx context.Context, run cmdrun.Runner, exe string) (crypto.Signer, error) {
	res, err := run.Run(ctx, cmdrun.Cmd{Argv: []string{exe, rsaKeyArg}})
	if err != nil {
		return nil, err
	}
	return parseRSAKey(res.Stdout)
}

// parseRSAKey reads the helper's output: one PEM private key, RSA.
func parseRSAKey(out []byte) (crypto.Signer, error) {
	k, err := gossh.ParseRawPrivateKey(out)
	if err != nil {
		return nil, fmt.Errorf("%s: its output is not a private key: %w", rsaKeyArg, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New(rsaKeyArg + ": its output is not an RSA key")
	}
	return rk, nil
}
