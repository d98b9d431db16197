package tls

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// pattern is one buffer/content pair a rule looks for.
type pattern struct {
	sid     int
	buffer  string
	content []byte
	nocase  bool
	alert   bool // from an alert rule (pass/drop rules may rightly not match)
}

var (
	ruleSid = regexp.MustCompile(`\bsid\s*:\s*(\d+)`)
	// A sticky buffer followed by its first content.
	stickyContent = regexp.MustCompile(`\b(tls\.sni|tls\.cert_subject|tls\.cert_issuer|tls\.cert_serial|tls\.cert_fingerprint|ja3\.hash|ja3\.string|ja3s\.hash|ja3s\.string|dns\.query|dns_query)\s*;\s*content\s*:\s*"((?:[^"\\]|\\.)*)"\s*;((?:\s*(?:nocase|fast_pattern)\s*;)*)`)
	// Legacy keywords that carry their value inline.
	legacyValue = regexp.MustCompile(`\b(tls\.fingerprint|tls\.subject|tls\.issuerdn)\s*:\s*"((?:[^"\\]|\\.)*)"`)
)

// rulePatterns returns the sticky-buffer contents and legacy TLS values of
// the rules in a rules file.
func rulePatterns(t *testing.T, path string) []pattern {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "\\\n", "")
	var out []pattern
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		sid := 0
		alert := strings.HasPrefix(line, "alert")
		if m := ruleSid.FindStringSubmatch(line); m != nil {
			sid, _ = strconv.Atoi(m[1])
		}
		for _, m := range stickyContent.FindAllStringSubmatch(line, -1) {
			out = append(out, pattern{sid, m[1], parseContent(t, path, m[2]), strings.Contains(m[3], "nocase"), alert})
		}
		for _, m := range legacyValue.FindAllStringSubmatch(line, -1) {
			buf := map[string]string{"tls.fingerprint": "tls.cert_fingerprint", "tls.subject": "tls.cert_subject", "tls.issuerdn": "tls.cert_issuer"}[m[1]]
			// Suricata lower-cases legacy fingerprint values.
			out = append(out, pattern{sid, buf, parseContent(t, path, m[2]), m[1] == "tls.fingerprint", alert})
		}
	}
	return out
}

// parseContent decodes a rule's content as the rule parser does.
func parseContent(t *testing.T, path, q string) []byte {
	b, err := keyword.ParseContent(q)
	if err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return b
}

// negativeSids returns the sids a test expects never to alert.
func negativeSids(t *testing.T, testDir string) map[int]bool {
	out := map[int]bool{}
	raw, err := os.ReadFile(filepath.Join(testDir, "test.yaml"))
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
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Logf("%s: %v", testDir, err)
		return out
	}
	for _, c := range doc.Checks {
		if sid, ok := c.Filter.Match["alert.signature_id"].(int); ok && c.Filter.Count == 0 {
			out[sid] = true
		}
	}
	return out
}

func contains(buf, pat []byte, nocase bool) bool {
	if nocase {
		return bytes.Contains(bytes.ToLower(buf), bytes.ToLower(pat))
	}
	return bytes.Contains(buf, pat)
}

// parseFlows runs the parser over every TCP flow of a capture that probes as
// TLS from either side.
func parseFlows(t *testing.T, path string) []*State {
	var out []*State
	for _, f := range testutil.ReadFlows(t, path) {
		if f.Proto != decode.ProtoTCP {
			continue
		}
		if !Probe(ToServer, f.Stream(0)) && !Probe(ToClient, f.Stream(1)) {
			continue
		}
		p := NewParser()
		// Interleave the directions in chunks, as the engine would.
		a, b := f.Stream(0), f.Stream(1)
		for len(a) > 0 || len(b) > 0 {
			n := min(len(a), 700)
			p.Feed(ToServer, a[:n])
			a = a[n:]
			n = min(len(b), 900)
			p.Feed(ToClient, b[:n])
			b = b[n:]
		}
		out = append(out, p.State())
	}
	return out
}

