package dns

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// dnsContent is a dns.query sticky buffer (either spelling) followed by its
// first content and that content's modifiers.
var dnsContent = regexp.MustCompile(`\b(?:dns\.query|dns_query)\s*;\s*content\s*:\s*"((?:[^"\\]|\\.)*)"\s*;((?:\s*(?:nocase|fast_pattern)\s*;)*)`)

// captureNames parses every DNS message of a capture (UDP payloads that
// probe as DNS or use port 53, and TCP port-53 streams) and returns the
// query names seen, with counts of messages and parse errors.
func captureNames(t *testing.T, path string) (names [][]byte, msgs, errs int) {
	var m Message
	for _, f := range testutil.ReadFlows(t, path) {
		port53 := f.Key.HasPort(53)
		if f.Proto == decode.ProtoUDP {
			for dir := range 2 {
				for _, p := range f.UDP(dir) {
					if !port53 && !Probe(p) {
						continue
					}
					msgs++
					if err := Parse(p, &m); err != nil {
						errs++
					}
					for _, n := range m.QueryNames() {
						names = append(names, append([]byte(nil), n...))
					}
				}
			}
			continue
		}
		if !port53 {
			continue
		}
		var sp StreamParser
		for dir := range 2 {
			sp.Feed(Dir(dir), f.Stream(dir), func(m *Message) {
				msgs++
				for _, n := range m.QueryNames() {
					names = append(names, append([]byte(nil), n...))
				}
			})
		}
		errs += int(sp.Stats().Malformed)
	}
	return names, msgs, errs
}

// TestSuricataVerifyDNSQuery checks that every dns.query pattern of the
// suricata-verify tests' alert rules is found in our query names for the
// test's capture.
func TestSuricataVerifyDNSQuery(t *testing.T) {
	dir, svTests := testutil.SVIndex(t)
	var total, found, tests int
	for _, tc := range svTests {
		if len(tc.Pcaps) == 0 || !tc.Pcaps[0].Present {
			continue
		}
		type pat struct {
			content []byte
			nocase  bool
		}
		var pats []pat
		for _, rf := range tc.RulesFiles {
			b, err := os.ReadFile(filepath.Join(dir, rf))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", ""), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "alert") {
					continue
				}
				for _, m := range dnsContent.FindAllStringSubmatch(line, -1) {
					content, err := keyword.ParseContent(m[1])
					if err != nil {
						t.Errorf("%s: %s: %v", tc.Name, rf, err)
						continue
					}
					pats = append(pats, pat{content, strings.Contains(m[2], "nocase")})
				}
			}
		}
		if len(pats) == 0 {
			continue
		}
		tests++
		names, msgs, errs := captureNames(t, filepath.Join(dir, tc.Pcaps[0].Path))
		t.Logf("%s: %d messages (%d malformed), queries %q", tc.Name, msgs, errs, names)
		for _, p := range pats {
			total++
			hit := false
			for _, n := range names {
				if p.nocase && bytes.Contains(bytes.ToLower(n), bytes.ToLower(p.content)) || bytes.Contains(n, p.content) {
					hit = true
				}
			}
			if hit {
				found++
			} else {
				t.Errorf("%s: dns.query %q not among %q", tc.Name, p.content, names)
			}
		}
	}
	t.Logf("suricata-verify dns.query patterns found: %d of %d, in %d tests", found, total, tests)
	if total == 0 {
		t.Fatal("no dns.query patterns in the corpus: the rule scan is broken")
	}
}

// TestCorpusDNS parses every port-53 message in the corpus: nothing may
// panic, and nearly all real messages must parse cleanly.
func TestCorpusDNS(t *testing.T) {
	testutil.SkipIfShort(t, "the walk of the whole corpus")
	root := testutil.Corpus(t)
	var files, msgs, errs, probed, port53 int
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".pcap" && ext != ".pcapng" && ext != ".cap" {
			return nil
		}
		files++
		n, e := 0, 0
		_, n, e = captureNames(t, path)
		msgs += n
		errs += e
		for _, f := range testutil.ReadFlows(t, path) {
			if f.Proto == decode.ProtoUDP && f.Key.HasPort(53) {
				for dir := range 2 {
					for _, p := range f.UDP(dir) {
						port53++
						if Probe(p) {
							probed++
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d captures: %d DNS messages, %d with parse errors; Probe accepts %d of %d UDP port-53 payloads", files, msgs, errs, probed, port53)
	if msgs < 500 {
		t.Errorf("only %d DNS messages found in the corpus", msgs)
	}
	if errs*20 > msgs {
		t.Errorf("%d of %d messages fail to parse", errs, msgs)
	}
	if probed*10 < port53*9 {
		t.Errorf("Probe accepts only %d of %d port-53 payloads", probed, port53)
	}
}
