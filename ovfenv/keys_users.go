package ovfenv

var userKeys []Key

var (
	KeyUser = add(&userKeys, Key{Name: "ovfinit.user", Group: "Users", Type: TypeString, Default: "ovfinit", Label: "User name",
		Description: "Name of the user to create (lower-case letters, digits, _, -; 1-32 characters, not starting with a digit or -). An existing account of that exact name is kept; only missing groups, the password and the keys are brought up to date. `root` and other system accounts (uid outside `/etc/login.defs` `UID_MIN`-`UID_MAX`, 1000-60000 by default) are refused unless `ovfinit.user.allow-system` is true, and so is a new user whose name is taken by a system group, a group with members or another account's primary group."})
	KeyPublicKeys = add(&userKeys, Key{Name: "public-keys", Group: "Users", Type: TypeList, Label: "SSH public keys",
		Description: "SSH public keys for that user, one per line (cloud-init's key). They go to `~/.ssh/authorized_keys` and to ovfinit's own key store (`STATE_DIR/keys/USER`), which the embedded SSH server reads too."})
	KeyPassword = add(&userKeys, Key{Name: "password", Group: "Users", Type: TypeString, Label: "Password", Secret: true,
		Description: "The user's password (cloud-init's key). A crypt(3) hash (`$6$`, `$5$`, yescrypt `$y$`, bcrypt `$2b$`) is stored as is; anything else is taken as clear text and hashed before it touches the disk, with yescrypt when `/etc/login.defs` says `ENCRYPT_METHOD YESCRYPT`, SHA-512 crypt otherwise. It is never logged or saved in clear. Unset: the account has no password (SSH keys only)."})
	KeyUserUID = add(&userKeys, Key{Name: "ovfinit.user.uid", Group: "Users", Type: TypeInt, Min: 1, Max: 60000, Label: "User id",
		Description: "Numeric user id (1-60000). Default: the lowest free id from 1000. Validation fails, before anything changes, if the id is another user's or the account exists with another id; an id outside `UID_MIN`-`UID_MAX` needs `ovfinit.user.allow-system`."})
	KeyUserGroup = add(&userKeys, Key{Name: "ovfinit.user.group", Group: "Users", Type: TypeString, Label: "Primary group",
		Description: "Primary group of a new account; created when missing. Default: a group named like the user. An existing account with another primary group fails validation; a privileged group (see `ovfinit.user.groups`) needs `ovfinit.user.allow-system`."})
	KeyUserGroups = add(&userKeys, Key{Name: "ovfinit.user.groups", Group: "Users", Type: TypeList, Label: "Groups",
		Description: "Supplementary groups, comma- or line-separated; each is created when missing and the user is added to it. The privileged groups `root`, `sys`, `shadow`, `disk`, `kmem`, `mem`, `tty`, `adm` and `utmp`, the administrator groups `sudo`, `wheel` and `admin` (use `ovfinit.user.admin`), and another user's own group (named like it and its primary group) are refused unless `ovfinit.user.allow-system` is true."})
	KeyUserShell = add(&userKeys, Key{Name: "ovfinit.user.shell", Group: "Users", Type: TypeString, Default: "/bin/sh", Label: "Login shell",
		Description: "Login shell of a new account (an absolute path). When the image has `/etc/shells`, a shell it does not list (other than `nologin` and `false`) needs `ovfinit.user.allow-system`. An existing account with another shell fails validation."})
	KeyUserHome = add(&userKeys, Key{Name: "ovfinit.user.home", Group: "Users", Type: TypeString, Default: "/home/USER", Label: "Home directory",
		Description: "Home directory of a new account (an absolute path without `..`). A system directory is refused unless `ovfinit.user.allow-system` is true: `/`, `/home`, `/var`, `/var/lib`, `/srv`, `/opt`, `/mnt`, `/media` themselves, and anything in `/etc`, `/usr`, `/bin`, `/sbin`, `/lib*`, `/boot`, `/dev`, `/proc`, `/sys`, `/run`, `/root`, `/tmp`, `/var/tmp`, `/var/log`, `/var/spool`, `/var/cache`, `/var/mail`, `/var/run` or `/var/lock`. A home in ovfinit's state or runtime directory (its key store), one that exists and belongs to someone else, or is a symlink, always fails validation; so does an existing account with another home."})
	KeyUserAdmin = add(&userKeys, Key{Name: "ovfinit.user.admin", Group: "Users", Type: TypeBool, Default: "false", Label: "Administrator",
		Description: "Give the user administrator rights: on Linux and FreeBSD a sudoers drop-in `/etc/sudoers.d/ovfinit-USER` (mode 0440, `NOPASSWD: ALL`) and membership of the `sudo` and `wheel` groups where the system has them; on Windows, the Administrators group."})
	KeyUserLockPassword = add(&userKeys, Key{Name: "ovfinit.user.lock-password", Group: "Users", Type: TypeBool, Default: "false", Label: "Lock password",
		Description: "Lock the password (a `!` before the hash): password logins fail, SSH keys still work."})
	KeyUserExpirePassword = add(&userKeys, Key{Name: "ovfinit.user.expire-password", Group: "Users", Type: TypeBool, Default: "false", Label: "Expire password",
		Description: "Force a password change at the first login (shadow's last-change day set to 0). Needs `password`."})
	KeyUserAllowSystem = add(&userKeys, Key{Name: "ovfinit.user.allow-system", Group: "Users", Type: TypeBool, Default: "false", Label: "Allow system accounts",
		Description: "Accept, with a warning in the log, what the system-account policy refuses: `root` or another system account, a system uid, a system directory as home, a privileged or administrator group in `ovfinit.user.groups` or `ovfinit.user.group`, a shell `/etc/shells` does not list. Clashes with existing accounts (a taken uid, a home of someone else's) and a home in ovfinit's own directories are never accepted."})
)
