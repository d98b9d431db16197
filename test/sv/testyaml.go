package sv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// IndexEntry is one test of the corpus INDEX.json (the fields the runner
// uses).
type IndexEntry struct {
	Name              string   `json:"name"`
	Tier              int      `json:"tier"`
	AlertCheckIndices []int    `json:"alert_check_indices"`
	SimulateIPS       bool     `json:"simulate_ips"`
	RulesFiles        []string `json:"rules_files"`
	Pcaps             []struct {
		Path    string `json:"path"`
		Present bool   `json:"present"`
	} `json:"pcaps"`
}

// LoadIndex reads INDEX.json of a suricata-verify directory.
func LoadIndex(svDir string) ([]IndexEntry, error) {
	p := filepath.Join(svDir, "INDEX.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("sv: read index: %w (pass -corpus pointing at the corpus directory)", err)
	}
	var idx struct {
		Tests []IndexEntry `json:"tests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("sv: parse %s: %w", p, err)
	}
	return idx.Tests, nil
}

// TestYAML is the part of a test.yaml the runner reads.
type TestYAML struct {
	Requires map[string]any
	Args     []string
	Pcap     string
	Checks   []map[string]any
}

// LoadTestYAML reads dir/test.yaml with YAML 1.1 scalars (yes/no are
// booleans, as PyYAML reads them upstream).
func LoadTestYAML(path string) (*TestYAML, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sv: read test: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("sv: %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return &TestYAML{}, nil
	}
	v, err := toValue(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("sv: %s: %w", path, err)
	}
	m, _ := v.(map[string]any)
	t := &TestYAML{}
	t.Requires, _ = m["requires"].(map[string]any)
	switch a := m["args"].(type) {
	case string:
		t.Args = []string{a}
	case []any:
		for _, e := range a {
			t.Args = append(t.Args, fmt.Sprint(e))
		}
	}
	if p, ok := m["pcap"].(string); ok {
		t.Pcap = p
	}
	if cs, ok := m["checks"].([]any); ok {
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			t.Checks = append(t.Checks, cm)
		}
	}
	return t, nil
}

func toValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return toValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		if n.Tag == "!!str" && n.Style == 0 {
			switch strings.ToLower(n.Value) {
			case "yes", "on", "y":
				return true, nil
			case "no", "off", "n":
				return false, nil
			}
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, nil
}

// ParseFilter turns a check's "filter" mapping into a Filter.
func ParseFilter(m map[string]any) (*Filter, error) {
	f := &Filter{Match: map[string]any{}}
	if fn, ok := m["filename"].(string); ok {
		f.Filename = fn
	}
	if c, ok := m["count"]; ok {
		n, ok := c.(int)
		if !ok {
			return nil, fmt.Errorf("sv: filter count %v is not an integer", c)
		}
		f.Count = &n
	}
	if mm, ok := m["match"].(map[string]any); ok {
		for k, v := range mm {
			f.Match[k] = v
		}
	}
	// has-key / not-has-key may also sit beside match.
	for _, k := range []string{"has-key", "not-has-key"} {
		if v, ok := m[k]; ok {
			f.Match[k] = v
		}
	}
	return f, nil
}
