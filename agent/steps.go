package agent

// Steps is the first-boot pipeline, in the order it runs. Read it top to
// bottom: every effect on the machine happens after "validate", which checks
// the whole environment first.
func Steps() []Step {
	return []Step{
		{Name: "find-environment", Freq: PerBoot, Run: findEnvironment},
		{Name: "parse-environment", Freq: PerBoot, Run: parseEnvironment},
		{Name: "identity", Freq: PerBoot, Run: identity},
		{Name: "validate", Freq: PerBoot, Run: validate},
		{Name: "bootcmd", Freq: PerBoot, Idle: idleBootcmd, Run: cloudBootcmd},               // user-data's, as cloud-init: every boot, first
		{Name: "write-files", Freq: PerInstance, Idle: idleWriteFiles, Run: cloudWriteFiles}, // user-data's write_files
		{Name: "hostname", Freq: PerInstance, Idle: idleHostname, Run: setHostname},
		{Name: "user", Freq: PerInstance, Run: createUser},
		{Name: "cloud-users", Freq: PerInstance, Idle: idleCloudUsers, Run: cloudUsers}, // user-data's groups, users, chpasswd
		{Name: "host-key", Freq: PerInstance, Run: generateHostKey},
		// After the steps that need no network, which run while udev
		// still names the NICs (the network step waits for it), and
		// before the SSH server: nobody reaches it before the network is
		// up, and connections that piled up meanwhile (a manager retrying
		// every second) find the port closed, instead of all
		// exchanging keys at once while the last steps run.
		{Name: "network", Freq: PerBoot, Idle: idleNetwork, Run: configureNetwork},
		{Name: "sshd", Freq: PerBoot, Run: startSSH},
		{Name: "packages", Freq: PerInstance, Idle: idlePackages, Run: cloudPackages},
		{Name: "write-files-deferred", Freq: PerInstance, Idle: idleWriteFilesDeferred, Run: cloudWriteFilesDeferred},
		{Name: "system", Freq: PerInstance, Idle: idleSystem, Run: waitSystem},          // wait for the members this one comes after
		{Name: "script", Freq: PerBoot, Idle: idleScripts, Run: runScripts},             // each script has its own frequency
		{Name: "runcmd", Freq: PerInstance, Idle: idleRuncmd, Run: cloudRuncmd},         // user-data's runcmd, then a #! user-data script
		{Name: "cloud-final", Freq: PerInstance, Idle: idleCloudFinal, Run: cloudFinal}, // phone_home, final_message, power_state
		{Name: "forget-secrets", Freq: PerBoot, Run: forgetSecrets},
	}
}
