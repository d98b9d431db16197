package rules

import (
	"errors"
	"github.com/tapwatch/tapwatch/test/testutil"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestLoadCorpusRules(t *testing.T) {
	root := filepath.Join(testutil.Corpus(t), "rules")
	for _, set := range []string{"et-open", "snort3-community", "suricata-builtin"} {
		t.Run(set, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(root, set, "*.rules"))
			if len(files) == 0 {
				t.Fatalf("no rule files in %s", set)
			}
			loaded, failed := 0, 0
			reasons := map[string]int{}
			examples := map[string]string{}
			for _, f := range files {
				rs, errs := ParseFile(f, DefaultVars())
				loaded += len(rs)
				failed += len(errs)
				for _, e := range errs {
					var pe *ParseError
					r := "other"
					if errors.As(e, &pe) {
						r = pe.Reason
					}
					reasons[r]++
					if _, ok := examples[r]; !ok {
						examples[r] = e.Error()
					}
				}
			}
			keys := make([]string, 0, len(reasons))
			for k := range reasons {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return reasons[keys[i]] > reasons[keys[j]] })
			for _, k := range keys {
				t.Logf("%6d %s   e.g. %s", reasons[k], k, strings.TrimSpace(examples[k]))
			}
			t.Logf("%s: %d loaded, %d failed", set, loaded, failed)
			if loaded == 0 && set != "suricata-builtin" {
				t.Fatalf("no rules loaded from %s", set)
			}
		})
	}
}
