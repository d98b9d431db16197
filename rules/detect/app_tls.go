package detect

import (
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/proto/tls"
)

// tlsFlow is a TLS connection's parser and what was last inspected.
type tlsFlow struct {
	p *tls.Parser
	// stage per direction when last inspected: the handshake is one
	// transaction that only grows, so it is inspected again only when a
	// message that supplies buffers arrived.
	stage [2]uint32
	ver   [4]byte // the tls.version buffer
}

// tlsBuf maps the TLS buffers to the direction that supplies them: the
// client's hello toward the server, the server's hello and certificates
// toward the client. Packets toward the client see the client's buffers too,
// so a rule naming both (tls.sni and tls.cert_subject) matches once the
// certificate arrives, as in Suricata.
type tlsBuf struct {
	b      keyword.Buffer
	client bool
}

// tlsBuffers lists the TLS buffers and which side supplies each.
func tlsBuffers() []tlsBuf {
	client := map[string]bool{"tls.sni": true, "ja3.hash": true, "ja3.string": true, "tls.version": true}
	var out []tlsBuf
	for i := 1; i < keyword.NumBuffers; i++ {
		b := keyword.Buffer(i)
		if info := b.Info(); info.App == "tls" {
			out = append(out, tlsBuf{b: b, client: client[info.Name]})
		}
	}
	return out
}

var tlsBufs = tlsBuffers()

// stageOfTLS summarises which handshake messages a State holds.
func stageOfTLS(s *tls.State) uint32 {
	var st uint32
	for i, b := range [...]bool{s.ClientHelloDone, s.ServerHelloDone, s.CertDone, s.SNI != nil, s.Version() != 0} {
		if b {
			st |= 1 << i
		}
	}
	return st | uint32(len(s.Certs))<<8
}

// tlsFeed parses TLS stream bytes and inspects the handshake when they
// completed a message that supplies buffers.
func (w *Worker) tlsFeed(p *decode.Packet, f *flow.Flow, st *appState, dir flow.Dir, data []byte, emit func(*Alert)) Verdict {
	if st.tls == nil {
		st.tls = &tlsFlow{p: tls.NewParser()}
	}
	t := st.tls
	if len(data) > 0 && !t.p.Done(tls.Dir(dir&1)) {
		t.p.Feed(tls.Dir(dir&1), data)
	}
	s := t.p.State()
	stage := stageOfTLS(s)
	if stage == 0 || stage == t.stage[dir&1] {
		return VerdictPass
	}
	t.stage[dir&1] = stage
	if w.app.names {
		tlsNames(f, s) // app_names.go
	}
	if !w.e.tlsEnabled {
		// Parsed for the names alone (SetRecordNames).
		return VerdictPass
	}
	tb := &w.tx
	tb.Reset()
	tb.AppProto = "tls"
	tb.tls = s
	toClient := dir&1 == flow.ToClient
	for _, x := range tlsBufs {
		if !x.client && !toClient {
			continue
		}
		switch x.b.String() {
		case "tls.certs":
			if len(s.Certs) > 0 {
				tb.SetMulti(x.b, s.CertBuffers())
			}
		case "tls.version":
			// Suricata compares the client's hello version toward the
			// server and the server's toward the client.
			v := s.Version()
			if !toClient {
				v = s.ClientVersion
			}
			if v != 0 {
				tb.Set(x.b, keyword.TLSVersionBytes(v, t.ver[:0]))
			}
		default:
			if v, ok := s.Buffer(x.b.String()); ok {
				tb.Set(x.b, v)
			}
		}
	}
	return w.InspectTx(p, f, dir, tb, emit)
}
