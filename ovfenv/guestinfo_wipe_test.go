package ovfenv

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

func TestSecretGuestinfoKeys(t *testing.T) {
	extra := []Property{
		{Key: "ovfinit.user", Value: "alice"},
		{Key: "ovfinit.user.password", Value: "hunter2"},
		{Key: "ovfinit.callback.token", Value: "null"}, // unset: nothing to wipe
		{Key: "ovfinit.api.secret", Value: "s"},
	}
	for _, tc := range []struct {
		name string
		src  *Source
		want []string
	}{
		{"guestinfo", &Source{Transport: TransportGuestinfo, Extra: extra}, []string{"ovfinit.user.password", "ovfinit.api.secret"}},
		{"iso", &Source{Transport: TransportISO, Extra: extra}, nil},
		{"nil", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SecretGuestinfoKeys(tc.src)); diff != "" {
				t.Errorf("SecretGuestinfoKeys() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWipeGuestinfo(t *testing.T) {
	keys := []string{"ovfinit.user.password", "guestinfo.ovfinit.api.secret"}
	ok := func() ([]byte, error) { return nil, nil }
	fail := func() ([]byte, error) { return nil, errors.New("exit status 1: Permission denied") }
	t.Run("native", func(t *testing.T) {
		var set []string
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound}
		err := WipeGuestinfo(t.Context(), TransportOptions{Run: run, GuestinfoSet: func(k, v string) error {
			set = append(set, k+"="+v)
			return nil
		}}, keys)
		if err != nil {
			t.Fatalf("WipeGuestinfo() = %v", err)
		}
		want := []string{"guestinfo.ovfinit.user.password=", "guestinfo.ovfinit.user.password.encoding=", "guestinfo.ovfinit.api.secret=", "guestinfo.ovfinit.api.secret.encoding="}
		if diff := cmp.Diff(want, set); diff != "" {
			t.Errorf("native sets (-want +got):\n%s", diff)
		}
		if len(run.Lines()) != 0 {
			t.Errorf("ran %q, want no tools when the native channel works", run.Lines())
		}
	})
	t.Run("vmware-rpctool", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){}}
		for _, k := range []string{"guestinfo.ovfinit.user.password", "guestinfo.ovfinit.api.secret"} {
			run.Answers["vmware-rpctool info-set "+k+" "] = ok
			run.Answers["vmware-rpctool info-set "+k+".encoding "] = ok
		}
		err := WipeGuestinfo(t.Context(), TransportOptions{Run: run, GuestinfoSet: func(string, string) error { return errors.New("not VMware") }}, keys)
		if err != nil {
			t.Fatalf("WipeGuestinfo() = %v", err)
		}
		want := []string{
			"vmware-rpctool info-set guestinfo.ovfinit.user.password ",
			"vmware-rpctool info-set guestinfo.ovfinit.user.password.encoding ",
			"vmware-rpctool info-set guestinfo.ovfinit.api.secret ",
			"vmware-rpctool info-set guestinfo.ovfinit.api.secret.encoding ",
		}
		if diff := cmp.Diff(want, run.Lines()); diff != "" {
			t.Errorf("commands run (-want +got):\n%s", diff)
		}
	})
	t.Run("vmtoolsd", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){
			"vmtoolsd --cmd info-set guestinfo.ovfinit.user.password ":          ok,
			"vmtoolsd --cmd info-set guestinfo.ovfinit.user.password.encoding ": ok,
		}}
		err := WipeGuestinfo(t.Context(), TransportOptions{Run: run, GuestinfoSet: func(string, string) error { return errors.New("not VMware") }}, keys[:1])
		if err != nil {
			t.Fatalf("WipeGuestinfo() = %v", err)
		}
		if got := run.Lines()[len(run.Lines())-1]; got != "vmtoolsd --cmd info-set guestinfo.ovfinit.user.password.encoding " {
			t.Errorf("last command = %q, want the .encoding cleared through vmtoolsd", got)
		}
	})
	t.Run("refused", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){
			"vmware-rpctool info-set guestinfo.ovfinit.user.password ": fail,
		}}
		err := WipeGuestinfo(t.Context(), TransportOptions{Run: run, GuestinfoSet: func(string, string) error { return errors.New("not VMware") }}, keys[:1])
		if err == nil || !strings.Contains(err.Error(), "clearing guestinfo.ovfinit.user.password:") || !strings.Contains(err.Error(), "Permission denied") {
			t.Errorf("WipeGuestinfo() = %v, want an error naming the key and the channel's answer", err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("WipeGuestinfo() error holds a value: %v", err)
		}
	})
}
