package users

import (
	"context"
	"fmt"
)

// EnsureGroup makes sure the group name exists (cloud-config's groups),
// with the lowest free ordinary gid; created is false when it existed.
func (m *Manager) EnsureGroup(ctx context.Context, name string) (created bool, err error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	if m.win != nil {
		ok, err := m.win.GroupExists(name)
		if err != nil || ok {
			return false, err
		}
		return true, m.win.AddGroup(name)
	}
	unlock, err := m.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	db, err := m.readDB()
	if err != nil {
		return false, err
	}
	if db.HasGroup(name) {
		return false, nil
	}
	gid, err := allocate(usedIDs(db.group, 2), 0)
	if err != nil {
		return false, fmt.Errorf("group %s: %w", name, err)
	}
	o := Op{Kind: OpAddGroup, Name: name, ID: gid}
	m.log().Info("user database change", "op", o.String())
	if err := m.apply(ctx, o); err != nil {
		return false, fmt.Errorf("group %s: %w", name, err)
	}
	return true, nil
}
