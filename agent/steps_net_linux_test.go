package agent

import (
	"context"

	"github.com/ovfinit/ovfinit/netcfg"
)

// The live network is what waitNICsNamed's cheap look is for: if
// netcfg.Linux lost UdevDone, the wait would fall back to reading the
// whole network every nicPoll without a word.
var _ udevDoner = (*netcfg.Linux)(nil)

// The hand-over hold and the wait before exit are asserted the same way
// (steps_net.go): without them the image's DHCP client would start at
// once, or never if ovfinit exited during the settle time, without a word.
var (
	_ interface{ HoldHandOver(<-chan struct{}) }       = (*netcfg.Linux)(nil)
	_ interface{ WaitHandOver(context.Context) error } = (*netcfg.Linux)(nil)
)
