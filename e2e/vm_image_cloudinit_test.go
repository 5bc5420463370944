package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// TestCloudInitEnvImage boots the Debian 12 and 13 images with
// environments written for cloud-init, unchanged: no ovfinit.* property,
// no callback. What cloud-init would do must happen: the image's default
// user (debian) gets the password and public-keys, the host name is set,
// the NIC comes up by DHCP (network-config's, or the fallback NIC's when
// there is none; dhclient on 12, dhcpcd on 13), the #! user-data script
// runs, the boot is not degraded.
//
//  1. cloud-init's own OVF example (ovfenv/testdata/01-cloud-init-doc-
//     example.xml, from cloud-init's doc/sources/ovf): seedfrom (not
//     fetched: a warning), public-keys, hostname, a #!/bin/sh user-data,
//     password, network-config with DHCP on eth*;
//  2. the environments of cloud-init's unit tests (tests/unittests/sources/
//     test_ovf.py, fill_properties over OVF_ENV_CONTENT): a new instance
//     id with user-data, password and nothing else; no network-config, so
//     the NIC is cloud-init's fallback NIC, by DHCP;
//  3. the same with its static network-config on eth*.
func TestCloudInitEnvImage(t *testing.T) { forEachSuite(t, testCloudInitEnvImage) }

