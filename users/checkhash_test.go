package users

import "testing"

func TestCheckHash(t *testing.T) {
	sha, err := HashPassword("s3cret", MethodSHA512)
	if err != nil {
		t.Fatal(err)
	}
	yes, err := HashPassword("s3cret", MethodYescrypt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stored, clear string
		ok, isErr           bool
	}{
		{"sha512 right", sha, "s3cret", true, false},
		{"sha512 wrong", sha, "nope", false, false},
		{"yescrypt right", yes, "s3cret", true, false},
		{"yescrypt wrong", yes, "nope", false, false},
		{"md5 refused", "$1$abc$def", "s3cret", false, true},
		{"locked", "!" + sha, "s3cret", false, true},
		{"empty", "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckHash(tt.stored, []byte(tt.clear))
			if ok != tt.ok || (err != nil) != tt.isErr {
				t.Errorf("CheckHash(%q, %q) = %v, %v; want %v, error %v", tt.stored, tt.clear, ok, err, tt.ok, tt.isErr)
			}
		})
	}
}
