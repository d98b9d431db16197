package rules

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Class is one classification.config entry.
type Class struct {
	Name     string
	Desc     string
	Priority int
}

// Classes maps classtype short names to their entries.
type Classes map[string]Class

// LoadClassification reads a classification.config file.
func LoadClassification(path string) (Classes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open classification file %s: %w", path, err)
	}
	defer f.Close()
	c, err := ParseClassification(f)
	if err != nil {
		return nil, fmt.Errorf("classification file %s: %w", path, err)
	}
	return c, nil
}

// ParseClassification reads `config classification: name,desc,prio` lines.
func ParseClassification(r io.Reader) (Classes, error) {
	out := Classes{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' {
			continue
		}
		rest, ok := strings.CutPrefix(t, "config classification:")
		if !ok {
			continue
		}
		parts := strings.Split(rest, ",")
		if len(parts) < 3 {
			return nil, fmt.Errorf("line %d: want name,description,priority", n)
		}
		prio, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1]))
		if err != nil {
			return nil, fmt.Errorf("line %d: priority %q is not a number", n, parts[len(parts)-1])
		}
		name := strings.TrimSpace(parts[0])
		out[strings.ToLower(name)] = Class{Name: name, Desc: strings.TrimSpace(strings.Join(parts[1:len(parts)-1], ",")), Priority: prio}
	}
	return out, sc.Err()
}
