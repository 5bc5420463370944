package users

import (
	"errors"
	"strings"
	"testing"
)

func TestSystemDir(t *testing.T) {
	for dir, want := range map[string]bool{
		"/": true, "/etc": true, "/etc/ssh": true, "/usr/local/bob": true, "/root": true, "/root/x": true,
		"/home": true, "/home/": true, "/var/lib": true, "/var/log/x": true, "/var/lib/ovfinit": true,
		"/var/lib/ovfinit/keys": true, "/tmp/bob": true, "/proc/1": true, "/lib64": true, "/srv": true,
		"/home/bob": false, "/var/lib/app": false, "/srv/bob": false, "/opt/app": false, "/data/bob": false,
		"/etcetera": false, "/rootless": false, "/home//bob": false,
	} {
		if got := SystemDir(dir); got != want {
			t.Errorf("SystemDir(%q) = %v, want %v", dir, got, want)
		}
	}
}

// TestCheckRequest: the system-account policy as far as it needs no image.
func TestCheckRequest(t *testing.T) {
	tests := []struct {
		u      User
		fields []string
		want   string
	}{
		{User{Name: "bob", Groups: []string{"docker", "video"}, Home: "/srv/bob"}, nil, ""},
		{User{Name: "root"}, []string{FieldName}, "superuser"},
		{User{Name: "bob", Home: "/"}, []string{FieldHome}, "/ is a system directory"},
		{User{Name: "bob", Home: "/etc"}, []string{FieldHome}, "/etc is a system directory"},
		{User{Name: "bob", Groups: []string{"shadow", "disk", "video"}}, []string{FieldGroups, FieldGroups}, "disk is a privileged group"},
		{User{Name: "bob", Groups: []string{"wheel"}}, []string{FieldGroups}, "administrator group"},
		{User{Name: "bob", PrimaryGroup: "kmem"}, []string{FieldGroup}, "kmem is a privileged group"},
	}
	for _, tt := range tests {
		w, errs := CheckRequest(tt.u)
		if len(w) != 0 || !equalStrings(fieldsOf(errs), tt.fields) || (tt.want != "" && !strings.Contains(errors.Join(errs...).Error(), tt.want)) {
			t.Errorf("CheckRequest(%+v) = warnings %v, errors %v; want errors on %v with %q", tt.u, w, errs, tt.fields, tt.want)
			continue
		}
		tt.u.AllowSystem = true
		if w, errs := CheckRequest(tt.u); len(errs) != 0 || len(w) != len(tt.fields) {
			t.Errorf("CheckRequest(%+v with AllowSystem) = warnings %v, errors %v; want %d warnings", tt.u, w, errs, len(tt.fields))
		}
	}
	// ".." is never accepted: the path would not mean what it says. Nor is
	// a home in ovfinit's own directories (its key store).
	if _, errs := CheckRequest(User{Name: "bob", Home: "/var/lib/ovfinit/keys/bob", AllowSystem: true}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "ovfinit's own") {
		t.Errorf("CheckRequest(home in the key store, AllowSystem) = %v, want an error", errs)
	}
	if _, errs := CheckRequest(User{Name: "bob", Home: "/home/../etc", AllowSystem: true}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "'..'") {
		t.Errorf("CheckRequest(home /home/../etc, AllowSystem) = %v, want a '..' error", errs)
	}
}

func fieldsOf(errs []error) []string {
	var out []string
	for _, err := range errs {
		var fe *FieldError
		if errors.As(err, &fe) {
			out = append(out, fe.Field)
		} else {
			out = append(out, "?")
		}
	}
	return out
}

func equalStrings(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
