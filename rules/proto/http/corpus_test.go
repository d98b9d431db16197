package http

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type segment struct {
	seq  uint32
	data []byte
}

// streams is one TCP connection's two payload streams, reassembled by
// sequence number (first copy wins on overlap) — enough for clean captures.
type streams struct {
	client, server []byte // client→server, server→client
	fin            [2]bool

	clientEP string
	isn      [2]uint32
	haveISN  [2]bool
	segs     [2][]segment
}

// readStreams returns the first TCP connection of a capture.
func readStreams(path string) (*streams, error) {
	all, err := readConns(path)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return &streams{}, nil
	}
	return all[0], nil
}

// readConns reads a classic pcap (Ethernet, VLAN, raw IP; IPv4/IPv6; TCP)
// and returns its TCP connections in order of appearance. A few lines of
// parsing keep the test free of extra modules.
func readConns(path string) ([]*streams, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pcap: %w", err)
	}
	pkts, err := capturePackets(raw)
	if err != nil {
		return nil, err
	}
	conns := map[string]*streams{}
	var order []*streams
	for _, lp := range pkts {
		link, pkt := lp.link, lp.data
		switch link {
		case 1: // Ethernet
			if len(pkt) < 14 {
				continue
			}
			et := binary.BigEndian.Uint16(pkt[12:])
			pkt = pkt[14:]
			for et == 0x8100 && len(pkt) >= 4 {
				et = binary.BigEndian.Uint16(pkt[2:])
				pkt = pkt[4:]
			}
			if et != 0x0800 && et != 0x86dd {
				continue
			}
		case 101, 228, 229: // raw IP
		case 0, 109: // BSD loopback
			if len(pkt) < 4 {
				continue
			}
			pkt = pkt[4:]
		case 104: // Cisco HDLC
			if len(pkt) < 4 {
				continue
			}
			pkt = pkt[4:]
		case 113: // Linux cooked
			if len(pkt) < 16 {
				continue
			}
			pkt = pkt[16:]
		default:
			continue // other link types are not needed here
		}
		if len(pkt) < 20 {
			continue
		}
		var tcp, src, dst []byte
		switch pkt[0] >> 4 {
		case 4:
			ihl := int(pkt[0]&0xf) * 4
			tot := int(binary.BigEndian.Uint16(pkt[2:]))
			if pkt[9] != 6 || ihl < 20 || tot > len(pkt) || tot < ihl {
				continue
			}
			if binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
				continue // fragments: not needed for these captures
			}
			tcp, src, dst = pkt[ihl:tot], pkt[12:16], pkt[16:20]
		case 6:
			if len(pkt) < 40 || pkt[6] != 6 {
				continue
			}
			pl := int(binary.BigEndian.Uint16(pkt[4:]))
			if 40+pl > len(pkt) {
				continue
			}
			tcp, src, dst = pkt[40:40+pl], pkt[8:24], pkt[24:40]
		default:
			continue
		}
		if len(tcp) < 20 {
			continue
		}
		sport, dport := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:])
		seq := binary.BigEndian.Uint32(tcp[4:])
		doff := int(tcp[12]>>4) * 4
		flags := tcp[13]
		syn, ack, fin, rst := flags&2 != 0, flags&0x10 != 0, flags&1 != 0, flags&4 != 0
		if doff < 20 || doff > len(tcp) {
			continue
		}
		payload := tcp[doff:]
		a := fmt.Sprintf("%x:%d", src, sport)
		b := fmt.Sprintf("%x:%d", dst, dport)
		key := a + "-" + b
		if b < a {
			key = b + "-" + a
		}
		st := conns[key]
		if st == nil {
			if rst || (fin && len(payload) == 0) {
				continue
			}
			st = &streams{clientEP: a}
			if syn && ack {
				st.clientEP = b
			}
			conns[key] = st
			order = append(order, st)
		}
		d := 1
		if a == st.clientEP {
			d = 0
		}
		if syn {
			st.isn[d], st.haveISN[d] = seq+1, true
		}
		if !st.haveISN[d] {
			st.isn[d], st.haveISN[d] = seq, true
		}
		if syn {
			seq++ // data on a SYN (TCP Fast Open) follows the SYN's own number
		}
		if len(payload) > 0 {
			st.segs[d] = append(st.segs[d], segment{seq - st.isn[d], payload})
		}
		if fin || rst {
			st.fin[d] = true
		}
	}
	for _, st := range order {
		for d := 0; d < 2; d++ {
			segs := st.segs[d]
			sort.SliceStable(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
			var out []byte
			for _, s := range segs {
				end := int(s.seq) + len(s.data)
				if s.seq > 1<<30 || end <= len(out) || int(s.seq) > len(out) {
					continue // duplicate, or a gap we cannot fill
				}
				out = append(out, s.data[len(out)-int(s.seq):]...)
			}
			if d == 0 {
				st.client = out
			} else {
				st.server = out
			}
			st.segs[d] = nil
		}
	}
	return order, nil
}

