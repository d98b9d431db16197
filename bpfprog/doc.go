// Package bpfprog owns tapwatch's eBPF datapath: the TC programs that run on
// VM taps and bridge uplinks (C in c/, compiled by bpf2go into the committed
// tapwatch_bpfel.{go,o}), and a small Go API over them: Load, the typed maps
// (counters, flow bypass, block lists, monitored MACs, zones, config) and a
// ring-buffer Reader that returns parsed records.
//
// It does not attach programs to interfaces (that is package vswitch) and it
// never logs; every error names the object and, where there is one, the fix.
//
// Regenerate the bindings with `go generate ./bpfprog/...` (clang and
// libbpf-dev required); the output is deterministic and committed.
package bpfprog
