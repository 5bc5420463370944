package winacl

import (
	"fmt"
	"strings"
)

// privateSDDL checks the DACL part of an SDDL string: every allow entry
// must be for SYSTEM (SY) or Administrators (BA), and there must be one;
// "D:NO_ACCESS_CONTROL" or an empty D: (everyone or no one) are refused.
func privateSDDL(name, sddl string) error {
	i := strings.Index(sddl, "D:")
	if i < 0 {
		return fmt.Errorf("%s: no DACL (%q): everyone has access", name, sddl)
	}
	d := sddl[i+2:]
	if j := strings.Index(d, "S:"); j >= 0 {
		d = d[:j]
	}
	allowed := 0
	for _, ace := range strings.Split(d, "(")[1:] {
		ace = strings.TrimSuffix(ace, ")")
		f := strings.Split(ace, ";")
		if len(f) < 6 {
			return fmt.Errorf("%s: unreadable DACL entry (%s)", name, ace)
		}
		if f[0] != "A" {
			continue // deny and audit entries take nothing away from SY/BA
		}
		if trustee := f[5]; trustee != "SY" && trustee != "BA" {
			return fmt.Errorf("%s: DACL %q lets %s in, not only SYSTEM and Administrators", name, sddl, trustee)
		}
		allowed++
	}
	if allowed == 0 {
		return fmt.Errorf("%s: DACL %q has no entry for SYSTEM or Administrators", name, sddl)
	}
	return nil
}
