package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExpandPaths turns rule paths as operators give them — files, directories
// (walked for *.rules) and globs — into a sorted list of files. A path that
// matches nothing is an error naming it.
func ExpandPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("rule path %q: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("rule path %q: no such file or directory", p)
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("rule path: %w", err)
			}
			if !st.IsDir() {
				out = append(out, m)
				continue
			}
			err = filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && strings.HasSuffix(path, ".rules") {
					out = append(out, path)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("rule directory %s: %w", m, err)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ParseFiles parses every file; one bad rule or file never stops the rest.
func ParseFiles(files []string, vars Vars) ([]*Rule, []error) {
	var all []*Rule
	var errs []error
	for _, f := range files {
		rs, es := ParseFile(f, vars)
		all = append(all, rs...)
		errs = append(errs, es...)
	}
	return all, errs
}
