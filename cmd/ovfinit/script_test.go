package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeScript(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScriptCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeScript(t, dir, "good.star", "# frequency: per-boot\nlog.info(ovf.property('x', 'y'))\n")
	bad := writeScript(t, dir, "bad.star", "x = 1\nprint(nope)\n")
	loop := writeScript(t, dir, "loop.star", "while False:\n    pass\n")
	web := writeScript(t, dir, "web.star", "r = http.get('https://example.com/')\n")
	tests := []struct {
		args     []string
		wantCode int
		wantOut  []string
	}{
		{[]string{"script", "check", good}, exitOK, nil},
		{[]string{"script", "check", good, bad}, exitFailed, []string{bad + ":2:7: undefined: nope", "1 of 2 scripts have errors"}},
		{[]string{"script", "check", loop}, exitFailed, []string{loop + ":1:1: this Starlark dialect does not support while loops"}},
		{[]string{"script", "check", "--allow-while", loop}, exitOK, nil},
		{[]string{"script", "check", web}, exitFailed, []string{web + ":1:5: undefined: http (the http module is off: the property ovfinit.script.http=true turns it on)"}},
		{[]string{"script", "check", "--http", web}, exitOK, nil},
		{[]string{"script", "check", filepath.Join(dir, "missing.star")}, exitFailed, []string{"missing.star", "1 of 1 scripts have errors"}}, // the OS's words for a missing file
		{[]string{"script", "check"}, exitUsage, []string{"requires at least 1 arg"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[2:], " "), func(t *testing.T) {
			out, code := execute(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("ovfinit %v: exit %d, want %d; output:\n%s", tt.args, code, tt.wantCode, out)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("ovfinit %v output:\n%s\nwant it to contain %q", tt.args, out, w)
				}
			}
		})
	}
}

func TestScriptRun(t *testing.T) {
	dir := t.TempDir()
	env := writeScript(t, dir, "ovf-env.xml", `<?xml version="1.0"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="vm-1">
  <PropertySection><Property oe:key="motd" oe:value="hello"/><Property oe:key="instance-id" oe:value="i-9"/></PropertySection>
</Environment>`)
	writeScript(t, dir, "_lib.star", "suffix = '!'\n")
	script := writeScript(t, dir, "s.star", "load('_lib.star', 'suffix')\nfile.write('/etc/motd', ovf.property('motd') + suffix + ' ' + ovf.instance_id)\nexec.run(['systemctl', 'restart', 'app'])\nprogress(100, 'done')\n")
	broken := writeScript(t, dir, "broken.star", "x = 1\n\nfail('broken on purpose')\n")
	root := t.TempDir()

	out, code := execute(t, "script", "run", "--dry-run", "--root", root, "--env", env, script)
	if code != exitOK {
		t.Fatalf("script run --dry-run: exit %d:\n%s", code, out)
	}
	for _, w := range []string{"write /etc/motd (10 bytes, mode 0644)", "exec systemctl restart app", `progress 100% "done"`} {
		if !strings.Contains(out, w) {
			t.Errorf("dry-run output:\n%s\nwant %q", out, w)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/motd")); err == nil {
		t.Errorf("--dry-run wrote etc/motd")
	}

	live := writeScript(t, dir, "live.star", "file.write('/etc/motd', ovf.property('motd') + ' ' + ovf.instance_id)\n")
	if out, code := execute(t, "script", "run", "--root", root, "--env", env, live); code != exitOK {
		t.Fatalf("script run: exit %d:\n%s", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/motd")); err != nil || string(b) != "hello i-9" {
		t.Errorf("etc/motd = %q, %v; want %q", b, err, "hello i-9")
	}

	cmdScript := writeScript(t, dir, "cmd.star", "exec.run(['true'])\n")
	out, code = execute(t, "script", "run", "--root", root, cmdScript)
	if code != exitFailed || !strings.Contains(out, cmdScript+":1:9: exec.run: true: commands are not run: --root is not /") {
		t.Errorf("script run --root %s of exec.run: exit %d, output:\n%s\nwant exit 1, commands refused", root, code, out)
	}

	web := writeScript(t, dir, "web.star", "r = http.post('https://inventory.example.com/v1/vms', json = {'id': ovf.instance_id})\nif r.status != 200: fail(r.status)\n")
	out, code = execute(t, "script", "run", "--dry-run", "--http", "--root", root, "--env", env, web)
	if code != exitOK || !strings.Contains(out, "http POST https://inventory.example.com/v1/vms (12 bytes)") {
		t.Errorf("script run --dry-run --http: exit %d, output:\n%s\nwant the request printed", code, out)
	}

	out, code = execute(t, "script", "run", "--dry-run", "--root", root, broken)
	if code != exitFailed || !strings.Contains(out, broken+":3:5: fail: broken on purpose") || !strings.Contains(out, "Traceback") {
		t.Errorf("script run of a failing script: exit %d, output:\n%s\nwant exit 1 with the position and a traceback", code, out)
	}
	if _, code := execute(t, "script", "run", "--env", filepath.Join(dir, "nope.xml"), script); code != exitFailed {
		t.Errorf("script run with a missing --env: exit %d, want %d", code, exitFailed)
	}
}
