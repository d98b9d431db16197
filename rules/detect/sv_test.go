package detect

import (
	"encoding/json"
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
)

// This is a rough suricata-verify runner for the engine's own use: it
// counts alerts per check. The real runner is test/sv.

type svIndex struct {
	Tests []struct {
		Name              string   `json:"name"`
		Tier              int      `json:"tier"`
		Args              []string `json:"args"`
		SimulateIPS       bool     `json:"simulate_ips"`
		AlertCheckIndices []int    `json:"alert_check_indices"`
		RulesFiles        []string `json:"rules_files"`
		Pcaps             []struct {
			Path string `json:"path"`
		} `json:"pcaps"`
	} `json:"tests"`
}

type svTest struct {
	Checks []struct {
		Filter *struct {
			Count    int            `yaml:"count"`
			Match    map[string]any `yaml:"match"`
			Requires map[string]any `yaml:"requires"`
		} `yaml:"filter"`
	} `yaml:"checks"`
}

// svAlert is the subset of an EVE alert record the checks look at.
type svAlert map[string]string

func runSV(t testing.TB, dir, testDir string, args []string, ips bool, rulesFiles []string, pcaps []string) ([]svAlert, error) {
	settings := map[string]string{}
	joined := strings.Fields(strings.Join(args, " "))
	for i := 0; i < len(joined); i++ {
		switch joined[i] {
		case "--simulate-ips":
			ips = true
		case "--set":
			if i+1 < len(joined) {
				k, v, _ := strings.Cut(joined[i+1], "=")
				settings[k] = v
				i++
			}
		}
	}
	if yb, err := os.ReadFile(filepath.Join(testDir, "suricata.yaml")); err == nil {
		var y struct {
			ActionOrder []string `yaml:"action-order"`
			AlertMax    *int     `yaml:"packet-alert-max"`
			ExcPolicy   string   `yaml:"exception-policy"`
			Stream      struct {
				Midstream *bool `yaml:"midstream"`
			} `yaml:"stream"`
		}
		if yaml.Unmarshal(yb, &y) == nil {
			if len(y.ActionOrder) > 0 {
				settings["action-order"] = strings.Join(y.ActionOrder, ",")
			}
			if y.ExcPolicy != "" {
				if _, set := settings["exception-policy"]; !set {
					settings["exception-policy"] = y.ExcPolicy
				}
			}
			if y.AlertMax != nil {
				settings["packet-alert-max"] = strconv.Itoa(*y.AlertMax)
			}
			if y.Stream.Midstream != nil && *y.Stream.Midstream {
				settings["stream.midstream"] = "true"
			}
		}
	}
	vars := rules.DefaultVars()
	var rs []*rules.Rule
	for _, rf := range rulesFiles {
		r, errs := rules.ParseFile(rf, vars)
		for _, e := range errs {
			t.Logf("rule error: %v", e)
		}
		rs = append(rs, r...)
	}
	cls := filepath.Join(dir, "..", "suricata-defaults", "classification.config")
	opts := Options{ClassificationFile: cls, IPS: ips, Settings: settings,
		Midstream: settings["stream.midstream"] == "true"}
	eng, err := Compile(rs, opts)
	if err != nil {
		return nil, err
	}
	for _, e := range eng.Errors {
		t.Logf("compile error: %v", e)
	}
	w := eng.NewWorker()
	var out []svAlert
	emit := func(a *Alert) {
		p := a.Packet
		rec := svAlert{
			"event_type":         "alert",
			"alert.signature_id": strconv.Itoa(int(a.SID)),
			"alert.gid":          strconv.Itoa(int(a.GID)),
			"alert.rev":          strconv.Itoa(int(a.Rev)),
			"alert.action":       a.Action,
			"alert.signature":    a.Msg,
			"alert.category":     a.Category,
			"alert.severity":     strconv.Itoa(a.Severity),
			"pcap_cnt":           strconv.FormatUint(p.Num, 10),
			"src_ip":             eveIP(p.SrcIP),
			"dest_ip":            eveIP(p.DstIP),
			"src_port":           strconv.Itoa(int(p.SrcPort)),
			"dest_port":          strconv.Itoa(int(p.DstPort)),
		}
		out = append(out, rec)
		if os.Getenv("SV_DEBUG") != "" {
			t.Logf("  alert sid %d pkt %d action %s stream %v", a.SID, p.Num, a.Action, a.Stream)
		}
	}
	for _, pc := range pcaps {
		r, err := decode.OpenPcap(pc)
		if err != nil {
			return nil, err
		}
		dec := decode.NewDecoder(decode.Config{})
		var p decode.Packet
		n := uint64(0)
		for {
			data, ci, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				break
			}
			n++
			ok := dec.Decode(ci.LinkType, data, &p)
			p.Num = n
			p.Timestamp = ci.Timestamp
			if os.Getenv("SV_DEBUG") != "" {
				t.Logf("pkt %d ok=%v lt=%d ip%d %s:%d -> %s:%d proto %d flags %02x seq %d ack %d len %d frag=%v reasm=%v",
					n, ok, ci.LinkType, p.IPVersion, p.SrcIP, p.SrcPort, p.DstIP, p.DstPort, p.IPProto, p.TCPFlags, p.TCPSeq, p.TCPAck, len(p.Payload), p.Fragment, p.Reassembled)
			}
			w.Process(&p, 0, emit)
		}
		r.Close()
	}
	w.Flush(emit, nil)
	return out, nil
}

