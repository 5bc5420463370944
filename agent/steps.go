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
		{Name: "hostname", Freq: PerInstance, Run: setHostname},
		{Name: "network", Freq: PerBoot, Run: configureNetwork},
		{Name: "user", Freq: PerInstance, Run: createUser},
		{Name: "host-key", Freq: PerInstance, Run: generateHostKey},
		{Name: "sshd", Freq: PerBoot, Run: startSSH},
		{Name: "script", Freq: PerBoot, Run: runScripts}, // each script has its own frequency
		{Name: "forget-secrets", Freq: PerBoot, Run: forgetSecrets},
	}
}
