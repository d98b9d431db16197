package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandPathsAndParseFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(sub, 0o755)
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "a.rules"), `alert tcp any any -> any 80 (msg:"a"; content:"x"; sid:1;)`+"\n")
	write(filepath.Join(sub, "b.rules"), "alert tcp any any -> any 80 (msg:\"b\"; sid:2;)\nalert tcp any any -> (sid:3;)\n")
	write(filepath.Join(dir, "notes.txt"), "not rules")

	files, err := ExpandPaths([]string{dir})
	if err != nil || len(files) != 2 || !strings.HasSuffix(files[0], "a.rules") {
		t.Fatalf("dir: %v %v", files, err)
	}
	if files, err := ExpandPaths([]string{filepath.Join(dir, "*.rules")}); err != nil || len(files) != 1 {
		t.Fatalf("glob: %v %v", files, err)
	}
	if _, err := ExpandPaths([]string{filepath.Join(dir, "missing.rules")}); err == nil || !strings.Contains(err.Error(), "missing.rules") {
		t.Fatalf("missing path: %v", err)
	}
	rs, errs := ParseFiles(files, Vars{})
	if len(rs) != 2 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "b.rules:2:") {
		t.Fatalf("parse: %d rules, errors %v", len(rs), errs)
	}
}
