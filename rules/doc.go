// Package rules parses Suricata and Snort 3 rules into an AST: actions,
// protocols, address and port expressions with variables, and options with
// their positions, so errors read file:line:col. Each option is applied
// through the keyword registry (package keyword) as it is parsed, so a
// Rule that parses also carries the signature the engine compiles; one bad
// rule is an error in the returned list and never stops the rest.
// It also reads classification.config. It imports nothing outside rules/:
// the detection core knows packets and flows, never VMs or kernels.
package rules
