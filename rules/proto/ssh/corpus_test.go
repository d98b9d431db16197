package ssh

import (
	"path/filepath"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// TestCorpusSSHCaptures reads the identification lines of every SSH
// connection in the corpus's SSH captures (Zeek's and tcpdump's): each side
// whose stream starts with "SSH-" must yield a banner whose software version
// is not empty, and the well-known captures must name the software they
// carry.
func TestCorpusSSHCaptures(t *testing.T) {
	dir := testutil.CorpusPath(t, "pcaps", "zeek", "ssh")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	files = append(files, testutil.CorpusPath(t, "pcaps", "tcpdump", "ssh.pcap"))
	if len(files) < 10 {
		t.Fatalf("only %d SSH captures under %s", len(files), dir)
	}
	seen := map[string]bool{}
	banners := 0
	for _, path := range files {
		for _, f := range testutil.ReadFlows(t, path) {
			if f.Proto != decode.ProtoTCP {
				continue
			}
			var p Parser
			for dir := 0; dir < 2; dir++ {
				s := f.Stream(dir)
				if !Probe(s) {
					continue
				}
				p.Feed(Dir(dir), s)
				b, ok := p.Banner(Dir(dir))
				if !ok {
					t.Errorf("%s %v dir %d: %v in %q", filepath.Base(path), f.Key, dir, p.Err(Dir(dir)), s[:min(len(s), 80)])
					continue
				}
				banners++
				seen[string(b.SoftwareVersion)] = true
			}
		}
	}
	t.Logf("%d identification lines, %d distinct software versions", banners, len(seen))
	if banners < 100 {
		t.Errorf("only %d identification lines read", banners)
	}
	for _, want := range []string{"OpenSSH_5.9", "dropbear_2018.76", "PuTTY_Release_0.72", "paramiko_1.15.2", "Cisco-1.25"} {
		if !seen[want] {
			t.Errorf("no %s banner among %v", want, seen)
		}
	}
}
