package detect

import (
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/proto/dns"
)

// dnsFlow is a DNS flow's parser state: TCP framing and the transaction
// counter (each message is one transaction, as in Suricata).
type dnsFlow struct {
	stream dns.StreamParser
	txs    int
}

// bufDNSQuery is the dns.query multi-buffer's id.
var bufDNSQuery, _ = keyword.BufferByName("dns.query")

// appDatagram runs UDP app-layer work for p before its rules are
// evaluated, as Suricata parses a datagram first: it detects DNS by content
// and, when rules need it, parses the message and inspects its buffers.
func (w *Worker) appDatagram(p *decode.Packet, f *flow.Flow, fs *flowState, dir flow.Dir, emit func(*Alert)) Verdict {
	if f == nil || fs == nil || len(p.Payload) == 0 {
		return VerdictPass
	}
	st := &fs.app
	if st.failed {
		return VerdictPass
	}
	if st.proto == "" {
		if !dns.Probe(p.Payload) {
			st.probes[dir&1]++
			if st.probes[dir&1] >= maxProbes {
				st.failed = true
				if f.AppProto == "" {
					f.AppProto = "failed"
				}
			}
			return VerdictPass
		}
		st.proto, f.AppProto = "dns", "dns"
	}
	if st.proto != "dns" {
		return VerdictPass
	}
	// With no rule needing DNS, only queries are parsed, for the flow's
	// names, until it holds as many as it keeps (SetRecordNames).
	if !w.e.dnsEnabled && !(w.app.names && dnsIsQuery(p.Payload) && !f.Names.Full(flow.NameDNSQuery)) {
		return VerdictPass
	}
	m := &w.app.dnsMsg
	// A malformed message still yields what was read before the fault,
	// which Suricata would also have inspected for a truncated one.
	_ = dns.Parse(p.Payload, m)
	if w.app.names {
		dnsNames(f, m)
	}
	if !w.e.dnsEnabled {
		return VerdictPass
	}
	if st.dns == nil {
		st.dns = &dnsFlow{}
	}
	return w.dnsInspect(p, f, st.dns, dir, m, emit)
}

// dnsStreamFeed splits DNS-over-TCP stream bytes into messages and inspects
// each.
func (w *Worker) dnsStreamFeed(p *decode.Packet, f *flow.Flow, st *appState, dir flow.Dir, data []byte, emit func(*Alert)) Verdict {
	if st.dns == nil {
		st.dns = &dnsFlow{}
	}
	d := st.dns
	v := VerdictPass
	d.stream.Feed(dns.Dir(dir&1), data, func(m *dns.Message) {
		if w.app.names {
			dnsNames(f, m)
		}
		if w.e.dnsEnabled && w.dnsInspect(p, f, d, dir, m, emit) == VerdictDrop {
			v = VerdictDrop
		}
	})
	return v
}

// dnsInspect evaluates the DNS rules against one message. dns.query is a
// request buffer in Suricata, so responses supply nothing to inspect.
func (w *Worker) dnsInspect(p *decode.Packet, f *flow.Flow, d *dnsFlow, dir flow.Dir, m *dns.Message, emit func(*Alert)) Verdict {
	id := d.txs
	d.txs++
	if m.Response || len(m.Queries) == 0 {
		return VerdictPass
	}
	tb := &w.tx
	tb.Reset()
	tb.TxID = id
	tb.AppProto = "dns"
	tb.dns = m
	tb.SetMulti(bufDNSQuery, m.QueryNames())
	return w.InspectTx(p, f, dir, tb, emit)
}
