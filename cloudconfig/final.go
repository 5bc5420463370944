package cloudconfig

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	gossh "golang.org/x/crypto/ssh"
)

// PhoneHomeValues are the fields phone_home may post (PhoneHomeFields):
// the instance id, the host name (fqdn and its first label) and the SSH
// host keys by type.
func PhoneHomeValues(instanceID, fqdn string, hostKeys []gossh.PublicKey) map[string]string {
	v := map[string]string{"instance_id": instanceID, "fqdn": fqdn}
	v["hostname"], _, _ = strings.Cut(fqdn, ".")
	for _, k := range hostKeys {
		pub := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
		switch k.Type() {
		case gossh.KeyAlgoED25519:
			v["pub_key_ed25519"] = pub
		case gossh.KeyAlgoRSA:
			v["pub_key_rsa"] = pub
		case gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521:
			v["pub_key_ecdsa"] = pub
		}
	}
	return v
}

// FinalVars are final_message's variables.
type FinalVars struct {
	Now        time.Time
	Datasource string // the environment's transport
	InstanceID string
	Root       string // the tree whose /proc/uptime gives $UPTIME
}

// FinalMessage fills in cloud-init's variables in final_message:
// $TIMESTAMP, $DATASOURCE, $INSTANCE_ID, $VERSION and $UPTIME ("" when
// there is no /proc/uptime).
func FinalMessage(msg string, v FinalVars) string {
	return strings.NewReplacer("$TIMESTAMP", v.Now.UTC().Format(time.RFC1123Z), "$DATASOURCE", "ovfinit "+v.Datasource,
		"$INSTANCE_ID", v.InstanceID, "$VERSION", "ovfinit", "$UPTIME", uptime(v.Root)).Replace(msg)
}

// uptime reads /proc/uptime's seconds under root; "" when there is none.
func uptime(root string) string {
	b, err := rootfs.ReadFileAt(root, "/proc/uptime", 4096)
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// RunScript runs a #! user-data script as cloud-init's scripts_user does:
// written to dir under root (a runtime directory on a tmpfs: it is user
// input and may hold secrets), 0700, run, and removed. It runs on the live
// system only (root "/"; run refuses otherwise).
func RunScript(ctx context.Context, run cmdrun.Runner, root, dir string, script []byte) error {
	name := path.Join(dir, "user-data.script")
	fsys, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer fsys.Close()
	if err := fsys.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := fsys.WriteFile(name, script, 0o700, rootfs.Keep); err != nil {
		return fmt.Errorf("writing the user-data script: %w", err)
	}
	defer fsys.Remove(name)
	if root == "" {
		root = "/"
	}
	if err := cmdrun.Run(ctx, run, filepath.Join(root, filepath.FromSlash(name))); err != nil {
		return fmt.Errorf("user-data script: %w", err)
	}
	return nil
}
