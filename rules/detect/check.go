package detect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tapwatch/tapwatch/rules"
)

// Check loads and compiles the rules at paths (files, or directories
// walked for *.rules) the way the engine would, printing each failure as
// file:line:col: message, then failures grouped by reason with counts,
// then `N loaded, M failed`. With strict, any failure makes err non-nil.
func Check(paths []string, vars rules.Vars, opts Options, w io.Writer, strict bool) (loaded, failed int, err error) {
	var files []string
	for _, p := range paths {
		st, serr := os.Stat(p)
		if serr != nil {
			return 0, 0, fmt.Errorf("rules check: %w", serr)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		werr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".rules") {
				files = append(files, path)
			}
			return nil
		})
		if werr != nil {
			return 0, 0, fmt.Errorf("rules check: walk %s: %w", p, werr)
		}
	}
	sort.Strings(files)
	var all []*rules.Rule
	var errs []error
	for _, f := range files {
		rs, es := rules.ParseFile(f, vars)
		all = append(all, rs...)
		errs = append(errs, es...)
	}
	eng, cerr := Compile(all, opts)
	if cerr != nil {
		return 0, 0, fmt.Errorf("rules check: %w", cerr)
	}
	errs = append(errs, eng.Errors...)
	reasons := map[string]int{}
	for _, e := range errs {
		fmt.Fprintln(w, e.Error())
		reasons[reasonOf(e)]++
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		n := reasons[k]
		unit := "rules"
		if n == 1 {
			unit = "rule"
		}
		fmt.Fprintf(w, "%s: %d %s\n", k, n, unit)
	}
	loaded, failed = eng.Len(), len(errs)
	fmt.Fprintf(w, "%d loaded, %d failed\n", loaded, failed)
	if strict && failed > 0 {
		return loaded, failed, fmt.Errorf("rules check: %d rules failed: fix them or run without strict", failed)
	}
	return loaded, failed, nil
}

func reasonOf(e error) string {
	var pe *rules.ParseError
	if errors.As(e, &pe) && pe.Reason != "" {
		return pe.Reason
	}
	var ce *CompileError
	if errors.As(e, &ce) {
		msg := ce.Msg
		if i := strings.Index(msg, ":"); i > 0 {
			msg = msg[:i]
		}
		return msg
	}
	return "other"
}
