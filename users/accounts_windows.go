package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"golang.org/x/sys/windows"
)

//sys	netUserAdd(serverName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetUserAdd
//sys	netUserDel(serverName *uint16, userName *uint16) (neterr error) = netapi32.NetUserDel
//sys	netUserSetInfo(serverName *uint16, userName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetUserSetInfo
//sys	netLocalGroupAdd(serverName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetLocalGroupAdd
//sys	netLocalGroupGetInfo(serverName *uint16, groupName *uint16, level uint32, buf **byte) (neterr error) = netapi32.NetLocalGroupGetInfo
//sys	netLocalGroupAddMembers(serverName *uint16, groupName *uint16, level uint32, buf *byte, totalEntries uint32) (neterr error) = netapi32.NetLocalGroupAddMembers

// netapi32 structures and codes (lmaccess.h, lmerr.h, winerror.h).
type userInfo1 struct {
	name, password *uint16
	passwordAge    uint32
	priv           uint32
	homeDir        *uint16
	comment        *uint16
	flags          uint32
	scriptPath     *uint16
}

type userInfo1003 struct{ password *uint16 }

type localGroupInfo1 struct{ name, comment *uint16 }

type localGroupMembersInfo3 struct{ domainAndName *uint16 }

const (
	userPrivUser       = 1
	ufScript           = 0x0001
	ufNormalAccount    = 0x0200
	nerrUserNotFound   = 2221
	nerrGroupNotFound  = 2220
	errorMemberInAlias = 1378
	errorNoSuchAlias   = 1376
)

// NewManager returns a Manager that changes the local accounts of the
// running system through netapi32 when root is that system ("/", "" or
// the system drive); for any other root every account change is refused
// (OfflineAccounts): an offline Windows tree's accounts live in its SAM
// hive, and netapi32 would change the machine ovfinit runs on instead.
func NewManager(root string, log *slog.Logger) *Manager {
	if !liveRoot(root) {
		return NewWindowsManager(root, log, OfflineAccounts{Root: root})
	}
	r := cmdrun.Exec{Log: log}
	return &Manager{Root: root, Log: log, Run: r, win: netapiAccounts{run: r}}
}

// liveRoot reports whether root is the running system's own root.
func liveRoot(root string) bool {
	switch root {
	case "", "/", `\`:
		return true
	}
	sys := os.Getenv("SystemDrive") // "C:"
	if sys == "" {
		sys = "C:"
	}
	return strings.EqualFold(filepath.Clean(root), sys+`\`)
}

// netapiAccounts is WinAccounts on the live machine.
type netapiAccounts struct{ run cmdrun.Runner }

func (netapiAccounts) UserExists(name string) (bool, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, err
	}
	var buf *byte
	err = windows.NetUserGetInfo(nil, n, 0, &buf)
	if buf != nil {
		windows.NetApiBufferFree(buf)
	}
	if errors.Is(err, windows.Errno(nerrUserNotFound)) {
		return false, nil
	}
	return err == nil, err
}

func (netapiAccounts) AddUser(name, password string) error {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	if password == "" {
		// Never a NULL password (UF_PASSWD_NOTREQD): applyWindows gives
		// an account without one a random password.
		return errors.New("NetUserAdd: no password")
	}
	ui := userInfo1{name: n, priv: userPrivUser, flags: ufScript | ufNormalAccount}
	if ui.password, err = windows.UTF16PtrFromString(password); err != nil {
		return errors.New("password: contains NUL")
	}
	var parm uint32
	if err := netUserAdd(nil, 1, (*byte)(unsafe.Pointer(&ui)), &parm); err != nil {
		return fmt.Errorf("NetUserAdd: %w (parameter %d)", err, parm)
	}
	return nil
}

func (netapiAccounts) SetPassword(name, password string) error {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(password)
	if err != nil {
		return errors.New("password: contains NUL")
	}
	ui := userInfo1003{password: p}
	var parm uint32
	if err := netUserSetInfo(nil, n, 1003, (*byte)(unsafe.Pointer(&ui)), &parm); err != nil {
		return fmt.Errorf("NetUserSetInfo: %w", err)
	}
	return nil
}

func (a netapiAccounts) ExpirePassword(name string) error {
	return cmdrun.Run(context.Background(), a.run, "net.exe", "user", name, "/logonpasswordchg:yes")
}

func (netapiAccounts) GroupExists(name string) (bool, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, err
	}
	var buf *byte
	err = netLocalGroupGetInfo(nil, n, 0, &buf)
	if buf != nil {
		windows.NetApiBufferFree(buf)
	}
	if errors.Is(err, windows.Errno(nerrGroupNotFound)) || errors.Is(err, windows.Errno(errorNoSuchAlias)) {
		return false, nil
	}
	return err == nil, err
}

func (netapiAccounts) AddGroup(name string) error {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	gi := localGroupInfo1{name: n}
	var parm uint32
	if err := netLocalGroupAdd(nil, 1, (*byte)(unsafe.Pointer(&gi)), &parm); err != nil {
		return fmt.Errorf("NetLocalGroupAdd: %w", err)
	}
	return nil
}

func (netapiAccounts) AddToGroup(group, user string) error {
	g, err := windows.UTF16PtrFromString(group)
	if err != nil {
		return err
	}
	u, err := windows.UTF16PtrFromString(user)
	if err != nil {
		return err
	}
	mi := localGroupMembersInfo3{domainAndName: u}
	err = netLocalGroupAddMembers(nil, g, 3, (*byte)(unsafe.Pointer(&mi)), 1)
	if err == nil || errors.Is(err, windows.Errno(errorMemberInAlias)) {
		return nil
	}
	return fmt.Errorf("NetLocalGroupAddMembers: %w", err)
}

func (netapiAccounts) AdminGroup() (string, error) {
	sid, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return "", err
	}
	name, _, _, err := sid.LookupAccount("")
	return name, err
}

func (netapiAccounts) DeleteUser(name string) error {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	err = netUserDel(nil, n)
	if err == nil || errors.Is(err, windows.Errno(nerrUserNotFound)) {
		return nil
	}
	return fmt.Errorf("NetUserDel: %w", err)
}

func syncAll() {}
