package detect

import (
	"os"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func keywordBuffer(name string) (keyword.Buffer, bool) { return keyword.BufferByName(name) }
