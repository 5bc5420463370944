package hostname

import "testing"

func TestSyntax(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"web1.example.com", true},
		{"a-b", true},
		{"-a", false},
		{"a..b", false},
		{"bad_host", false},
		{string(make([]byte, 254)), false},
	} {
		if err := Syntax(tc.name); (err == nil) != tc.ok {
			t.Errorf("Syntax(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
