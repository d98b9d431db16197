// Package detect compiles parsed rules into an engine and runs it: per
// packet it tracks the flow, reassembles TCP, runs the app-layer parsers,
// prefilters candidate rules with the multi-pattern matcher by signature
// group (protocol, port, direction) and evaluates them fully, producing
// alerts and verdicts. The same engine serves pcap replay and live traffic.
package detect
