// Package mpm is the multi-pattern matcher that prefilters rules: it finds,
// in one pass over a buffer, which of many fast patterns occur.
//
// It owns pattern compilation (Builder), scanning (Matcher.Scan) and the
// per-goroutine dedup state (Scratch). It knows nothing of rules: the
// engine maps ids back to signatures and confirms the full rule.
//
// # Design: filter, then confirm
//
// Each distinct pattern is reduced to a short anchor (a 4-byte gram for
// long patterns, 2 bytes for short ones), folded (bit 5 set in every byte,
// which lowers ASCII letters in one OR) so nocase and case-sensitive
// patterns share one filter. Anchors are
// chosen to avoid bytes common in traffic (NUL, space, digits, frequent
// letters) and grams that many other patterns already use, because a
// firing anchor costs one verification per pattern behind it.
//
// Scan tests the folded gram at each buffer position against a hashed
// bitmap sized at ~16 bits per anchor (at most 256 KiB), collects the rare
// candidates, and only then walks their hash bucket and verifies the
// pattern (ASCII-folded compare for nocase, exact compare otherwise).
// Candidates are screened before the walk, because most are a common
// gram of a pattern that is not there and a walk costs cache misses: by
// a second hash of the gram, and by the 4 bytes after it (4-byte anchors)
// or the 4-byte window around it (2-byte anchors of longer patterns).
// Each anchor also carries a second window of its pattern, compared
// before the pattern's bytes or the scratch stamps are loaded.
// The 4-byte filter tests only every 2nd, 4th or 8th position when the
// patterns are long enough (each then has that many consecutive anchors,
// one of which always lands on a tested position); up to 256 shorter
// 4+ byte patterns (at most 32 of them all letters, which fire everywhere
// in text) are moved to the 2-byte filter to allow it, as one 2-byte pass
// costs less than a stride-1 4-byte pass, and so are patterns whose every
// run of strided anchors holds a byte run (NUL padding). 2-3 byte anchors use
// a direct 64 Kib bitmap over raw byte pairs; 1-byte patterns use the
// runtime's vectorised IndexByte; a group of one case-sensitive pattern
// is a plain bytes.Index. A confirmation whose outcome depends only on the
// anchor bytes (all patterns reported, or case-sensitive and different)
// is remembered, so runs of NULs or "AAAA" do not re-verify at every
// byte.
//
// A full DFA (Aho-Corasick) was not chosen: with ~25k ET Open patterns it
// needs hundreds of thousands of states, i.e. tens of MiB of transition
// table and a cache miss per byte, while the filter for the same set is a
// few MiB in total with a bitmap that stays in L2.
//
// # Semantics
//
// nocase folds ASCII letters only. An empty pattern occurs in every buffer.
// Duplicate patterns (same bytes and nocase) are verified once and report
// every id they were added with; each id is reported at most once per Scan.
//
// # Scratch
//
// Dedup uses a generation-stamped array indexed by dense id, so a Scan
// costs O(hits), not O(ids). One Scratch serves any number of Matchers; it
// grows (one allocation) the first time it meets a Matcher with more
// distinct ids than it holds. Scan itself never allocates.
package mpm
