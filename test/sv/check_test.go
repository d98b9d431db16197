package sv

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func rec(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// yamlVal reads a YAML scalar or structure the way test.yaml values are read.
func yamlVal(t *testing.T, s string) any {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+s), &n); err != nil {
		t.Fatal(err)
	}
	v, err := toValue(n.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)["v"]
}

const sample = `{"event_type":"alert","pcap_cnt":3,"flow_id":1234567890123456789,"src_port":80,"proto":"TCP",
"alert":{"signature_id":2,"signature":"ET POLICY evil thing","severity":3,"metadata":{"tag":["a","b"]}},
"files":[{"filename":"/index.html","size":10},{"filename":"x.bin"}],"tcp":{"toserver":"SA"},"flow":{"alerted":true},
"vlan":[10,20],"ratio":0.5,"nothing":null}`

func TestMatchOperators(t *testing.T) {
	r := rec(t, sample)
	cases := []struct {
		key, want string
		ok        bool
	}{
		{"event_type", "alert", true},
		{"event_type", "flow", false},
		{"pcap_cnt", "3", true},
		{"pcap_cnt", "3.0", true},
		{"pcap_cnt", `"3"`, false}, // a string never equals a number, as in Python
		{"flow_id", "1234567890123456789", true},
		{"flow_id", "1234567890123456788", false},
		{"alert.signature_id", "2", true},
		{"alert.severity", "2", false},
		{"files[0].filename", "/index.html", true},
		{"files[1].filename", "x.bin", true},
		{"files[2].filename", "x.bin", false},
		{"vlan[1]", "20", true},
		{"vlan", "[10, 20]", true},
		{"vlan", "[10]", false},
		{"flow.alerted", "yes", true}, // YAML 1.1 boolean
		{"flow.alerted", "false", false},
		{"nothing", "null", true},
		{"absent.key", "null", true},
		{"absent.key", "1", false},
		{"files.__len", "2", true},
		{"files.__len", "3", false},
		{"tcp.toserver.__len", "2", true},
		{"alert.signature.__contains", "evil", true},
		{"alert.signature.__contains", "good", false},
		{"alert.metadata.tag.__contains", "b", true},
		{"alert.metadata.tag.__contains", "c", false},
		{"alert.signature.__find", "POLICY", true},
		{"alert.signature.__startswith", "ET ", true},
		{"alert.signature.__startswith", "GPL", false},
		{"alert.signature.__endswith", "thing", true},
		{"alert.signature.__endswith", "ET", false},
		{"pcap_cnt.__gt", "2", true},
		{"pcap_cnt.__gt", "3", false},
		{"pcap_cnt__gte", "3", true},
		{"pcap_cnt.__lt", "4", true},
		{"pcap_cnt.__lt", "3", false},
		{"pcap_cnt.__lte", "3", true},
		{"ratio.__lt", "1", true},
		{"has-key", "alert.metadata", true},
		{"has-key", "alert.nope", false},
		{"not-has-key", "alert.nope", true},
		{"not-has-key", "files[0].size", false},
	}
	for _, c := range cases {
		f := &Filter{Match: map[string]any{c.key: yamlVal(t, c.want)}}
		if got := f.Matches(r); got != c.ok {
			t.Errorf("%s: %s -> %v, want %v", c.key, c.want, got, c.ok)
		}
	}
}

func TestEvalCounts(t *testing.T) {
	recs := []map[string]any{
		rec(t, `{"event_type":"alert","alert":{"signature_id":1},"pcap_cnt":1}`),
		rec(t, `{"event_type":"alert","alert":{"signature_id":1},"pcap_cnt":2}`),
		rec(t, `{"event_type":"alert","alert":{"signature_id":2},"pcap_cnt":2}`),
		rec(t, `{"event_type":"flow"}`),
	}
	n := func(i int) *int { return &i }
	sig := func(s int) map[string]any { return map[string]any{"event_type": "alert", "alert.signature_id": s} }
	for _, c := range []struct {
		f    Filter
		ok   bool
		want string
	}{
		{Filter{Count: n(2), Match: sig(1)}, true, ""},
		{Filter{Count: n(1), Match: sig(1)}, false, "expected count 1, got 2"},
		{Filter{Count: n(0), Match: sig(3)}, true, ""},
		{Filter{Count: n(1), Match: sig(3)}, false, "nearest record has alert.signature_id=1, want 3"},
		{Filter{Match: sig(2)}, true, ""},
		{Filter{Match: sig(9)}, false, "at least 1"},
		{Filter{Count: n(1), Match: map[string]any{"event_type": "alert", "alert.signature_id": 1, "pcap_cnt": 3}}, false, "nearest record has pcap_cnt=1, want 3"},
	} {
		ok, msg := c.f.Eval(recs)
		if ok != c.ok || !strings.Contains(msg, c.want) {
			t.Errorf("%+v: ok=%v msg=%q, want ok=%v containing %q", c.f, ok, msg, c.ok, c.want)
		}
	}
}

func TestParseFilterAndArgs(t *testing.T) {
	var n yaml.Node
	src := "filter:\n  count: 1\n  filename: eve.json\n  not-has-key: stats.firewall\n  match:\n    event_type: alert\n    alert.signature_id: 5\n"
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	v, _ := toValue(n.Content[0])
	f, err := ParseFilter(v.(map[string]any)["filter"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	if *f.Count != 1 || f.Filename != "eve.json" || f.Match["not-has-key"] != "stats.firewall" || f.Match["alert.signature_id"] != 5 {
		t.Errorf("filter = %+v", f)
	}
	got := splitArgs(`-k none --set "a.b=c d"  --simulate-ips`)
	want := []string{"-k", "none", "--set", "a.b=c d", "--simulate-ips"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitArgs = %q", got)
	}
	var buf bytes.Buffer
	p, f2, s := Report(&buf, []Result{{Name: "a", Status: Pass}, {Name: "b", Status: Fail, Detail: "x"}, {Name: "c", Status: Skip}}, false)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if p != 1 || f2 != 1 || s != 1 || lines[len(lines)-1] != "1 passed, 1 failed" {
		t.Errorf("report:\n%s", buf.String())
	}
}
