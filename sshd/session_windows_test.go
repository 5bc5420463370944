package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/wine"
	gossh "golang.org/x/crypto/ssh"
)

// A session on Windows with the server's default user lookup: the server's
// own account logs in as "user", ".\user", "MACHINE\user" and
// "user@MACHINE" (issue 17 bug 4: the DOMAIN forms were refused), and the
// command runs through cmd.exe. Served on 127.0.0.1:0, as every sshd test.
func TestWindowsLoginForms(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	name := me.Username
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	machine, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := gossh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	var lookup func(string) (*User, error) // nil: the server's default, through os/user
	if wine.Detected() {
		// Wine's NetUserGetInfo answers NERR_InternalError (2140) for
		// every name, so os/user.Lookup fails: the default lookup is
		// replaced by the same mapping over a user Wine cannot look up.
		t.Log("Wine lacks NetUserGetInfo (os/user.Lookup: winapi error #2140): the default lookup's account check is not run")
		lookup = func(login string) (*User, error) {
			n, _, err := LocalAccountName(login)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnknownUser, err)
			}
			return &User{Name: n, Home: t.TempDir()}, nil
		}
	}
	srv, err := New(Config{
		LookupUser: lookup,
		HostKeys:   []gossh.Signer{hk},
		Log:        slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		AuthorizedKeys: func(u *User) ([]AuthorizedKey, error) {
			asked = append(asked, u.Name)
			if !strings.EqualFold(u.Name, name) {
				return nil, nil
			}
			return plainKeys(client.PublicKey()), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve() = %v, want ErrServerClosed", err)
		}
	})
	for _, login := range []string{name, `.\` + name, machine + `\` + name, name + "@" + machine} {
		t.Run(login, func(t *testing.T) {
			c, err := gossh.Dial("tcp", l.Addr().String(), &gossh.ClientConfig{
				User:            login,
				Auth:            []gossh.AuthMethod{gossh.PublicKeys(client)},
				HostKeyCallback: gossh.FixedHostKey(hk.PublicKey()),
				Timeout:         10 * time.Second,
			})
			if err != nil {
				t.Fatalf("login as %q = %v, want it mapped to the local %q", login, err, name)
			}
			defer c.Close()
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out, err := s.CombinedOutput("echo hello-from-cmd")
			if err != nil || strings.TrimSpace(string(out)) != "hello-from-cmd" {
				t.Errorf("exec echo as %q = %q, %v; want hello-from-cmd (cmd.exe /C)", login, out, err)
			}
		})
	}
	for _, a := range asked {
		if !strings.EqualFold(a, name) {
			t.Errorf("keys asked for %q: the login's domain reached the account lookup", a)
		}
	}
}

// The default lookup maps every login form to the local account.
func TestDefaultLookupUserForms(t *testing.T) {
	wine.SkipMissing(t, "NetUserGetInfo", "os/user.Lookup fails with winapi error #2140 for every name")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	name := me.Username[strings.LastIndexByte(me.Username, '\\')+1:]
	machine, _ := os.Hostname()
	for _, login := range []string{`.\` + name, machine + `\` + name, name + "@" + machine} {
		u, err := defaultLookupUser(login)
		if err != nil || !strings.EqualFold(u.Name, name) {
			t.Errorf("defaultLookupUser(%q) = %+v, %v; want the local %q", login, u, err, name)
		}
	}
	if _, err := defaultLookupUser(`\` + name); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("defaultLookupUser(%q) = %v, want ErrUnknownUser", `\`+name, err)
	}
}
