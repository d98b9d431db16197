package http

import (
	"encoding/json"
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCorpusEVE compares EVE() with the "http" fields suricata-verify
// expects in http and fileinfo records: for each positive filter that only
// looks at fields EVE() produces, some transaction must carry all of them.
func TestCorpusEVE(t *testing.T) {
	root := filepath.Join(testutil.Corpus(t), "suricata-verify")
	raw, err := os.ReadFile(filepath.Join(root, "INDEX.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Tests []struct {
			Name  string `json:"name"`
			Pcaps []struct {
				Path string `json:"path"`
			} `json:"pcaps"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"hostname": true, "url": true, "http_user_agent": true, "http_content_type": true,
		"http_method": true, "protocol": true, "status": true, "length": true, "http_refer": true, "redirect": true, "http_port": true}
	checked, good := 0, 0
	var bad []string
	for _, tc := range idx.Tests {
		if len(tc.Pcaps) != 1 {
			continue
		}
		yraw, err := os.ReadFile(filepath.Join(root, tc.Name, "test.yaml"))
		if err != nil {
			continue
		}
		var doc struct {
			Checks []struct {
				Filter struct {
					Count int            `yaml:"count"`
					Match map[string]any `yaml:"match"`
				} `yaml:"filter"`
			} `yaml:"checks"`
		}
		if yaml.Unmarshal(yraw, &doc) != nil {
			continue
		}
		var txs []*Tx
		loaded := false
		for _, c := range doc.Checks {
			m := c.Filter.Match
			et, _ := m["event_type"].(string)
			if c.Filter.Count < 1 || (et != "http" && et != "fileinfo") {
				continue
			}
			want := map[string]any{}
			usable := true
			for k, v := range m {
				switch {
				case k == "event_type" || strings.HasPrefix(k, "fileinfo.") || k == "app_proto" || k == "proto" ||
					k == "src_port" || k == "dest_port" || k == "src_ip" || k == "dest_ip" || k == "pcap_cnt":
				case strings.HasPrefix(k, "http.") && known[strings.TrimPrefix(k, "http.")]:
					want[strings.TrimPrefix(k, "http.")] = v
				default:
					usable = false
				}
			}
			if !usable || len(want) == 0 {
				continue
			}
			if !loaded {
				loaded = true
				txs = parseCapture(t, filepath.Join(root, tc.Pcaps[0].Path), testConfig(filepath.Join(root, tc.Name, "test.yaml")))
			}
			checked++
			found := false
			for _, x := range txs {
				eve := x.EVE()
				all := true
				for k, v := range want {
					if fmt.Sprint(eve[k]) != fmt.Sprint(v) {
						all = false
					}
				}
				found = found || all
			}
			if found {
				good++
			} else {
				bad = append(bad, fmt.Sprintf("%s%v", tc.Name, want))
			}
		}
	}
	t.Logf("EVE http fields: %d/%d expected records matched", good, checked)
	if len(bad) > 0 {
		t.Logf("unmatched: %s", strings.Join(bad, "\n  "))
	}
	if checked > 0 && good*100 < checked*95 {
		t.Errorf("only %d/%d EVE expectations met", good, checked)
	}
}

// parseCapture runs every HTTP flow of a capture and returns all txs.
func parseCapture(t *testing.T, path string, cfg Config) []*Tx {
	conns, err := readConns(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return nil
	}
	var out []*Tx
	for _, c := range conns {
		cl, sv, fin := c.client, c.server, c.fin
		if !Probe(ToServer, cl) && !Probe(ToClient, sv) {
			if !Probe(ToClient, cl) {
				continue
			}
			cl, sv, fin = sv, cl, [2]bool{fin[1], fin[0]}
		}
		p := NewParser(cfg)
		p.Feed(ToServer, cl, fin[0])
		p.Feed(ToClient, sv, fin[1])
		out = append(out, p.Txs()...)
	}
	return out
}
