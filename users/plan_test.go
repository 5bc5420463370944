package users

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// testHash is a SHA-512 crypt hash.
const testHash = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"

func opLines(ops []Op) []string {
	var out []string
	for _, o := range ops {
		out = append(out, o.String())
	}
	return out
}

func TestPlan(t *testing.T) {
	db := ParseDB(
		[]byte("root:x:0:0:root:/root:/bin/sh\nbobby:x:1000:1000::/home/bobby:/bin/sh\nbob:x:1005:1005::/home/bob:/bin/bash\n"),
		[]byte("root:x:0:\nwheel:x:10:root\nbobby:x:1000:\nbob:x:1005:\ndocker:x:999:bobby,bob\n"),
		[]byte("bob:!$6$old$x:19000:0:99999:7:::\n"),
	)
	tests := []struct {
		name string
		u    User
		want []string
	}{
		{"new user, defaults", User{Name: "alice"},
			[]string{"groupadd alice gid=1001", "useradd alice uid=1001 group=alice(1001) home=/home/alice shell=/bin/sh"}},
		{"new user, everything", User{Name: "carol", UID: 2000, PrimaryGroup: "staff", Groups: []string{"docker", "video"},
			Admin: true, Home: "/srv/carol", Shell: "/bin/bash", Password: NewPassword("s3cret"), LockPassword: true, ExpirePassword: true},
			[]string{"groupadd staff gid=2000", "groupadd video gid=1001",
				"useradd carol uid=2000 group=staff(2000) home=/srv/carol shell=/bin/bash groups=docker,video,wheel",
				"password carol clear lock expire", "sudoers carol"}},
		{"new user, existing primary group", User{Name: "dave", PrimaryGroup: "docker"},
			[]string{"useradd dave uid=1001 group=docker(999) home=/home/dave shell=/bin/sh"}},
		{"new user, lock only", User{Name: "erin", LockPassword: true},
			[]string{"groupadd erin gid=1001", "useradd erin uid=1001 group=erin(1001) home=/home/erin shell=/bin/sh", "lock erin"}},
		{"existing user kept, nothing to do", User{Name: "bob", Groups: []string{"docker", "bob"}, LockPassword: true}, nil},
		{"existing user, new group and password", User{Name: "bob", Groups: []string{"video"}, Password: NewPassword(testHash)},
			[]string{"groupadd video gid=1001", "addgroups bob video", "password bob hash"}},
		{"bob is not bobby", User{Name: "bobb"},
			[]string{"groupadd bobb gid=1001", "useradd bobb uid=1001 group=bobb(1001) home=/home/bobb shell=/bin/sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := Plan(db, tt.u)
			if err != nil {
				t.Fatalf("Plan(%s) = %v", tt.u.Name, err)
			}
			if diff := cmp.Diff(tt.want, opLines(ops)); diff != "" {
				t.Errorf("Plan(%s) mismatch (-want +got):\n%s", tt.u.Name, diff)
			}
		})
	}
	for _, tt := range []struct {
		u    User
		want string
	}{
		{User{Name: "x", UID: 1000}, "uid 1000 is taken by bobby"},
		{User{Name: "Bad"}, "invalid user name"},
		{User{Name: "x", Groups: []string{"Bad Group"}}, "invalid user name"},
	} {
		if _, err := Plan(db, tt.u); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Plan(%+v) = %v, want an error with %q", tt.u, err, tt.want)
		}
	}
}

