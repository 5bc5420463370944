package cmdrun

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"useradd", "-m", "bob"}, "useradd -m bob"},
		{[]string{"sh", "-c", "echo hi; exit 2"}, `sh -c "echo hi; exit 2"`},
		{[]string{"netsh", "name=eth 0", ""}, `netsh "name=eth 0" ""`},
		{[]string{"x", "a\nb", "tab\there", `q"uote`}, `x "a\nb" "tab\there" "q\"uote"`},
		{[]string{"vmtoolsd", "--cmd", "info-get guestinfo.ovfEnv"}, `vmtoolsd --cmd "info-get guestinfo.ovfEnv"`},
	}
	for _, tt := range tests {
		if got := Quote(tt.argv); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

func TestTail(t *testing.T) {
	if got := Tail([]byte("  short\n"), 10); got != "short" {
		t.Errorf("Tail(short) = %q, want %q", got, "short")
	}
	if got := Tail([]byte("0123456789abcdef\n"), 4); got != "...cdef" {
		t.Errorf("Tail(long, 4) = %q, want %q", got, "...cdef")
	}
}

func TestFake(t *testing.T) {
	f := &Fake{Answers: map[string]func() ([]byte, error){
		"vmware-rpctool info-get guestinfo.ovfEnv": func() ([]byte, error) { return []byte("<xml/>"), nil },
		"modprobe qemu_fw_cfg":                     func() ([]byte, error) { return nil, errors.New("modprobe: FATAL: Module not found") },
	}}
	out, err := Output(t.Context(), f, "vmware-rpctool", "info-get guestinfo.ovfEnv")
	if err != nil || string(out) != "<xml/>" {
		t.Errorf("Output(vmware-rpctool) = %q, %v; want the answer", out, err)
	}
	if err := Run(t.Context(), f, "modprobe", "qemu_fw_cfg"); err == nil || !strings.Contains(err.Error(), "Module not found") {
		t.Errorf("Run(modprobe) = %v, want the answer's error", err)
	}
	if _, err := f.Run(t.Context(), Cmd{Argv: []string{"chpasswd", "-e"}, Stdin: []byte("bob:$6$x")}); err != nil {
		t.Errorf("Run(unknown) = %v, want success (Unknown is nil)", err)
	}
	want := []string{"vmware-rpctool info-get guestinfo.ovfEnv", "modprobe qemu_fw_cfg", "chpasswd -e"}
	if diff := cmp.Diff(want, f.Lines()); diff != "" {
		t.Errorf("Lines() (-want +got):\n%s", diff)
	}
	if got := string(f.Calls()[2].Stdin); got != "bob:$6$x" {
		t.Errorf("Calls()[2].Stdin = %q, want the input given", got)
	}

	f = &Fake{Unknown: NotFound}
	if err := Run(t.Context(), f, "VBoxControl", "--nologo"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Run(VBoxControl) with Unknown = NotFound: %v, want exec.ErrNotFound", err)
	}
}

func TestExecEmpty(t *testing.T) {
	if _, err := (Exec{}).Run(context.Background(), Cmd{}); err == nil {
		t.Error("Exec.Run(empty argv) = nil error, want one")
	}
}

func TestExecNotFound(t *testing.T) {
	res, err := (Exec{}).Run(t.Context(), Cmd{Argv: []string{"ovfinit-no-such-program", "x y"}})
	if !errors.Is(err, exec.ErrNotFound) || res.Code != -1 {
		t.Errorf("Exec.Run(missing) = %+v, %v; want code -1 and exec.ErrNotFound", res, err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), `ovfinit-no-such-program "x y": `) {
		t.Errorf("Exec.Run(missing) error = %q, want it to start with the quoted argv", err)
	}
}
