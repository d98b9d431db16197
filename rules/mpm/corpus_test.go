package mpm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tapwatch/tapwatch/test/testutil"
)

type testPattern struct {
	b      []byte
	nocase bool
	id     uint32
}

var contentRE = regexp.MustCompile(`content:\s*!?\s*"((?:[^"\\]|\\.)*)"`)

// loadETPatterns returns every content of every active ET Open rule, with
// nocase taken from the modifiers that follow it, its id being its index;
// and, as an engine would build its prefilter, one fast pattern per rule
// (the content marked fast_pattern, else the longest) with the rule's
// index as id.
func loadETPatterns(tb testing.TB) (all, fast []testPattern) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(testutil.CorpusPath(tb, "rules", "et-open"), "*.rules"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no ET Open rules: %v", err)
	}
	var pats []testPattern
	rules := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			ms := contentRE.FindAllStringSubmatchIndex(line, -1)
			best, bestFast := -1, false
			for k, mt := range ms {
				end := len(line)
				if k+1 < len(ms) {
					end = ms[k+1][0]
				}
				b, err := decodeContent(line[mt[2]:mt[3]])
				if err != nil || len(b) == 0 {
					continue
				}
				mods := line[mt[1]:end]
				nocase := strings.Contains(mods, "nocase;")
				isFast := strings.Contains(mods, "fast_pattern")
				if best < 0 || isFast && !bestFast || isFast == bestFast && len(b) > len(pats[best].b) {
					best, bestFast = len(pats), isFast
				}
				pats = append(pats, testPattern{b: b, nocase: nocase, id: uint32(len(pats))})
			}
			if best >= 0 {
				p := pats[best]
				p.id = uint32(rules)
				fast = append(fast, p)
				rules++
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return pats, fast
}

// decodeContent undoes a rule content's |hex| blocks and backslash escapes.
func decodeContent(s string) ([]byte, error) {
	var out []byte
	hex := false
	var digits []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '|':
			if hex && len(digits) != 0 {
				return nil, errors.New("odd hex digits")
			}
			hex = !hex
		case hex:
			if c == ' ' {
				continue
			}
			digits = append(digits, c)
			if len(digits) == 2 {
				v, err := strconv.ParseUint(string(digits), 16, 8)
				if err != nil {
					return nil, err
				}
				out = append(out, byte(v))
				digits = digits[:0]
			}
		case c == '\\' && i+1 < len(s):
			i++
			out = append(out, s[i])
		default:
			out = append(out, c)
		}
	}
	if hex {
		return nil, errors.New("unterminated hex")
	}
	return out, nil
}

// loadPayloads returns application payloads from the corpus pcaps, up to
// maxTotal bytes and perFile payloads per capture so that no single capture
// dominates.
func loadPayloads(tb testing.TB, maxTotal, perFile int) [][]byte {
	tb.Helper()
	root := testutil.CorpusPath(tb, "pcaps")
	var out [][]byte
	total := 0
	errDone := errors.New("done")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pcap") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := newPcapReader(bufio.NewReader(f))
		if err != nil {
			return nil // pcapng or damaged: not our concern here
		}
		for n := 0; n < perFile; {
			data, err := r.next()
			if err != nil {
				break
			}
			p := gopacket.NewPacket(data, r.link, gopacket.Default)
			var payload []byte
			if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
				payload = tcp.Payload
			} else if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
				payload = udp.Payload
			}
			if len(payload) == 0 {
				continue
			}
			out = append(out, payload)
			total += len(payload)
			n++
			if total >= maxTotal {
				return errDone
			}
		}
		return nil
	})
	if err != nil && err != errDone {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatal("no payloads in corpus pcaps")
	}
	return out
}

// pcapReader reads classic pcap files. It stands in for pcapgo, whose
// golang.org/x/net dependency has no go.sum entry in this module yet.
type pcapReader struct {
	r     io.Reader
	order binary.ByteOrder
	link  layers.LinkType
	hdr   [16]byte
}

func newPcapReader(r io.Reader) (*pcapReader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	p := &pcapReader{r: r}
	switch binary.LittleEndian.Uint32(h[:]) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		p.order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		p.order = binary.BigEndian
	default:
		return nil, errors.New("not a classic pcap file")
	}
	p.link = layers.LinkType(p.order.Uint32(h[20:]) & 0xffff)
	return p, nil
}

func (p *pcapReader) next() ([]byte, error) {
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		return nil, err
	}
	n := p.order.Uint32(p.hdr[8:])
	if n > 1<<18 {
		return nil, errors.New("oversized pcap record")
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(p.r, data); err != nil {
		return nil, err
	}
	return data, nil
}
