// Package keyword holds the rule options, one file per keyword (or per
// family of one-line keywords: meta.go, content_mods.go), each with a pure
// parse function and a pure match function, and the registry through which
// the rule parser finds them. Adding a keyword touches its own file and its
// test, nothing else.
//
// It also owns the two things every keyword shares: Sig, the signature the
// keywords build, and the inspection buffers (buffers.go): an int Buffer id
// per name (pkt_data, http.uri, dns.query, ...), so sticky buffers, legacy
// modifiers and pcre flags all record where a test applies, and app-layer
// parsers hand the engine buffers by id. Inspect (inspect.go) evaluates a
// rule's ops on one buffer with Suricata's backtracking over relative
// matches.
package keyword
