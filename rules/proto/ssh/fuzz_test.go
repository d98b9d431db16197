package ssh

import (
	"bytes"
	"fmt"
	"testing"
)

func summary(p *Parser, dir Dir) string {
	if b, ok := p.Banner(dir); ok {
		return fmt.Sprintf("ok %q %q %q %q", b.Line, b.ProtoVersion, b.SoftwareVersion, b.Comments)
	}
	return fmt.Sprintf("done %v err %v", p.Done(dir), p.Err(dir))
}

// FuzzParseBanner feeds arbitrary bytes to Parse and to a Parser, whole and
// split at an arbitrary point. Nothing may panic, a parsed banner's fields
// must hold what the RFC says they hold, and the Parser's result must not
// depend on how the stream was split.
func FuzzParseBanner(f *testing.F) {
	f.Add([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), uint16(9))
	f.Add([]byte("banner\r\nSSH-1.99-Cisco-1.25\n\x00\x00"), uint16(3))
	f.Add([]byte("SSH-2.0-\r\n"), uint16(0))
	f.Add([]byte("SSH-"), uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		if b, err := Parse(data); err == nil {
			if !bytes.HasPrefix(b.Line, prefix) || len(b.ProtoVersion) == 0 || len(b.SoftwareVersion) == 0 ||
				bytes.ContainsAny(b.ProtoVersion, "- \r\n") || bytes.ContainsAny(b.SoftwareVersion, " \r\n") ||
				bytes.ContainsAny(b.Comments, "\r\n") || len(b.Line) > MaxLineLen {
				t.Fatalf("Parse(%q) = %+v", data, b)
			}
			again, err := Parse(b.Line)
			if err != nil || !bytes.Equal(again.SoftwareVersion, b.SoftwareVersion) || !bytes.Equal(again.Comments, b.Comments) {
				t.Fatalf("reparsing %q: %+v %v", b.Line, again, err)
			}
		}
		var whole, split Parser
		whole.Feed(ToServer, data)
		c := int(cut) % (len(data) + 1)
		split.Feed(ToServer, data[:c])
		split.Feed(ToServer, data[c:])
		if a, b := summary(&whole, ToServer), summary(&split, ToServer); a != b {
			t.Fatalf("split at %d changes the result\n%s\n%s", c, a, b)
		}
		_ = Probe(data)
	})
}
