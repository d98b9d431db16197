// Package rules parses Suricata and Snort 3 rules into an AST: actions,
// protocols, address and port expressions with variables, and options with
// their positions, so errors read file:line:col. It imports no other part of
// tapwatch: the detection core knows packets and flows, never VMs or kernels.
package rules