func testCloudInitEnvImage(t *testing.T, suite string) {
	h := newImageHarness(t, suite)

	// 1. cloud-init's example.
	example, err := os.ReadFile(filepath.Join("..", "ovfenv", "testdata", "01-cloud-init-doc-example.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m := h.bootCloudInitEnv(t, "example", example)
	c := dialPassword(t, m, "debian", "passw0rd", imageBootTimeout)
	checkNotDegraded(t, c)
	checkCloudInitGuest(t, m, c, "ubuntuhost")
	checkDHCPClientOutsideUnit(t, c)
	if out := mustSSH(t, c, "cat ~/.ssh/authorized_keys"); !strings.Contains(out, "smoser@brickies") {
		t.Errorf("~debian/.ssh/authorized_keys = %q, want the example's public-keys", out)
	}
	if !strings.Contains(strings.Join(m.Serial(), "\n"), "property seedfrom is not supported") {
		t.Errorf("seedfrom was not reported on the console")
	}
	c.Close()
	h.shutdown(t, m)

	// 2. cloud-init's unit-test environment, on the same disk: a new
	// instance.
	const hello = "#!/bin/sh\necho hello world\n"
	env := fmt.Sprintf(cloudInitTestEnv, "\n        "+strings.Join([]string{
		`<Property oe:key="user-data" oe:value="` + base64.StdEncoding.EncodeToString([]byte(hello)) + `"/>`,
		`<Property oe:key="password" oe:value="passw0rd"/>`,
		`<Property oe:key="instance-id" oe:value="inst-001"/>`,
	}, "\n        "))
	m = h.bootCloudInitEnv(t, "unittest", []byte(env))
	c = dialPassword(t, m, "debian", "passw0rd", imageBootTimeout)
	checkNotDegraded(t, c)
	checkCloudInitGuest(t, m, c, "ubuntuhost")
	if !strings.Contains(strings.Join(m.Serial(), "\n"), "msg=ready instance=inst-001") {
		t.Errorf("the console lacks ready for instance inst-001")
	}
	c.Close()
	h.shutdown(t, m)

	// 3. Its network-config test (test_with_b64_network_config_enable_
	// read_network): a static address on eth* the host cannot reach
	// through qemu's user network, so the console shows it: the address
	// applied and ready.
	const netcfg = `network:
   version: 2
   ethernets:
      nics:
         nameservers:
            addresses:
            - 127.0.0.53
            search:
            - eng.vmware.com
            - vmware.com
         match:
            name: eth*
         gateway4: 10.10.10.253
         dhcp4: false
         addresses:
         - 10.10.10.1/24
`
	env = fmt.Sprintf(cloudInitTestEnv, "\n        "+strings.Join([]string{
		`<Property oe:key="network-config" oe:value="` + base64.StdEncoding.EncodeToString([]byte(netcfg)) + `"/>`,
		`<Property oe:key="password" oe:value="passw0rd"/>`,
		`<Property oe:key="instance-id" oe:value="inst-001"/>`,
	}, "\n        "))
	m = h.bootCloudInitEnv(t, "netcfg", []byte(env))
	for _, want := range []string{`op="addr replace 10.10.10.1/24 dev eth0"`, `op="route replace default via 10.10.10.253 dev eth0"`, "msg=ready instance=inst-001"} {
		if !eventually(imageBootTimeout, func() bool { return strings.Contains(strings.Join(m.Serial(), "\n"), want) }) {
			t.Errorf("the serial console lacks %q", want)
		}
	}
	h.shutdown(t, m)
}

// cloudInitTestEnv is cloud-init's OVF_ENV_CONTENT (test_ovf.py) with %s
// for the properties, as its fill_properties writes them.
const cloudInitTestEnv = `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
  xsi:schemaLocation="http://schemas.dmtf.org/ovf/environment/1 ../dsp8027.xsd"
  oe:id="WebTier">
  <!-- Information about hypervisor platform -->
  <oe:PlatformSection>
      <Kind>ESX Server</Kind>
      <Version>3.0.1</Version>
      <Vendor>VMware, Inc.</Vendor>
      <Locale>en_US</Locale>
  </oe:PlatformSection>
  <!--- Properties defined for this virtual machine -->
  <PropertySection>%s
  </PropertySection>
</Environment>
`

// bootCloudInitEnv boots the image disk with env on the CD-ROM. There is
// no callback URL: the caller waits for SSH. The kernel names the NIC
// eth0 (net.ifnames=0), as in an image made for environments whose
// network-config matches eth*, cloud-init's example among them: on ens2
// their match selects no NIC, for cloud-init as for ovfinit.
func (h *imageHarness) bootCloudInitEnv(t *testing.T, name string, env []byte) *vm.Machine {
	t.Helper()
	return h.startImage(t, h.rawISO(t, name, env), func(o *vm.Options) { o.Cmdline += " net.ifnames=0" })
}

// checkCloudInitGuest checks, as the default user: the user and its
// cloud-init groups (sudo, adm), the host name, an address by DHCP on the
// NIC, ovfinit ready; and on the console that the user-data script ran
// (the runcmd step finished: the script exited 0).
func checkCloudInitGuest(t *testing.T, m *vm.Machine, c *ssh.Client, hostname string) {
	t.Helper()
	for _, tc := range []struct{ cmd, want string }{
		{"id -un", "debian"},
		{"hostname", hostname},
		{"id -Gn | tr ' ' '\\n' | grep -xE 'sudo|adm' | sort | tr '\\n' ' '", "adm sudo"},
	} {
		if out, err := runSSH(c, tc.cmd); err != nil || strings.TrimSpace(out) != tc.want {
			t.Errorf("ssh %q = %q, %v; want %q", tc.cmd, strings.TrimSpace(out), err, tc.want)
		}
	}
	if out := mustSSH(t, c, "ip -4 addr show dev eth0 scope global"); !strings.Contains(out, "inet 10.0.2.15/24") {
		t.Errorf("ip -4 addr show dev eth0 = %q, want 10.0.2.15/24 from qemu's DHCP server", out)
	}
	if !strings.Contains(strings.Join(m.Serial(), "\n"), `msg="step finished" step=runcmd`) {
		t.Errorf("the console lacks the runcmd step's finish: the user-data script did not run")
	}
	if out, _ := runSSH(c, "/usr/sbin/ovfinit status; echo rc=$?"); !strings.Contains(out, "ready") || !strings.HasSuffix(strings.TrimSpace(out), "rc=0") {
		t.Errorf("ovfinit status = %q, want ready", out)
	}
}

// checkDHCPClientOutsideUnit checks that the image's DHCP client, which
// takes ovfinit's lease over, does not run in ovfinit's unit: systemd
// kills what is left there when ovfinit exits (once OpenSSH serves SSH),
// and the lease would then never be renewed.
func checkDHCPClientOutsideUnit(t *testing.T, c *ssh.Client) {
	t.Helper()
	var cg string
	if !eventually(time.Minute, func() bool {
		cg, _ = runSSH(c, "for p in $(pgrep -x dhclient; pgrep -x dhcpcd); do cat /proc/$p/cgroup; done")
		return strings.TrimSpace(cg) != ""
	}) {
		t.Errorf("no dhclient or dhcpcd runs: the image's DHCP client never took the lease over")
		return
	}
	if strings.Contains(cg, "ovfinit.service") {
		t.Errorf("the image's DHCP client runs in ovfinit's unit:\n%s\nsystemd kills it when ovfinit exits", strings.TrimSpace(cg))
	}
}

// dialPassword logs in as user with a password, retrying until timeout
// or until qemu exits.
func dialPassword(t *testing.T, m *vm.Machine, user, password string, timeout time.Duration) *ssh.Client {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := ssh.Dial("tcp", m.SSHAddr(), &ssh.ClientConfig{
			User:            user,
			Auth:            []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			Timeout:         20 * time.Second,
		})
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("SSH to %s as %s with a password: %v (retried for %v)", m.SSHAddr(), user, err, timeout)
		}
		select {
		case <-m.Done():
			t.Fatalf("SSH to %s as %s: qemu exited (%v); last error %v", m.SSHAddr(), user, m.ExitErr(), err)
		case <-time.After(time.Second):
		}
	}
}
