package agent

import "github.com/ovfinit/ovfinit/netcfg"

// The live network is what waitNICsNamed's cheap look is for: if
// netcfg.Linux lost UdevDone, the wait would fall back to reading the
// whole network every nicPoll without a word.
var _ udevDoner = (*netcfg.Linux)(nil)
