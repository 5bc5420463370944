//go:build linux

package netcfg

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestLinuxLinkSettingsLive applies the link settings live in a network
// namespace the test makes, on a veth: set-name (the link is renamed while
// down, before it is brought up), mtu, macaddress and offload switches,
// each read back from the kernel (ethtool features for the offloads); a
// second plan asks for nothing more. wakeonlan on a veth, which has none,
// is a logged warning naming the interface, not a failed boot.
func TestLinuxLinkSettingsLive(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		var logs bytes.Buffer
		sys := &Linux{H: h, Root: t.TempDir(), Log: slog.New(slog.NewTextHandler(&logs, nil))}
		cfg := applyDoc(t, sys, `version: 2
ethernets:
  lan:
    match: {macaddress: "52:54:00:aa:bb:01"}
    set-name: lan7
    mtu: 1400
    macaddress: "52:54:00:aa:bb:71"
    receive-checksum-offload: false
    tcp-segmentation-offload: false
    generic-receive-offload: false
    generic-segmentation-offload: false
    wakeonlan: true
    addresses: [10.7.0.2/24]
`)
		l, err := h.LinkByName("lan7")
		if err != nil {
			t.Fatalf("ovft0 not renamed to lan7: %v", err)
		}
		a := l.Attrs()
		if a.MTU != 1400 || a.HardwareAddr.String() != "52:54:00:aa:bb:71" || a.OperState == netlink.OperDown && a.Flags&1 == 0 {
			t.Errorf("lan7 = mtu %d mac %s flags %v, want mtu 1400 mac 52:54:00:aa:bb:71 up", a.MTU, a.HardwareAddr, a.Flags)
		}
		e, err := openEthtool()
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		o, err := e.offload("lan7")
		if err != nil {
			t.Fatalf("reading lan7's offloads: %v", err)
		}
		for name, v := range map[string]*bool{"receive-checksum-offload": o.ReceiveChecksum, "tcp-segmentation-offload": o.TCPSegmentation,
			"generic-receive-offload": o.GenericReceive, "generic-segmentation-offload": o.GenericSegmentation} {
			if v == nil || *v {
				t.Errorf("lan7 %s = %v, want off", name, v)
			}
		}
		if !strings.Contains(logs.String(), "wakeonlan not applied") || !strings.Contains(logs.String(), "lan7") {
			t.Errorf("log = %q, want a warning that wakeonlan is not applied on lan7", logs.String())
		}
		cur, err := sys.Current()
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := Plan(cfg, cur, Applied{})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range again {
			if op.Kind != OpLinkWOL { // a veth never gets wake-on-LAN
				t.Errorf("Plan after apply has %q, want nothing but the wakeonlan the veth lacks", op)
			}
		}
	})
}
