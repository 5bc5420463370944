package agent

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cloudInitOVFEnv is the environment of cloud-init's OVF unit tests
// (tests/unittests/sources/test_ovf.py, OVF_ENV_CONTENT), with %s for the
// properties, which its fill_properties writes one a line like this.
const cloudInitOVFEnv = `<?xml version="1.0" encoding="UTF-8"?>
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
  <PropertySection>
%s  </PropertySection>
</Environment>
`

func fillProperties(props ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(props); i += 2 {
		fmt.Fprintf(&b, "        <Property oe:key=\"%s\" oe:value=\"%s\"/>\n", props[i], props[i+1])
	}
	return fmt.Sprintf(cloudInitOVFEnv, b.String())
}

// The network-config of test_ovf.py's network tests (the datasource tests
// have only vmware.com in search).
const cloudInitTestNetcfg = `network:
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

// TestCloudInitOVFTestEnvironments runs the whole pipeline on every
// environment of cloud-init's OVF unit tests (test_ovf.py: TestReadOvfEnv
// and TestDatasourceOVF), unchanged, on a machine whose one NIC is eth0
// (fakeNet), for each network manager an image may have, and checks what
// cloud-init 22.4.2 does with them: the boot reaches ready (but for
// the user-data that is not base64, which ovfinit refuses at validate); an
// environment without network-config gets cloud-init's fallback (DHCPv4 on
// eth0); one with the base64 network-config gets its static address,
// gateway and DNS on eth0 (match name eth*), live and in the image's own
// files. cloud-init's own OVF example, with DHCP on eth* in its
// network-config, configures eth0 by DHCP. Not what cloud-init does: a network-config in plain YAML
// (test_with_non_b64_network_config_enable_read_network), which cloud-init
// 22.4.2 ignores (it fails to base64-decode it), is applied by ovfinit, as
// docs/network.md says.
func TestCloudInitOVFTestEnvironments(t *testing.T) {
	fallback := []string{"link set eth0 up", "dhcp4 dev eth0"}
	static := []string{"link set eth0 up", "addr replace 10.10.10.1/24 dev eth0", "route replace default via 10.10.10.253 dev eth0",
		"dns set 127.0.0.53 search eng.vmware.com vmware.com"}
	staticDS := append(append([]string{}, static[:3]...), "dns set 127.0.0.53 search vmware.com")
	dsNetcfg := strings.Replace(cloudInitTestNetcfg, "            - eng.vmware.com\n", "", 1)
	envs := []struct {
		name    string
		props   []string
		wantOps []string
		wantErr string // refused on purpose at validate: nothing applied
	}{
		{"test_with_b64_userdata", []string{"user-data", b64("#!/bin/sh\necho hello world\n"), "password", "passw0rd", "instance-id", "inst-001"}, fallback, ""},
		// cloud-init takes "my-user-data" raw and ignores it (no #! or
		// #cloud-config line) with a warning; ovfinit refuses it.
		{"test_with_non_b64_userdata", []string{"user-data", "my-user-data", "instance-id", "inst-001"}, nil, "property user-data (ovf-env.xml line 16): not base64"},
		{"test_with_no_userdata", []string{"password", "passw0rd", "instance-id", "inst-001"}, fallback, ""},
		{"test_with_b64_network_config_enable_read_network", []string{"network-config", b64(cloudInitTestNetcfg), "password", "passw0rd", "instance-id", "inst-001"}, static, ""},
		{"test_with_non_b64_network_config_enable_read_network", []string{"network-config", cloudInitTestNetcfg, "password", "passw0rd", "instance-id", "inst-001"}, static, ""},
		{"test_get_data_with_network_config", []string{"network-config", b64(dsNetcfg), "password", "passw0rd", "instance-id", "inst-001"}, staticDS, ""},
		{"test_get_data_seed_dir", nil, fallback, ""},
		// cloud-init's own OVF example (doc/sources/ovf/example): DHCP on
		// eth* from its network-config.
		{"doc-example", []string{"file", "../ovfenv/testdata/01-cloud-init-doc-example.xml"}, fallback, ""},
	}
	managers := []struct {
		name, touch, file string
		has               []string // in file, for the static network-config
	}{
		{"networkd", "usr/lib/systemd/systemd-networkd", "etc/systemd/network/10-ovfinit-eth0.network",
			[]string{"Address=10.10.10.1/24", "Gateway=10.10.10.253", "DNS=127.0.0.53", "Domains=", "vmware.com"}},
		{"netplan", "usr/sbin/netplan", "etc/netplan/90-ovfinit.yaml", []string{"10.10.10.1/24", "10.10.10.253", "127.0.0.53", "vmware.com"}},
		{"NetworkManager", "usr/sbin/NetworkManager", "etc/NetworkManager/system-connections/ovfinit-eth0.nmconnection",
			[]string{"address1=10.10.10.1/24", "10.10.10.253", "dns=127.0.0.53", "vmware.com"}},
		{"ifupdown", "sbin/ifup", "etc/network/interfaces.d/50-ovfinit", []string{"iface eth0 inet static", "address 10.10.10.1/24", "gateway 10.10.10.253", "dns-nameservers 127.0.0.53", "vmware.com"}},
	}
	for _, env := range envs {
		for i, mgr := range managers {
			if env.wantOps == nil || len(env.wantOps) == len(fallback) {
				if i > 0 {
					continue // no network-config: the fallback is TestNetworkFallback's
				}
			}
			t.Run(env.name+"/"+mgr.name, func(t *testing.T) {
				m := newMachine(t)
				m.touch(mgr.touch)
				if mgr.name == "ifupdown" {
					m.write("etc/network/interfaces", "source /etc/network/interfaces.d/*\n")
				}
				xml := fillProperties(env.props...)
				if env.props != nil && env.props[0] == "file" {
					b, err := os.ReadFile(env.props[1])
					if err != nil {
						t.Fatal(err)
					}
					xml = string(b)
				} else if env.props == nil {
					// test_get_data_seed_dir: OVF_ENV_CONTENT as is.
					xml = strings.Replace(cloudInitOVFEnv, "%s", "", 1)
				}
				e, _, err := m.boot(xml)
				if env.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), env.wantErr) {
						t.Errorf("Run(%s) = %v, want an error containing %q", env.name, err, env.wantErr)
					}
					if len(m.net.applied) != 0 {
						t.Errorf("network ops %q after a refused environment", m.net.applied)
					}
					return
				}
				if err != nil {
					t.Fatalf("Run(%s) = %v, want ready", env.name, err)
				}
				if diff := cmp.Diff(env.wantOps, m.net.applied); diff != "" {
					t.Errorf("network ops (-want +got):\n%s", diff)
				}
				if want := "inst-001"; env.props != nil && env.props[0] != "file" && e.InstanceID != want {
					t.Errorf("instance = %q, want %q", e.InstanceID, want)
				}
				if len(env.wantOps) == len(fallback) {
					// DHCP on eth0: cloud-init's fallback, or the
					// example's network-config (a file for eth0).
					f := "etc/systemd/network/10-ovfinit-fallback.network"
					if env.name == "doc-example" {
						f = "etc/systemd/network/10-ovfinit-eth0.network"
					}
					if got := m.read(f); !strings.Contains(got, "DHCP=ipv4") {
						t.Errorf("%s = %q, want DHCP=ipv4", f, got)
					}
					return
				}
				got := m.read(mgr.file)
				for _, h := range mgr.has {
					if !strings.Contains(got, h) {
						t.Errorf("%s = %q, want it to contain %q", mgr.file, got, h)
					}
				}
			})
		}
	}
}
