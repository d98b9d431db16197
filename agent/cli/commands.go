package cli

// Default returns the tapwatch CLI with every command.
func Default() *App {
	return New(
		VMsCommand(),
		StatusCommand(),
		AlertsCommand(),
		HookCommand(),
		ReplayCommand(),
		RulesCommand(),
		LabCommand(),
		FlowsCommand(),
		PcapCommand(),
	)
}
