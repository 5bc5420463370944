package ovfenv

import (
	"fmt"
	"strings"
)

// propertiesHeader is the hand-written part of docs/properties.md; the
// tables after it are generated from Keys().
const propertiesHeader = `# OVF properties ovfinit reads

<!-- Generated from ovfenv.Keys() by PropertiesMarkdown: edit the ovfenv/keys_*.go
tables, then run: go test ./ovfenv -run TestPropertiesDoc -update -->

ovfinit reads the ` + "`PropertySection`" + ` of the OVF environment (` + "`ovf-env.xml`" + `). Where
cloud-init already defined a key for the OVF data source, ovfinit reads the
same key, so an environment written for cloud-init keeps working; ovfinit's own
keys start with ` + "`ovfinit.`" + `.

Keys are matched exactly (case-sensitive), with or without a ` + "`guestinfo.`" + `
prefix: ` + "`guestinfo.hostname`" + ` is ` + "`hostname`" + `. When a key appears twice the last one
wins. A value that is empty or ` + "`null`" + ` means the property is unset. Booleans
accept ` + "`true/false/True/False/yes/no/1/0`" + `. Which transports deliver the
environment, and how direct ` + "`guestinfo.ovfinit.*`" + ` keys are merged with it, is in
[transports.md](transports.md).

Every value is validated before the machine is changed: one bad property stops
the whole boot with an error naming the property (and its line in
` + "`ovf-env.xml`" + `), a ` + "`failed`" + ` event with ` + "`retry: false`" + `, and nothing applied.

If no environment can be found on a later boot (the ISO was ejected, say),
ovfinit keeps what it applied: it uses the environment it saved on the first
boot and runs only the per-boot steps. A missing environment is never taken to
mean a new instance.

Secret properties (the ones marked so below, and any key whose name contains
` + "`password`, `passwd`, `secret`, `token` or `private`" + `) are never logged and are
redacted in ` + "`ovfinit env show`" + ` and in the copy of the environment the state
directory keeps.
`

// PropertiesMarkdown renders docs/properties.md: the header, then one table
// per Key.Group, in the order the groups first appear in Keys().
func PropertiesMarkdown() string {
	var b strings.Builder
	b.WriteString(propertiesHeader)
	var groups []string
	byGroup := map[string][]Key{}
	for _, k := range Keys() {
		if _, ok := byGroup[k.Group]; !ok {
			groups = append(groups, k.Group)
		}
		byGroup[k.Group] = append(byGroup[k.Group], k)
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n| key | type | default | meaning |\n|---|---|---|---|\n", g)
		for _, k := range byGroup[g] {
			def := "none"
			if k.Default != "" {
				def = "`" + k.Default + "`"
			}
			desc := strings.ReplaceAll(strings.TrimSpace(k.Description), "|", `\|`)
			desc = strings.ReplaceAll(desc, "\n", " ")
			if k.Secret {
				desc += " **Secret**: never logged, redacted in saved copies."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, k.Type, def, desc)
		}
	}
	return b.String()
}
