package vm

import (
	"strings"
	"testing"
)

func TestServiceInitScript(t *testing.T) {
	def := initScript([]string{"run"})
	if got := serviceInitScript(def, ""); got != def {
		t.Errorf("serviceInitScript(script, \"\") changed the script")
	}
	got := serviceInitScript(def, "/etc/init.d/ovfinit start")
	for _, want := range []string{"\t/etc/init.d/ovfinit start\n", "OVFINIT-EXIT service", "up agent started"} {
		if !strings.Contains(got, want) {
			t.Errorf("serviceInitScript lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "/bin/ovfinit 'run'") {
		t.Errorf("serviceInitScript still starts the agent directly:\n%s", got)
	}
}
