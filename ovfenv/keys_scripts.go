package ovfenv

var scriptKeys []Key

var (
	KeyScript = add(&scriptKeys, Key{Name: "ovfinit.script", Group: "Scripts", Type: TypeBase64, Label: "Customization script",
		Description: "A Starlark script, base64-encoded (see docs/scripting.md). Runs after the image's scripts, after the network, user and SSH server are up and before ready; once per instance unless its header says `# frequency: per-boot` or `once`."})
	KeyUserData = add(&scriptKeys, Key{Name: "user-data", Group: "Scripts", Type: TypeBase64, Label: "User data",
		Description: "cloud-init's user data, base64-encoded (gzip-compressed data is uncompressed first). By its first line: `#!starlark` is a Starlark script run after `ovfinit.script`; `#cloud-config` is applied as cloud-init applies it (users, groups, keys, passwords, host name, write_files, bootcmd, runcmd, packages, phone_home, final_message, power_state), every other module refused with its line; another `#!` script runs once per instance after everything else. MIME multipart, `#include` and the other forms, and data that is not base64, fail validation. See docs/cloud-config.md."})
	KeyScripts = add(&scriptKeys, Key{Name: "ovfinit.scripts", Split: SplitWords, Group: "Scripts", Type: TypeList, Label: "Image scripts to run",
		Description: "Names of the image's scripts (in /etc/ovfinit/scripts.d, or %ProgramData%\\ovfinit\\scripts.d on Windows) to run, in this order, separated by commas or spaces; `.star` may be left out. Unset: every `*.star` there not starting with `_`, in name order. A name that is not there fails the boot before any script runs."})
	KeyScriptTimeout = add(&scriptKeys, Key{Name: "ovfinit.script.timeout", Group: "Scripts", Type: TypeInt, Default: "300", Min: 1, Max: 86400, Label: "Script time limit (s)",
		Description: "Wall-clock limit of each script, in seconds (1 to 86400). A script still running then is stopped and fails."})
	KeyScriptMaxSteps = add(&scriptKeys, Key{Name: "ovfinit.script.max-steps", Group: "Scripts", Type: TypeInt, Default: "10000000", Min: 1000, Label: "Script step limit",
		Description: "Limit of Starlark computation steps of each script (at least 1000). Time spent in commands does not count."})
	KeyScriptAllowWhile = add(&scriptKeys, Key{Name: "ovfinit.script.allow-while", Group: "Scripts", Type: TypeBool, Default: "false", Label: "Allow while and recursion",
		Description: "When true, scripts may use `while` loops and recursive functions; they are still bound by the step and time limits."})
	KeyScriptHTTP = add(&scriptKeys, Key{Name: "ovfinit.script.http", Group: "Scripts", Type: TypeBool, Default: "false", Label: "Allow scripts web requests",
		Description: "When true, scripts have the `http` module (`http.get`, `http.post`; see docs/scripting.md). Off by default: then `http` is an undefined name and a script using it fails validation before anything runs."})
)
