package ovfenv

import (
	"errors"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// SystemUUIDPath is where Linux shows the SMBIOS system UUID, under the
// root.
const SystemUUIDPath = "/sys/class/dmi/id/product_uuid"

// SystemUUID reads the SMBIOS system UUID the firmware gives the VM, under
// root: the instance id when the environment has neither an instance-id
// property nor an Environment id (KeyInstanceID). It is lower-cased; an
// empty or all-zero UUID (firmware that sets none) is an error.
func SystemUUID(root string) (string, error) {
	b, err := rootfs.ReadFileAt(root, SystemUUIDPath, 4096)
	if err != nil {
		return "", err
	}
	u := strings.ToLower(strings.TrimSpace(string(b)))
	if u == "" || strings.Trim(u, "0-") == "" {
		return "", errors.New("SMBIOS system UUID is empty")
	}
	return u, nil
}
