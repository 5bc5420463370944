package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// Reservation is a user added by `ovfinit reserve` for one reservation of
// the machine; sanitize and seal remove it. They are recorded in
// STATE_DIR/reservations.json (mode 0600).
type Reservation struct {
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"` // zero: no expiry given
	Admin   bool      `json:"admin,omitempty"`
}

func reservationsPath(stateDir string) string {
	return path.Join("/", stateDir, "reservations.json")
}

// Reservations returns the recorded reservations; none when there is no file.
func Reservations(root, stateDir string) ([]Reservation, error) {
	p := reservationsPath(stateDir)
	var data []byte
	err := withFS(root, func(rfs *rootfs.FS) (err error) {
		data, err = rfs.ReadFileCheck(p, 4<<20, stateFile)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rs []Reservation
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return rs, nil
}

func saveReservations(root, stateDir string, rs []Reservation) error {
	data, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	return withFS(root, func(rfs *rootfs.FS) error {
		return rfs.WriteFile(reservationsPath(stateDir), append(data, '\n'), 0o600, rootfs.Keep)
	})
}

// ReserveRequest is what `ovfinit reserve` asks for.
type ReserveRequest struct {
	User         string
	Keys         []string // authorized_keys lines
	PasswordHash string   // a crypt(3) hash, or ""
	Admin        bool
	Expires      time.Time // zero: none
}

// ErrNotReservation is returned when asked to reserve over, or sanitize, an
// account that ovfinit did not create for a reservation.
var ErrNotReservation = errors.New("not a reservation user")

// Reserve adds a reservation user: the account (with its keys and password
// hash), its keys in the key store, and the reservation record. An account
// that exists but is not a reservation is refused, so that sanitize can
// never remove an account it did not make.
func Reserve(ctx context.Context, m *Manager, stateDir string, r ReserveRequest, now time.Time) (*Account, error) {
	if err := ValidateName(r.User); err != nil {
		return nil, err
	}
	if r.PasswordHash != "" && !IsHash(r.PasswordHash) {
		return nil, errors.New("--password-hash: not a crypt(3) hash ($6$, $5$, $y$, $2b$)")
	}
	for i, k := range r.Keys {
		if _, err := ParseKeys(k); err != nil {
			return nil, fmt.Errorf("--key %d: %w", i+1, err)
		}
	}
	rs, err := Reservations(m.Root, stateDir)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rs, func(x Reservation) bool { return x.User == r.User })
	exists, err := m.userExists(r.User)
	if err != nil {
		return nil, err
	}
	if exists && i < 0 {
		return nil, fmt.Errorf("user %s exists and is %w: pick another name", r.User, ErrNotReservation)
	}
	u := User{Name: r.User, Keys: r.Keys, Admin: r.Admin, Password: NewPassword(r.PasswordHash), Shell: "/bin/sh"}
	if err := m.checkReserve(u); err != nil {
		return nil, err
	}
	// Record first: a crash after the account is made must still leave it
	// known as a reservation, so that sanitize removes it.
	rec := Reservation{User: r.User, Created: now.UTC(), Expires: r.Expires, Admin: r.Admin}
	if i >= 0 {
		rec.Created = rs[i].Created
		rs[i] = rec
	} else {
		rs = append(rs, rec)
	}
	if err := saveReservations(m.Root, stateDir, rs); err != nil {
		return nil, fmt.Errorf("recording the reservation: %w", err)
	}
	a, err := m.Ensure(ctx, u)
	if err != nil {
		return nil, err
	}
	if err := StoreKeys(m.Root, stateDir, r.User, r.Keys); err != nil {
		return nil, err
	}
	return a, nil
}

// SanitizeOptions says which reservations sanitize removes, and how.
type SanitizeOptions struct {
	Users          []string      // these reservation users
	All            bool          // every reservation
	KeepHome       bool          // leave the home directories
	IfNoLoginSince time.Duration // >0: only when nobody logged in within this long
	Now            time.Time
	// Kill ends every process of uid (their SSH sessions with them). Nil
	// kills nothing (an offline root has no processes).
	Kill func(uid int) error
}

// SanitizeResult is what sanitize did.
type SanitizeResult struct {
	Removed []string
	Kept    []string // skipped: someone logged in within IfNoLoginSince
}

// Sanitize removes reservation users: their processes, account, home
// (unless KeepHome), stored keys, login record and reservation. With
// IfNoLoginSince, it removes nobody if any of them logged in (or was
// reserved) within that time.
func Sanitize(ctx context.Context, m *Manager, stateDir string, o SanitizeOptions) (*SanitizeResult, error) {
	rs, err := Reservations(m.Root, stateDir)
	if err != nil {
		return nil, err
	}
	var targets []Reservation
	if o.All {
		targets = rs
	} else {
		if len(o.Users) == 0 {
			return nil, errors.New("give --user NAME or --all-reservations")
		}
		for _, u := range o.Users {
			if err := ValidateName(u); err != nil {
				return nil, fmt.Errorf("--user: %w", err)
			}
			i := slices.IndexFunc(rs, func(x Reservation) bool { return x.User == u })
			if i < 0 {
				return nil, fmt.Errorf("--user %s: %w (ovfinit reserve did not create it)", u, ErrNotReservation)
			}
			targets = append(targets, rs[i])
		}
	}
	res := &SanitizeResult{}
	if o.IfNoLoginSince > 0 {
		cutoff := o.Now.Add(-o.IfNoLoginSince)
		for _, r := range targets {
			last := r.Created
			if l, ok, err := LastLogin(m.Root, stateDir, r.User); err != nil {
				return nil, err
			} else if ok && l.Time.After(last) {
				last = l.Time
			}
			if last.After(cutoff) {
				for _, t := range targets {
					res.Kept = append(res.Kept, t.User)
				}
				return res, nil
			}
		}
	}
	db := &DB{}
	if m.win == nil {
		if db, err = m.readDB(); err != nil {
			return nil, err
		}
	}
	for _, r := range targets {
		if e := passwd.Find(db.passwd, r.User); len(e) > 2 && o.Kill != nil {
			if uid, err := strconv.Atoi(e[2]); err == nil && uid != 0 {
				if err := o.Kill(uid); err != nil {
					return res, fmt.Errorf("ending the processes of %s: %w", r.User, err)
				}
			}
		}
		if m.win != nil && r.Admin {
			// Its keys were also given to Win32-OpenSSH's administrators file.
			keys, err := StoredKeys(m.Root, stateDir, r.User)
			if err != nil {
				return res, err
			}
			if err := removeAdminKeys(m.Root, keys); err != nil {
				return res, err
			}
		}
		if err := m.Remove(ctx, r.User, o.KeepHome); err != nil {
			return res, err
		}
		if err := RemoveStoredKeys(m.Root, stateDir, r.User); err != nil {
			return res, err
		}
		if err := RemoveLogins(m.Root, stateDir, r.User); err != nil {
			return res, err
		}
		rs = slices.DeleteFunc(rs, func(x Reservation) bool { return x.User == r.User })
		if err := saveReservations(m.Root, stateDir, rs); err != nil {
			return res, err
		}
		res.Removed = append(res.Removed, r.User)
	}
	return res, nil
}

// userExists reports whether the account exists, on any OS.
func (m *Manager) userExists(name string) (bool, error) {
	if m.win != nil {
		return m.win.UserExists(name)
	}
	db, err := m.readDB()
	if err != nil {
		return false, err
	}
	return db.HasUser(name), nil
}
