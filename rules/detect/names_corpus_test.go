package detect

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// corpusNames replays a capture with names recorded and returns each
// ended flow's names ("kind=value") by flow key.
func corpusNames(t *testing.T, e *Engine, path string) map[string][]string {
	t.Helper()
	r, err := decode.OpenPcap(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return nil
	}
	defer r.Close()
	w := e.NewWorker()
	w.SetRecordNames(true)
	out := map[string][]string{}
	end := func(f *flow.Flow, _ flow.EndReason) {
		var n []string
		for _, x := range f.Names.All() {
			n = append(n, x.Kind.String()+"="+x.Value)
		}
		if n != nil {
			out[fmt.Sprintf("%v %d", f.Key, f.Start.UnixNano())] = n
		}
	}
	w.SetFlowEnd(end)
	dec := decode.NewDecoder(decode.Config{})
	var p decode.Packet
	for {
		data, ci, err := r.Next()
		if err == io.EOF || err != nil {
			break
		}
		dec.Decode(ci.LinkType, data, &p)
		p.Timestamp = ci.Timestamp
		w.Process(&p, 0, func(*Alert) {})
	}
	w.Flush(func(*Alert) {}, end)
	return out
}

// TestCorpusNames replays the corpus's HTTP, TLS, DNS and SSH captures with
// names recorded, once with every parser on and once with all off, and
// checks that the names do not depend on whether a rule needs the parser:
// TLS, DNS and SSH names are the same flow by flow, and with the HTTP
// parser off (first request and response only) a flow's HTTP names are
// some of those the parser finds.
func TestCorpusNames(t *testing.T) {
	testutil.SkipIfShort(t, "the replay of the corpus captures")
	var files []string
	for _, dir := range []string{"http", "tls", "dns", "ssh"} {
		m, _ := filepath.Glob(filepath.Join(testutil.CorpusPath(t, "pcaps", "zeek", dir), "*.pcap"))
		files = append(files, m...)
	}
	on := engine(t, Options{}, namesModes[1].rules)
	off := engine(t, Options{}, namesModes[0].rules)
	kinds := map[string]int{}
	for _, path := range files {
		a, b := corpusNames(t, on, path), corpusNames(t, off, path)
		for k, full := range a {
			for _, n := range full {
				kinds[n[:strings.IndexByte(n, '=')]]++
			}
			light := b[k]
			var fullHTTP, lightHTTP, fullRest, lightRest []string
			for _, x := range full {
				if strings.HasPrefix(x, "http.") {
					fullHTTP = append(fullHTTP, x)
				} else {
					fullRest = append(fullRest, x)
				}
			}
			for _, x := range light {
				if strings.HasPrefix(x, "http.") {
					lightHTTP = append(lightHTTP, x)
				} else {
					lightRest = append(lightRest, x)
				}
			}
			if !slices.Equal(fullRest, lightRest) {
				t.Errorf("%s %s: names %q with parsers on, %q off", filepath.Base(path), k, fullRest, lightRest)
			}
			for _, x := range lightHTTP {
				if !slices.Contains(fullHTTP, x) {
					t.Errorf("%s %s: %q read with the HTTP parser off, not by the parser (%q)", filepath.Base(path), k, x, fullHTTP)
				}
			}
		}
		for k, light := range b {
			if _, ok := a[k]; !ok {
				t.Errorf("%s %s: names %q only with parsers off", filepath.Base(path), k, light)
			}
		}
	}
	t.Logf("%d captures; names by kind: %v", len(files), kinds)
	for _, k := range []string{"http.server", "http.user_agent", "http.host", "tls.sni", "tls.cert", "dns.query", "ssh.server", "ssh.client"} {
		if kinds[k] < 5 {
			t.Errorf("only %d %s names in the corpus", kinds[k], k)
		}
	}
}
