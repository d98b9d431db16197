package tls

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func TestTmpParseContent(t *testing.T) {
	dir, tests := svIndex(t)
	n, bad := 0, 0
	for _, tc := range tests {
		for _, rf := range tc.RulesFiles {
			for _, p := range rulePatterns(t, filepath.Join(dir, rf)) {
				_ = p
			}
		}
	}
	_ = dir
	// re-run the regexes to get raw strings
	for _, tc := range tests {
		for _, rf := range tc.RulesFiles {
			raw := readRaw(t, filepath.Join(dir, rf))
			for _, m := range stickyContent.FindAllStringSubmatch(raw, -1) {
				n++
				b, err := keyword.ParseContent(m[2])
				if err != nil || !bytes.Equal(b, decodeContent(m[2])) {
					bad++
					t.Logf("%s %q: %q %v vs %q", tc.Name, m[2], b, err, decodeContent(m[2]))
				}
			}
			for _, m := range legacyValue.FindAllStringSubmatch(raw, -1) {
				n++
				b, err := keyword.ParseContent(m[2])
				if err != nil || !bytes.Equal(b, decodeContent(m[2])) {
					bad++
					t.Logf("%s %q: %q %v vs %q", tc.Name, m[2], b, err, decodeContent(m[2]))
				}
			}
		}
	}
	t.Logf("%d contents, %d differ", n, bad)
}

func readRaw(t *testing.T, p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