var svKnown = map[string]struct{}{
	"event_type": {}, "alert.signature_id": {}, "alert.gid": {}, "alert.rev": {}, "alert.action": {},
	"alert.signature": {}, "alert.category": {}, "alert.severity": {}, "pcap_cnt": {}, "src_ip": {},
	"dest_ip": {}, "src_port": {}, "dest_port": {},
}

// eveIP formats an address as Suricata's EVE does: IPv6 fully expanded.
func eveIP(a netip.Addr) string {
	if !a.Is6() || a.Is4In6() {
		return a.Unmap().String()
	}
	b := a.As16()
	var sb strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x%02x", b[i], b[i+1])
	}
	return sb.String()
}

func toStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func TestSuricataVerifyTier0(t *testing.T) {
	corpus := testutil.Corpus(t)
	svDir := filepath.Join(corpus, "suricata-verify")
	raw, err := os.ReadFile(filepath.Join(svDir, "INDEX.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx svIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	tier := 0
	if v := os.Getenv("SV_TIER"); v != "" {
		tier, _ = strconv.Atoi(v)
	}
	only := os.Getenv("SV_ONLY")
	pass, total := 0, 0
	var failed []string
	for _, tc := range idx.Tests {
		if tc.Tier != tier || (only != "" && !strings.Contains(tc.Name, only)) {
			continue
		}
		total++
		dir := filepath.Join(svDir, tc.Name)
		yb, err := os.ReadFile(filepath.Join(dir, "test.yaml"))
		if err != nil {
			t.Errorf("%s: %v", tc.Name, err)
			continue
		}
		var ty svTest
		if err := yaml.Unmarshal(yb, &ty); err != nil {
			t.Errorf("%s: %v", tc.Name, err)
			continue
		}
		var rf, pc []string
		for _, r := range tc.RulesFiles {
			rf = append(rf, filepath.Join(svDir, r))
		}
		for _, p := range tc.Pcaps {
			pc = append(pc, filepath.Join(svDir, p.Path))
		}
		ips := tc.SimulateIPS || strings.Contains(tc.Name, "ips")
		alerts, err := runSV(t, svDir, dir, tc.Args, ips, rf, pc)
		if err != nil {
			t.Errorf("%s: %v", tc.Name, err)
			continue
		}
		ok := true
		var why []string
		for _, ci := range tc.AlertCheckIndices {
			f := ty.Checks[ci].Filter
			if f == nil {
				continue
			}
			if lt, has := f.Requires["lt-version"]; has {
				if v, _ := strconv.Atoi(strings.Split(toStr(lt), ".")[0]); v <= 9 {
					continue
				}
			}
			// Keys this runner cannot evaluate are dropped: the check
			// then counts alerts on the keys it knows.
			known := map[string]string{}
			for k, v := range f.Match {
				if _, ok := svKnown[k]; ok {
					known[k] = toStr(v)
				}
			}
			n := 0
			for _, a := range alerts {
				m := true
				for k, v := range known {
					if a[k] != v {
						m = false
						break
					}
				}
				if m {
					n++
				}
			}
			if n != f.Count {
				ok = false
				why = append(why, fmt.Sprintf("%v: want %d got %d", f.Match, f.Count, n))
			}
		}
		if ok {
			pass++
		} else {
			failed = append(failed, tc.Name+": "+strings.Join(why, "; "))
		}
	}
	sort.Strings(failed)
	for _, f := range failed {
		t.Logf("FAIL %s", f)
	}
	t.Logf("tier%d: %d/%d passed", tier, pass, total)
	if total > 0 && pass*100 < total*90 && os.Getenv("SV_STRICT") == "1" {
		t.Errorf("tier%d pass rate below 90%%", tier)
	}
}
