package winacl

import "testing"

func TestPrivateSDDL(t *testing.T) {
	for _, tt := range []struct {
		sddl string
		ok   bool
	}{
		{SDDL, true},
		{"D:(A;ID;FA;;;SY)(A;ID;FA;;;BA)", true},
		{"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)S:NO_ACCESS_CONTROL", true},
		{"D:(A;;FA;;;SY)(A;;FA;;;S-1-5-21-0-0-0-1000)", false},
		{"D:(A;OICI;0x1200a9;;;WD)(A;;FA;;;SY)", false},
		{"D:(A;;FA;;;SY)(A;;FR;;;BU)", false},
		{"D:NO_ACCESS_CONTROL", false},
		{"D:P", false},
		{"O:SY", false},
	} {
		if err := privateSDDL("f", tt.sddl); (err == nil) != tt.ok {
			t.Errorf("privateSDDL(%q) = %v, want ok %v", tt.sddl, err, tt.ok)
		}
	}
}
