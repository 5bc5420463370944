package ovfenv

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(kv ...string) *Environment {
	e := &Environment{}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Properties = append(e.Properties, Property{Key: kv[i], Value: kv[i+1], Line: 10 + i/2})
	}
	return e
}

// TestTypedGetters: unset is the table's default; a set value is parsed by
// the key's type and range, and a bad one is a *PropertyError naming the
// key and its line, with the default returned.
func TestTypedGetters(t *testing.T) {
	tests := []struct {
		name    string
		env     *Environment
		get     func(*Environment) (any, error)
		want    any
		wantErr string
	}{
		{"int unset is default", envOf(), func(e *Environment) (any, error) { return e.Int(KeySSHPort) }, 22, ""},
		{"int null is default", envOf(KeySSHPort.Name, "null"), func(e *Environment) (any, error) { return e.Int(KeySSHPort) }, 22, ""},
		{"int set", envOf(KeySSHPort.Name, " 2222 "), func(e *Environment) (any, error) { return e.Int(KeySSHPort) }, 2222, ""},
		{"int guestinfo prefix", envOf("guestinfo."+KeySSHPort.Name, "2200"), func(e *Environment) (any, error) { return e.Int(KeySSHPort) }, 2200, ""},
		{"int above range", envOf(KeySSHPort.Name, "70000"), func(e *Environment) (any, error) { return e.Int(KeySSHPort) }, 22,
			`property ovfinit.ssh.port (ovf-env.xml line 10): want a whole number from 1 to 65535, got "70000"`},
		{"int below open range", envOf(KeyAttempt.Name, "0"), func(e *Environment) (any, error) { return e.Int(KeyAttempt) }, 1, "from 1 up"},
		{"int not a number", envOf(KeyUserUID.Name, "x"), func(e *Environment) (any, error) { return e.Int(KeyUserUID) }, 0, "property ovfinit.user.uid"},
		{"int no default", envOf(), func(e *Environment) (any, error) { return e.Int(KeyUserUID) }, 0, ""},
		{"seconds", envOf(KeySSHLoginGraceTime.Name, "30"), func(e *Environment) (any, error) { return e.Seconds(KeySSHLoginGraceTime) }, 30 * time.Second, ""},
		{"seconds default", envOf(), func(e *Environment) (any, error) { return e.Seconds(KeySSHKeepaliveInterval) }, time.Minute, ""},
		{"bool yes", envOf(KeyUserAdmin.Name, "Yes"), func(e *Environment) (any, error) { return e.Bool(KeyUserAdmin) }, true, ""},
		{"bool bad", envOf(KeyUserAdmin.Name, "maybe"), func(e *Environment) (any, error) { return e.Bool(KeyUserAdmin) }, false, "property ovfinit.user.admin (ovf-env.xml line 10)"},
		{"enum alias", envOf(KeyNetFallback.Name, "DHCP4"), func(e *Environment) (any, error) { return e.Enum(KeyNetFallback) }, "dhcp", ""},
		{"enum default", envOf(), func(e *Environment) (any, error) { return e.Enum(KeyNetFallback) }, "dhcp", ""},
		{"enum bad", envOf(KeyNetFallback.Name, "static"), func(e *Environment) (any, error) { return e.Enum(KeyNetFallback) }, "dhcp",
			`property ovfinit.net.fallback (ovf-env.xml line 10): want dhcp or off, got "static"`},
		{"text default not set", envOf(), func(e *Environment) (any, error) {
			v, set := e.Text(KeyUserShell)
			return v + "|" + map[bool]string{true: "set"}[set], nil
		}, "/bin/sh|", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get(tt.env)
			if got != tt.want {
				t.Errorf("getter = %v, want %v", got, tt.want)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("getter error = %v, want none", err)
				}
				return
			}
			var pe *PropertyError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("getter error = %v, want a *PropertyError containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestKeyTableConsistent: every key is in the table once, every default
// parses by its own key's type and range.
func TestKeyTableConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys() {
		if seen[k.Name] {
			t.Errorf("key %s is in the table twice", k.Name)
		}
		seen[k.Name] = true
		if k.Default == "" {
			continue
		}
		var err error
		switch {
		case k.Type == TypeInt:
			_, err = k.ParseInt(k.Default)
		case k.Type == TypeBool:
			_, err = ParseBool(k.Default)
		case k.Choices != nil:
			_, err = k.ParseEnum(k.Default)
		}
		if err != nil {
			t.Errorf("key %s: default %q does not parse: %v", k.Name, k.Default, err)
		}
	}
	if len(seen) < 60 {
		t.Errorf("Keys() has %d keys; the table is not complete at first use", len(seen))
	}
	for _, k := range []Key{KeySSHPort, KeyNetworkConfig, KeyCallbackClientKey, NetKey(3, "mtu")} {
		if got, ok := LookupKey(k.Name); !ok || got.Name != k.Name || got.Type != k.Type {
			t.Errorf("LookupKey(%s) = %+v, %v; want the table's entry", k.Name, got, ok)
		}
	}
}

func TestSplitList(t *testing.T) {
	words := Key{Name: "w", Type: TypeList, Split: SplitWords}
	lines := Key{Name: "l", Type: TypeList}
	for _, c := range []struct {
		k    Key
		v    string
		want []string
	}{
		{words, "a,b c\td\r\ne,,", []string{"a", "b", "c", "d", "e"}},
		{words, " , ", nil},
		{lines, "ssh-ed25519 AAAA x\n\n# comment\n  ssh-rsa BBBB y  \r\n", []string{"ssh-ed25519 AAAA x", "ssh-rsa BBBB y"}},
	} {
		if got := c.k.SplitList(c.v); !slices.Equal(got, c.want) {
			t.Errorf("%s.SplitList(%q) = %q, want %q", c.k.Name, c.v, got, c.want)
		}
	}
	env := &Environment{Properties: []Property{{Key: KeyUserGroups.Name, Value: "wheel, docker\nvideo"}}}
	if got, set := env.List(KeyUserGroups); !set || !slices.Equal(got, []string{"wheel", "docker", "video"}) {
		t.Errorf("List(%s) = %q, %v", KeyUserGroups.Name, got, set)
	}
	if got, set := env.List(KeySSHCiphers); set || len(got) != 2 {
		t.Errorf("List(%s) unset = %q, %v; want the default's two ciphers", KeySSHCiphers.Name, got, set)
	}
}

func TestSetUnderAndLater(t *testing.T) {
	env := &Environment{Properties: []Property{
		{Key: "local-hostname", Value: "a"},
		{Key: "guestinfo.ovfinit.user.uid", Value: "1001"},
		{Key: "hostname", Value: "b"},
		{Key: "ovfinit.username", Value: "x"}, // not under ovfinit.user
		{Key: "ovfinit.ssh.port", Value: "null"},
	}}
	if !env.SetUnder(KeyUser) {
		t.Errorf("SetUnder(%s) = false, want true (ovfinit.user.uid)", KeyUser.Name)
	}
	if env.SetUnder(KeySSHPort) {
		t.Errorf("SetUnder(%s) = true for a null value", KeySSHPort.Name)
	}
	if (&Environment{Properties: []Property{{Key: "ovfinit.username", Value: "x"}}}).SetUnder(KeyUser) {
		t.Errorf("SetUnder(%s) = true for ovfinit.username", KeyUser.Name)
	}
	last, others, ok := env.Later(KeyHostname, KeyLocalHostname)
	if !ok || last.Name != "hostname" || len(others) != 1 || others[0].Name != "local-hostname" {
		t.Errorf("Later(hostname, local-hostname) = %s, %v, %v; want hostname, [local-hostname]", last.Name, others, ok)
	}
	env.Properties = append(env.Properties, Property{Key: "local-hostname", Value: "c"})
	if last, others, ok = env.Later(KeyHostname, KeyLocalHostname); !ok || last.Name != "local-hostname" || len(others) != 1 {
		t.Errorf("Later() after a second local-hostname = %s, %v, %v; want local-hostname", last.Name, others, ok)
	}
	if _, _, ok := env.Later(KeySSHPort); ok {
		t.Errorf("Later(a null key) ok = true")
	}
}
