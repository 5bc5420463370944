package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func runDescriptor(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := newEnvDescriptorCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	return out.String(), err
}

func TestEnvDescriptor(t *testing.T) {
	out, err := runDescriptor("--prop-default", "ovfinit.ssh.port=2200")
	if err != nil {
		t.Fatalf("env descriptor: %v", err)
	}
	for _, want := range []string{`<ovf:ProductSection`, `xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"`, `ovf:key="ovfinit.ssh.port" ovf:type="sint32" ovf:value="2200"`, `ovf:key="hostname"`} {
		if !strings.Contains(out, want) {
			t.Errorf("env descriptor output lacks %s:\n%s", want, out)
		}
	}
	for _, bad := range [][]string{{"--prop-default", "nokey"}, {"--prop-default", "ovfinit.ssh.port=x"}, {"--prop-default", "bogus=1"}} {
		_, err := runDescriptor(bad...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "--prop-default") {
			t.Errorf("env descriptor %v = %v, want a usage error naming --prop-default", bad, err)
		}
	}
}