type linkPkt struct {
	link uint32
	data []byte
}

// capturePackets lists the packets of a classic pcap or a pcapng file.
func capturePackets(raw []byte) ([]linkPkt, error) {
	var out []linkPkt
	if len(raw) >= 12 && binary.LittleEndian.Uint32(raw) == 0x0a0d0d0a {
		var bo binary.ByteOrder = binary.LittleEndian
		if binary.LittleEndian.Uint32(raw[8:]) != 0x1a2b3c4d {
			bo = binary.BigEndian
		}
		var links []uint32
		for off := 0; off+12 <= len(raw); {
			typ, blen := bo.Uint32(raw[off:]), int(bo.Uint32(raw[off+4:]))
			if blen < 12 || off+blen > len(raw) {
				break
			}
			body := raw[off+8 : off+blen-4]
			switch typ {
			case 0x0a0d0d0a:
				links = links[:0]
			case 1:
				if len(body) >= 2 {
					links = append(links, uint32(bo.Uint16(body)))
				}
			case 6:
				if len(body) >= 20 {
					id, capl := int(bo.Uint32(body)), int(bo.Uint32(body[12:]))
					if id < len(links) && 20+capl <= len(body) {
						out = append(out, linkPkt{links[id], body[20 : 20+capl]})
					}
				}
			}
			off += blen
		}
		return out, nil
	}
	if len(raw) < 24 {
		return nil, errors.New("short capture")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(raw) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, errors.New("not a pcap or pcapng file")
	}
	link := bo.Uint32(raw[20:])
	for off := 24; off+16 <= len(raw); {
		incl := int(bo.Uint32(raw[off+8:]))
		off += 16
		if off+incl > len(raw) {
			break
		}
		out = append(out, linkPkt{link, raw[off : off+incl]})
		off += incl
	}
	return out, nil
}

var contentRe = regexp.MustCompile(`file_data;\s*content:"([^"]*)"`)

// ruleContents decodes the file_data patterns of a test's active rules.
func ruleContents(rules string) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(rules, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range contentRe.FindAllStringSubmatch(line, -1) {
			out = append(out, decodeContent(m[1]))
		}
	}
	return out
}

func decodeContent(s string) []byte {
	var out []byte
	for {
		i := strings.IndexByte(s, '|')
		if i < 0 {
			return append(out, s...)
		}
		out = append(out, s[:i]...)
		s = s[i+1:]
		j := strings.IndexByte(s, '|')
		if j < 0 {
			return out
		}
		hex := strings.Fields(s[:j])
		for _, h := range hex {
			for k := 0; k+1 < len(h); k += 2 {
				a, _ := unhex(h[k])
				b, _ := unhex(h[k+1])
				out = append(out, a<<4|b)
			}
		}
		s = s[j+1:]
	}
}