func TestPlanRemove(t *testing.T) {
	db := ParseDB(
		[]byte("bob:x:1005:1005::/home/bob:/bin/sh\nbobby:x:1000:1000::/home/bobby:/bin/sh\nshared:x:1006:1007::/:/bin/sh\nother:x:1008:1007::/:/bin/sh\n"),
		[]byte("bob:x:1005:\nbobby:x:1000:bob\nshared:x:1007:\n"), nil)
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"bob", []string{"userdel bob", "groupdel bob", "delsudoers bob"}},
		{"shared", []string{"userdel shared", "delsudoers shared"}}, // its group is another's primary
		{"nobody", []string{"delsudoers nobody"}},
	} {
		ops, err := PlanRemove(db, tt.name)
		if err != nil {
			t.Fatalf("PlanRemove(%s) = %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, opLines(ops)); diff != "" {
			t.Errorf("PlanRemove(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestToolCommands(t *testing.T) {
	now := time.Now()
	ops := []Op{
		{Kind: OpAddGroup, Name: "bob", ID: 1001},
		{Kind: OpAddUser, Name: "bob", ID: 1001, GID: 1001, Home: "/home/bob", Shell: "/bin/sh"},
		{Kind: OpAddToGroups, Name: "bob", Groups: []string{"sudo", "docker"}},
		{Kind: OpSetPassword, Name: "bob", Password: NewPassword(testHash), Lock: true, Expire: true},
		{Kind: OpLock, Name: "bob"},
		{Kind: OpDelUser, Name: "bob"},
		{Kind: OpDelGroup, Name: "bob"},
		{Kind: OpAddUser, Name: "amy", ID: 1002, Group: "amy", GID: 1003, Home: "/home/amy", Shell: "/bin/sh", OwnGroup: true},
	}
	render := func(flavor, root string) []string {
		var out []string
		for _, o := range ops {
			for _, c := range toolCommands(flavor, root, o, now) {
				line := strings.Join(c.argv, " ")
				if c.stdin != nil {
					line += " <<< " + strings.ReplaceAll(string(c.stdin), testHash, "HASH")
				}
				out = append(out, strings.TrimSpace(line))
			}
		}
		return out
	}
	for _, tt := range []struct {
		flavor, root string
		want         []string
	}{
		{FlavorShadow, "/mnt/img", []string{
			"groupadd --root /mnt/img -g 1001 bob",
			"useradd --root /mnt/img -u 1001 -g 1001 -d /home/bob -s /bin/sh -m bob",
			"usermod --root /mnt/img -a -G sudo,docker bob",
			"chpasswd --root /mnt/img -e <<< bob:!HASH",
			"chage --root /mnt/img -d 0 bob",
			"usermod --root /mnt/img -L bob",
			"userdel --root /mnt/img bob",
			"groupdel --root /mnt/img bob",
			"useradd --root /mnt/img -u 1002 -U -K GID_MIN=1003 -K GID_MAX=1003 -d /home/amy -s /bin/sh -m amy",
		}},
		{FlavorShadow, "/", []string{
			"groupadd -g 1001 bob", "useradd -u 1001 -g 1001 -d /home/bob -s /bin/sh -m bob",
			"usermod -a -G sudo,docker bob", "chpasswd -e <<< bob:!HASH", "chage -d 0 bob", "usermod -L bob",
			"userdel bob", "groupdel bob",
			"useradd -u 1002 -U -K GID_MIN=1003 -K GID_MAX=1003 -d /home/amy -s /bin/sh -m amy",
		}},
		{FlavorPw, "/", []string{
			"pw groupadd bob -g 1001", "pw useradd bob -u 1001 -g 1001 -d /home/bob -s /bin/sh -m",
			"pw groupmod sudo -m bob", "pw groupmod docker -m bob",
			"pw usermod bob -H 0 <<< *LOCKED*HASH", "pw usermod bob -p 1", "pw lock bob",
			"pw userdel bob", "pw groupdel bob",
			"pw groupadd amy -g 1003", "pw useradd amy -u 1002 -g 1003 -d /home/amy -s /bin/sh -m",
		}},
	} {
		t.Run(tt.flavor+tt.root, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, render(tt.flavor, tt.root)); diff != "" {
				t.Errorf("toolCommands(%s, %s) mismatch (-want +got):\n%s", tt.flavor, tt.root, diff)
			}
		})
	}
}

func TestIsHash(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{testHash, true},
		{"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", true},
		{"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", true},
		{"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", true},
		{"$7$CU..../....2KfsmB9yvFXFWB0eVyeeT1$m2FgIrNz6XRUqLXDZQK4aLCHqZpOG6ydE2iSVrzvfF9", true},
		{"password", false},
		{"$6$", false},
		{"$y$ not really", false},
		{"$1$salt$qJH7.N4xYta3aEG/dfqo/0", false}, // MD5: not accepted as a hash
		{"", false},
	} {
		if got := IsHash(tt.s); got != tt.want {
			t.Errorf("IsHash(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestPasswordNeverPrinted(t *testing.T) {
	p := NewPassword("hunter2")
	u := User{Name: "bob", Password: p}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "user", u, "pw", p)
	for _, s := range []string{fmt.Sprint(u), fmt.Sprintf("%+v", u), fmt.Sprintf("%#v", u), logs.String(), (Op{Kind: OpSetPassword, Password: p}).String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed password: %s", s)
		}
	}
}

func TestHashPassword(t *testing.T) {
	for _, m := range []string{MethodSHA512, MethodYescrypt} {
		h, err := HashPassword("pw", m)
		if err != nil {
			t.Fatalf("HashPassword(%s) = %v", m, err)
		}
		if !IsHash(h) || !PasswordMatches(h, NewPassword("pw")) || PasswordMatches(h, NewPassword("other")) {
			t.Errorf("HashPassword(%s) = %q: not a hash that matches only its password", m, h)
		}
	}
	if _, err := HashPassword("pw", "MD5"); err == nil {
		t.Errorf("HashPassword(MD5) = nil error, want one")
	}
}

func TestSysprep(t *testing.T) {
	for _, tt := range []struct{ end, want string }{
		{EndOff, `C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet`},
		{EndReboot, `C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /reboot /quiet`},
		{EndOn, `C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /quit /quiet`},
	} {
		f := &cmdrun.Fake{}
		if err := Sysprep(context.Background(), f, tt.end); err != nil || len(f.Lines()) != 1 || f.Lines()[0] != tt.want {
			t.Errorf("Sysprep(%s) ran %q, %v; want %q", tt.end, f.Lines(), err, tt.want)
		}
	}
	if err := Sysprep(context.Background(), &cmdrun.Fake{}, "halt"); err == nil {
		t.Errorf("Sysprep(halt) = nil, want an error")
	}
}

func TestPowerArgs(t *testing.T) {
	for _, tt := range []struct {
		goos    string
		systemd bool
		end     string
		want    []string
	}{
		{"linux", true, EndOff, []string{"systemctl", "poweroff"}},
		{"linux", true, EndReboot, []string{"systemctl", "reboot"}},
		{"linux", true, EndOn, nil},
		{"linux", false, EndOff, nil}, // reboot(2) directly
		{"freebsd", false, EndOff, []string{"shutdown", "-p", "now"}},
		{"freebsd", false, EndReboot, []string{"shutdown", "-r", "now"}},
	} {
		if got := powerArgs(tt.goos, tt.systemd, tt.end); !cmp.Equal(got, tt.want) {
			t.Errorf("powerArgs(%s, %v, %s) = %q, want %q", tt.goos, tt.systemd, tt.end, got, tt.want)
		}
	}
}

// A new user's supplementary groups go with useradd -G (pw useradd -G),
// not a usermod after it: one exec fewer on a first boot.
func TestToolCommandsNewUserGroups(t *testing.T) {
	o := Op{Kind: OpAddUser, Name: "bob", ID: 1001, GID: 1001, Home: "/home/bob", Shell: "/bin/sh", Groups: []string{"sudo", "docker"}}
	for flavor, want := range map[string]string{
		FlavorShadow: "useradd -u 1001 -g 1001 -d /home/bob -s /bin/sh -m -G sudo,docker bob",
		FlavorPw:     "pw useradd bob -u 1001 -g 1001 -d /home/bob -s /bin/sh -m -G sudo,docker",
	} {
		cmds := toolCommands(flavor, "/", o, time.Now())
		if len(cmds) != 1 || strings.Join(cmds[0].argv, " ") != want {
			var got []string
			for _, c := range cmds {
				got = append(got, strings.Join(c.argv, " "))
			}
			t.Errorf("%s: commands = %q, want [%q]", flavor, got, want)
		}
	}
}

func TestWithOwnGroup(t *testing.T) {
	user := func(name, group string, gid int) Op {
		return Op{Kind: OpAddUser, Name: name, ID: 1001, Group: group, GID: gid, Home: "/home/" + name, Shell: "/bin/sh"}
	}
	for _, tt := range []struct {
		name string
		ops  []Op
		want []string
	}{
		{"own group folded", []Op{{Kind: OpAddGroup, Name: "bob", ID: 1001}, user("bob", "bob", 1001), {Kind: OpSudoers, Name: "bob"}},
			[]string{"useradd bob uid=1001 group=bob(1001) home=/home/bob shell=/bin/sh own-group", "sudoers bob"}},
		{"other groups stay in order", []Op{{Kind: OpAddGroup, Name: "bob", ID: 1002}, {Kind: OpAddGroup, Name: "docker", ID: 1003}, user("bob", "bob", 1002)},
			[]string{"groupadd docker gid=1003", "useradd bob uid=1001 group=bob(1002) home=/home/bob shell=/bin/sh own-group"}},
		{"a primary group of another name", []Op{{Kind: OpAddGroup, Name: "staff", ID: 1001}, user("bob", "staff", 1001)},
			[]string{"groupadd staff gid=1001", "useradd bob uid=1001 group=staff(1001) home=/home/bob shell=/bin/sh"}},
		{"an existing own group", []Op{user("bob", "bob", 1001)},
			[]string{"useradd bob uid=1001 group=bob(1001) home=/home/bob shell=/bin/sh"}},
		{"another gid", []Op{{Kind: OpAddGroup, Name: "bob", ID: 1005}, user("bob", "bob", 1001)},
			[]string{"groupadd bob gid=1005", "useradd bob uid=1001 group=bob(1001) home=/home/bob shell=/bin/sh"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, o := range withOwnGroup(tt.ops) {
				line := o.String()
				if o.OwnGroup {
					line += " own-group"
				}
				got = append(got, line)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("withOwnGroup mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
