// Package cli is the tapwatch command line: the inventory and status views
// over the control socket, the libvirt hook entry point, and the offline
// commands (replay, rules check, lab) that run in process. The main package
// only calls Main.
package cli
