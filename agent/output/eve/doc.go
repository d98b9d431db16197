// Package eve writes Suricata's EVE JSON: one object per line, in
// Suricata's field names and order, so tools built for Suricata (jq
// recipes, SIEM parsers, suricata-verify) read tapwatch's output
// unchanged. Records are appended by hand into a reused buffer: the
// writer sits on the alert path and must not allocate per record.
//
// It also owns the Community ID v1 flow hash and a size-rotated file
// output.
package eve
