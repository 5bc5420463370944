package users

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzPlan feeds arbitrary user databases to the planner: it must never
// panic, and whatever it plans must name the asked-for user.
func FuzzPlan(f *testing.F) {
	f.Add("root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n", "root:x:0:\nbob:x:1000:\nsudo:x:27:bob\n", "bob:!:1:0:99999:7:::\n", "bob")
	f.Add("bob\n::::\n", "bob:x\n", ":", "bob")
	f.Add("", "", "", "alice")
	f.Fuzz(func(t *testing.T, passwd, group, shadow, name string) {
		db := ParseDB([]byte(passwd), []byte(group), []byte(shadow))
		ops, err := Plan(db, User{Name: name, Groups: []string{"sudo", "docker"}, Admin: true, Password: NewPassword("x"), LockPassword: true})
		if err != nil {
			return
		}
		for _, o := range ops {
			if o.Kind != OpAddGroup && o.Name != name {
				t.Errorf("Plan(%q) has op %v for another user", name, o)
			}
			if strings.Contains(o.String(), ":") && o.Kind != OpAddGroup {
				t.Errorf("op %q would break a colon-separated file", o)
			}
		}
		PlanRemove(db, name)
	})
}

// FuzzIsHash: IsHash never panics, and never accepts a value that would
// break a shadow line.
func FuzzIsHash(f *testing.F) {
	f.Add(testHash)
	f.Add("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7")
	f.Add("clear text")
	f.Fuzz(func(t *testing.T, s string) {
		if IsHash(s) && strings.ContainsAny(s, ":\n\x00") {
			t.Errorf("IsHash(%q) = true for a value with ':' or a newline", s)
		}
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for _, m := range []string{MethodSHA512, MethodYescrypt} {
		b.Run(m, func(b *testing.B) {
			for b.Loop() {
				if _, err := HashPassword("correct horse battery", m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPlan(b *testing.B) {
	var pw, gr strings.Builder
	for i := range 2000 {
		name := "user" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		pw.WriteString(name + ":x:" + strconv.Itoa(1000+i) + ":" + strconv.Itoa(1000+i) + "::/home/" + name + ":/bin/sh\n")
		gr.WriteString(name + ":x:" + strconv.Itoa(1000+i) + ":\n")
	}
	db := ParseDB([]byte(pw.String()), []byte(gr.String()), nil)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Plan(db, User{Name: "newuser", Groups: []string{"docker"}}); err != nil {
			b.Fatal(err)
		}
	}
}
