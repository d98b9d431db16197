package http

import (
	"bytes"
	"encoding/json"
	"github.com/tapwatch/tapwatch/test/testutil"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// legacyMods maps content modifiers to the sticky buffer they stand for.
var legacyMods = map[string]string{
	"http_uri": "http.uri", "http_raw_uri": "http.uri.raw", "http_header": "http.header",
	"http_raw_header": "http.header.raw", "http_cookie": "http.cookie", "http_user_agent": "http.user_agent",
	"http_host": "http.host", "http_raw_host": "http.host.raw", "http_method": "http.method",
	"http_client_body": "http.request_body", "http_server_body": "http.response_body",
	"http_stat_code": "http.stat_code", "http_stat_msg": "http.stat_msg",
}

var stickyNames = map[string]string{
	"file_data": "file.data", "file.data": "file.data", "http_client_body": "http.request_body",
	"http.server_body": "http.response_body", "http.client_body": "http.request_body",
}

func init() {
	for _, n := range []string{"http.uri", "http.uri.raw", "http.header", "http.header.raw", "http.cookie",
		"http.user_agent", "http.host", "http.host.raw", "http.method", "http.request_body", "http.response_body",
		"http.stat_code", "http.stat_msg", "http.request_line", "http.response_line", "http.protocol", "http.start",
		"http.accept", "http.accept_enc", "http.accept_lang", "http.connection", "http.content_type",
		"http.content_len", "http.referer", "http.location", "http.server", "http.header_names"} {
		stickyNames[n] = n
		stickyNames[strings.ReplaceAll(n, ".", "_")] = n
	}
}

var relaxable = map[string]bool{
	"depth": true, "offset": true, "distance": true, "within": true, "startswith": true, "endswith": true,
	"isdataat": true, "pcre": true, "urilen": true, "flowbits": true, "bsize": true, "rawbytes": true,
	"threshold": true, "detection_filter": true, "dsize": true, "pkt_data": true, "byte_test": true,
	"byte_jump": true, "byte_extract": true, "noalert": true, "app-layer-protocol": true,
}

type ruleContent struct {
	buf     string
	pat     []byte
	nocase  bool
	toClnt  bool
	either  bool // no flow direction given: the rule applies to both
	pattern string
}

// simpleRule extracts the http buffer contents of a rule that uses nothing
// but contents (no positions, negations, pcre...), so that "every content is
// in its buffer of one transaction" is exactly the rule's meaning.
//
// relaxed drops what only narrows a match (positions, negated contents,
// pcre, flowbits...): the remaining contents are then a necessary condition,
// good enough to check rules that are expected to alert.
func simpleRule(line string, relaxed bool) (sid int, cs []ruleContent, ok bool) {
	i := strings.IndexByte(line, '(')
	j := strings.LastIndexByte(line, ')')
	if i < 0 || j < i {
		return 0, nil, false
	}
	var opts []string
	cur, inq := "", false
	body := line[i+1 : j]
	for k := 0; k < len(body); k++ {
		c := body[k]
		switch {
		case c == '\\' && k+1 < len(body):
			cur += string(c) + string(body[k+1])
			k++
		case c == '"':
			inq = !inq
			cur += string(c)
		case c == ';' && !inq:
			opts = append(opts, strings.TrimSpace(cur))
			cur = ""
		default:
			cur += string(c)
		}
	}
	sticky := ""
	toClient := false
	for _, o := range opts {
		name, val, _ := strings.Cut(o, ":")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		switch {
		case name == "" || name == "msg" || name == "rev" || name == "gid" || name == "classtype" ||
			name == "priority" || name == "metadata" || name == "reference" || name == "fast_pattern" || name == "target":
		case name == "sid":
			sid, _ = strconv.Atoi(val)
		case name == "flow":
			toClient = strings.Contains(val, "to_client") || strings.Contains(val, "from_server")
		case name == "content" || name == "uricontent":
			if strings.HasPrefix(val, "!") {
				if !relaxed {
					return 0, nil, false
				}
				cs = append(cs, ruleContent{buf: "skip"})
				continue
			}
			buf := sticky
			if name == "uricontent" {
				buf = "http.uri"
			}
			v := strings.Trim(val, `"`)
			v = strings.NewReplacer(`\;`, ";", `\"`, `"`, `\\`, `\`, `\:`, ":").Replace(v)
			cs = append(cs, ruleContent{buf: buf, pat: decodeContent(v), pattern: val})
		case name == "nocase":
			if len(cs) == 0 {
				return 0, nil, false
			}
			cs[len(cs)-1].nocase = true
		case legacyMods[name] != "":
			if len(cs) == 0 {
				return 0, nil, false
			}
			cs[len(cs)-1].buf = legacyMods[name]
		case stickyNames[name] != "":
			sticky = stickyNames[name]
		case relaxed && relaxable[name]:
			if name == "pkt_data" {
				sticky = ""
			}
		default:
			return 0, nil, false
		}
	}
	kept := cs[:0]
	for _, c := range cs {
		if c.buf != "skip" {
			kept = append(kept, c)
		}
	}
	cs = kept
	if sid == 0 || len(cs) == 0 {
		return 0, nil, false
	}
	for k := range cs {
		if cs[k].buf == "" {
			return 0, nil, false
		}
		cs[k].toClnt = toClient
		cs[k].either = !strings.Contains(line, "flow:")
		switch cs[k].buf {
		case "http.stat_code", "http.stat_msg", "http.response_body", "http.response_line", "http.server", "http.location":
			cs[k].toClnt, cs[k].either = true, false
		case "http.uri", "http.uri.raw", "http.method", "http.request_line", "http.request_body", "http.user_agent",
			"http.host", "http.host.raw", "http.accept", "http.accept_enc", "http.accept_lang", "http.referer":
			cs[k].toClnt, cs[k].either = false, false
		case "file.data":
			cs[k].toClnt = !strings.Contains(line, "to_server") && !strings.Contains(line, "from_client")
			cs[k].either = false
		}
	}
	return sid, cs, true
}

func ruleMatches(txs []*Tx, cs []ruleContent) bool {
	for _, x := range txs {
		for _, flexDir := range []Dir{ToServer, ToClient} {
			if txMatches(x, cs, flexDir) {
				return true
			}
		}
	}
	return false
}

func txMatches(x *Tx, cs []ruleContent, flexDir Dir) bool {
	for _, c := range cs {
		dir := ToServer
		if c.toClnt {
			dir = ToClient
		}
		if c.either {
			dir = flexDir
		}
		b, ok := x.Buffer(c.buf, dir)
		if !ok {
			return false
		}
		if c.nocase {
			ok = bytes.Contains(bytes.ToLower(b), bytes.ToLower(c.pat))
		} else {
			ok = bytes.Contains(b, c.pat)
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestCorpusRuleBuffers checks the sticky buffers against suricata-verify's
// expectations: a content-only HTTP rule that a test expects to alert must
// find all its contents in their buffers of one transaction of the capture,
// and one expected not to alert must not.
func TestCorpusRuleBuffers(t *testing.T) {
	root := filepath.Join(testutil.Corpus(t), "suricata-verify")
	raw, err := os.ReadFile(filepath.Join(root, "INDEX.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Tests []struct {
			Name  string   `json:"name"`
			Rules []string `json:"rules_files"`
			Pcaps []struct {
				Path string `json:"path"`
			} `json:"pcaps"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	checked, good := 0, 0
	var bad []string
	for _, tc := range idx.Tests {
		if strings.HasPrefix(tc.Name, "http-evader") || len(tc.Pcaps) != 1 || len(tc.Rules) != 1 {
			continue
		}
		expect := expectedSids(filepath.Join(root, tc.Name, "test.yaml"))
		rules, err := os.ReadFile(filepath.Join(root, tc.Rules[0]))
		if err != nil {
			continue
		}
		var conns []*streams
		loaded := false
		for _, line := range strings.Split(string(rules), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			want, known := expect[ruleSid(line)]
			if !known {
				continue
			}
			sid, cs, ok := simpleRule(line, want > 0)
			if !ok {
				continue
			}
			if !loaded {
				loaded = true
				conns, err = readConns(filepath.Join(root, tc.Pcaps[0].Path))
				if err != nil {
					t.Logf("%s: %v", tc.Name, err)
				}
			}
			if err != nil {
				break
			}
			checked++
			hit := false
			for _, c := range conns {
				cl, sv, fin := c.client, c.server, c.fin
				// As the engine would: only flows Probe calls HTTP get a
				// parser, and a midstream flow whose first sender speaks
				// responses is turned around.
				if !Probe(ToServer, cl) && !Probe(ToClient, sv) {
					if !Probe(ToClient, cl) {
						continue
					}
					cl, sv, fin = sv, cl, [2]bool{fin[1], fin[0]}
				}
				p := NewParser(testConfig(filepath.Join(root, tc.Name, "test.yaml")))
				p.Feed(ToServer, cl, fin[0])
				p.Feed(ToClient, sv, fin[1])
				if ruleMatches(p.Txs(), cs) {
					hit = true
					break
				}
			}
			if hit == (want > 0) {
				good++
			} else {
				bad = append(bad, tc.Name+"/"+strconv.Itoa(sid)+"(want "+strconv.Itoa(want)+")")
			}
		}
	}
	t.Logf("content-only HTTP rules: %d/%d match (or not) as suricata-verify expects", good, checked)
	if len(bad) > 0 {
		t.Logf("not found: %s", strings.Join(bad, " "))
	}
	if checked-good > 2 {
		t.Errorf("only %d/%d rules match", good, checked)
	}
}

// expectedSids reads a test.yaml's alert filters: sid → expected count.
func expectedSids(path string) map[int]int {
	raw, err := os.ReadFile(path)
	out := map[int]int{}
	if err != nil {
		return out
	}
	var doc struct {
		Checks []struct {
			Filter struct {
				Count int            `yaml:"count"`
				Match map[string]any `yaml:"match"`
			} `yaml:"filter"`
		} `yaml:"checks"`
	}
	if yaml.Unmarshal(raw, &doc) != nil {
		return out
	}
	for _, c := range doc.Checks {
		m := c.Filter.Match
		if m["event_type"] != "alert" {
			continue
		}
		sid, ok := m["alert.signature_id"].(int)
		if !ok {
			continue
		}
		// Extra keys (pcap_cnt, tx_id...) only narrow a filter: with them a
		// positive count still says the rule matched, a zero says nothing.
		if len(m) == 2 || c.Filter.Count > 0 {
			if c.Filter.Count > out[sid] {
				out[sid] = c.Filter.Count
			} else if _, seen := out[sid]; !seen {
				out[sid] = c.Filter.Count
			}
		}
	}
	return out
}

func ruleSid(line string) int {
	i := strings.Index(line, "sid:")
	if i < 0 {
		return 0
	}
	s := strings.TrimSpace(line[i+4:])
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[:j])
	return n
}

var limitArg = regexp.MustCompile(`(request|response)-body-limit=(\d+)\s*([kKmM]?)`)

// testConfig applies the body limits a test sets on the command line.
func testConfig(path string) Config {
	var cfg Config
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg
	}
	for _, m := range limitArg.FindAllStringSubmatch(string(raw), -1) {
		n, _ := strconv.Atoi(m[2])
		switch strings.ToLower(m[3]) {
		case "k":
			n <<= 10
		case "m":
			n <<= 20
		}
		if m[1] == "request" {
			cfg.RequestBodyLimit = n
		} else {
			cfg.ResponseBodyLimit = n
		}
	}
	return cfg
}