// TestCorpusEvader feeds each http-evader capture and checks the decoded
// response body holds every file_data pattern the test's rules look for.
func TestCorpusEvader(t *testing.T) {
	dir := filepath.Join(testutil.Corpus(t), "suricata-verify", "http-evader")
	tests, err := filepath.Glob(filepath.Join(dir, "http-evader-*"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no evader tests under %s: %v", dir, err)
	}
	pass, total := 0, 0
	var failed []string
	for _, td := range tests {
		rules, err := os.ReadFile(filepath.Join(td, "test.rules"))
		if err != nil {
			continue
		}
		want := ruleContents(string(rules))
		if len(want) == 0 {
			continue
		}
		total++
		st, err := readStreams(filepath.Join(td, "input.pcap"))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(td), err)
			continue
		}
		// The tests raise the layer limit to 3 on the command line.
		p := NewParser(Config{DecompressLayerLimit: layerLimit()})
		p.Feed(ToServer, st.client, true)
		p.Feed(ToClient, st.server, true)
		ok := true
		for _, w := range want {
			found := false
			for _, tx := range p.Txs() {
				if b, has := tx.Buffer("file.data", ToClient); has && bytes.Contains(b, w) {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			pass++
		} else {
			failed = append(failed, filepath.Base(td))
		}
	}
	t.Logf("http-evader: %d/%d responses decode to the rules' file_data patterns", pass, total)
	if len(failed) > 0 {
		t.Logf("failing: %s", strings.Join(failed, " "))
	}
	// Guard against regressions; raise as the parser improves.
	if total == 342 && pass < total {
		t.Errorf("only %d/%d evader tests pass", pass, total)
	}
}

// TestCorpusPcaps runs every HTTP flow of the capture collection through the
// parser: no panics, limits kept, and a count of what was parsed.
func TestCorpusPcaps(t *testing.T) {
	testutil.SkipIfShort(t, "the parse of every HTTP flow of the corpus")
	var files []string
	root := filepath.Join(testutil.Corpus(t), "pcaps")
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".cap") || strings.HasSuffix(path, ".pcapng")) {
			files = append(files, path)
		}
		return nil
	})
	var flows, txs, withResp, unreadable int
	var evs [64]int
	for _, f := range files {
		conns, err := readConns(f)
		if err != nil {
			unreadable++
			continue
		}
		for _, c := range conns {
			cl, sv, fin := c.client, c.server, c.fin
			if !Probe(ToServer, cl) && !Probe(ToClient, sv) {
				if !Probe(ToClient, cl) {
					continue
				}
				cl, sv, fin = sv, cl, [2]bool{fin[1], fin[0]}
			}
			flows++
			cfg := Config{}
			p := NewParser(cfg)
			p.Feed(ToServer, cl, fin[0])
			p.Feed(ToClient, sv, fin[1])
			check(t, p, cfg.withDefaults())
			for _, x := range p.Txs() {
				txs++
				if x.ResponseLineDone {
					withResp++
				}
				for _, e := range x.Events {
					evs[e]++
				}
				x.EVE()
			}
		}
	}
	t.Logf("%d captures (%d unreadable), %d HTTP flows, %d txs, %d with a response", len(files), unreadable, flows, txs, withResp)
	var top []string
	for e, n := range evs {
		if n > 0 {
			top = append(top, fmt.Sprintf("%v=%d", Event(e), n))
		}
	}
	t.Logf("events: %s", strings.Join(top, " "))
	if flows == 0 {
		t.Errorf("no HTTP flows found")
	}
}

// layerLimit is 3 as the evader tests set on the command line;
// HTTP_LAYER_LIMIT overrides it to see what Suricata's default would do.
func layerLimit() int {
	if v, err := strconv.Atoi(os.Getenv("HTTP_LAYER_LIMIT")); err == nil {
		return v
	}
	return 3
}