// TestSuricataVerifyTLS feeds the TLS flows of every suricata-verify test
// whose rules inspect TLS buffers and checks that each pattern those rules
// look for is in our buffer (and that patterns a test expects never to
// alert are not).
func TestSuricataVerifyTLS(t *testing.T) {
	dir, tests := testutil.SVIndex(t)
	var total, found int
	for _, tc := range tests {
		var pats []pattern
		for _, rf := range tc.RulesFiles {
			for _, p := range rulePatterns(t, filepath.Join(dir, rf)) {
				if !strings.HasPrefix(p.buffer, "dns") {
					pats = append(pats, p)
				}
			}
		}
		if len(pats) == 0 || len(tc.Pcaps) == 0 || !tc.Pcaps[0].Present {
			continue
		}
		neg := negativeSids(t, filepath.Join(dir, tc.Name))
		states := parseFlows(t, filepath.Join(dir, tc.Pcaps[0].Path))
		for _, p := range pats {
			hit := false
			for _, s := range states {
				if buf, ok := s.Buffer(p.buffer); ok && contains(buf, p.content, p.nocase) {
					hit = true
				}
			}
			if neg[p.sid] {
				if hit {
					t.Errorf("%s sid %d: %s %q found but the test expects no alert", tc.Name, p.sid, p.buffer, p.content)
				}
				continue
			}
			if !p.alert {
				t.Logf("%s sid %d (not an alert rule): %s %q found=%v", tc.Name, p.sid, p.buffer, p.content, hit)
				continue
			}
			total++
			if hit {
				found++
				continue
			}
			var have []string
			for _, s := range states {
				b, _ := s.Buffer(p.buffer)
				have = append(have, strconv.Quote(string(b)))
			}
			t.Errorf("%s sid %d: %s %q not found; flows have %v", tc.Name, p.sid, p.buffer, p.content, have)
		}
	}
	t.Logf("suricata-verify TLS patterns found: %d of %d", found, total)
	if total == 0 {
		t.Fatal("no TLS patterns in the corpus: the rule scan is broken")
	}
}

// TestSuricataVerifyTLSEVE compares the EVE fields the suricata-verify tests
// check with ours.
func TestSuricataVerifyTLSEVE(t *testing.T) {
	dir := testutil.CorpusPath(t, "suricata-verify")
	cases := []struct {
		pcap string
		want map[string]string
	}{
		{"sslv2-tls-upgrade-01/ssl-v2-s1.pcap", map[string]string{
			"subject":     "C=US, ST=California, L=Sunnyvale, O=NetScreen Technologies, Inc., OU=Security Team, CN=sigdb.secteam.netscreen.com, Email=aturner@netscreen.com",
			"issuerdn":    "C=US, ST=California, L=Sunnyvale, O=OneSecure, Inc., OU=Fulfillment, CN=jumper.sv-staging.onesecure.com, Email=fulfillment@onesecure.com",
			"serial":      "55",
			"fingerprint": "8c:90:bd:2a:b3:ae:e6:0b:d0:ea:b7:86:b0:1a:e4:b1:cc:57:ef:22",
			"version":     "TLSv1",
			"notbefore":   "2003-03-29T00:57:44",
			"notafter":    "2008-03-27T00:57:44",
		}},
		{"bug-5758/input.pcap", map[string]string{"sni": "ftp.nluug.nl"}},
		{"tls/tls-client-hello-frag-01/dump_mtu300.pcap", map[string]string{"sni": "www.google.com"}},
	}
	for _, c := range cases {
		states := parseFlows(t, filepath.Join(dir, c.pcap))
		if len(states) == 0 {
			t.Errorf("%s: no TLS flow", c.pcap)
			continue
		}
		ok := false
		var got map[string]any
		for _, s := range states {
			got = s.EVE()
			match := true
			for k, v := range c.want {
				if got[k] != v {
					match = false
				}
			}
			if match {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("%s: EVE tls %v, want fields %v", c.pcap, got, c.want)
		}
	}
}

// TestCorpusTLSNoPanic runs every capture of the corpus through the parser:
// nothing may panic, and the corpus must hold a fair number of TLS flows.
func TestCorpusTLSNoPanic(t *testing.T) {
	testutil.SkipIfShort(t, "the walk of the whole corpus")
	root := testutil.Corpus(t)
	var files, flows, hellos, sni, certs, subject int
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".pcap" && ext != ".pcapng" && ext != ".cap" && ext != ".gz" {
			return nil
		}
		files++
		for _, s := range parseFlows(t, path) {
			flows++
			if s.ClientHelloDone {
				hellos++
			}
			if s.SNI != nil {
				sni++
			}
			if s.CertDone {
				certs++
			}
			if s.CertSubject != "" {
				subject++
			}
			_ = s.EVE()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d captures: %d TLS flows, %d client hellos, %d with SNI, %d certificate messages, %d subjects parsed", files, flows, hellos, sni, certs, subject)
	if flows < 10 || subject < 5 {
		t.Errorf("too few TLS flows recognised: %d flows, %d subjects", flows, subject)
	}
}
