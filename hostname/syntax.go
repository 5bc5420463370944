package hostname

import (
	"fmt"
	"strings"
)

// Syntax applies RFC 1123 to a host name, whatever the OS (Check adds
// the OS's own rules): labels of 1-63 letters, digits and '-', not
// starting or ending with '-', 253 characters in all.
func Syntax(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 {
			return fmt.Errorf("invalid host name %q: each dot-separated label must have 1 to 63 characters", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid host name %q: a label may not start or end with '-'", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("invalid host name %q: only letters, digits, '-' and '.' are allowed", h)
			}
		}
	}
	return nil
}
