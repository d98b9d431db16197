package detect

// ResetHostState forgets what the engine keeps per host (threshold
// counters, xbits), so that a benchmark pass over the same frames does the
// work of the first one again. No Worker may be running.
func (e *Engine) ResetHostState() { e.hosts = &hostState{} }
