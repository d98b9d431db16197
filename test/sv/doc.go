// Package sv runs the suricata-verify tests of the corpus against
// `tapwatch replay` the way upstream's run.py does (pcap, rules, config,
// args), and evaluates the tests' alert checks on the EVE output with
// upstream's matching rules. The runner calls replay in-process through an
// injected function, so tests of the runner fake it.
package sv
