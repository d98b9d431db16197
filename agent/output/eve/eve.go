package eve

import (
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// Field is an extra top-level member of a record, such as the agent's
// "vm" object. Value is encoded like app-layer values (maps, slices,
// scalars, json.RawMessage).
type Field struct {
	Key   string
	Value any
}

// Options choose optional parts of records, mirroring the eve-log alert
// settings of suricata.yaml.
type Options struct {
	// CommunityID adds community_id to alert and flow records.
	CommunityID     bool
	CommunityIDSeed uint16
	// Payload adds the base64 payload, PayloadPrintable its printable
	// rendering, Packet the base64 frame (Suricata's alert options).
	Payload, PayloadPrintable, Packet bool
	// Verdict adds the IPS verdict object to alerts.
	Verdict bool
	// Ethernet adds the "ether" object (MAC addresses) to alerts.
	Ethernet bool
	// Location for timestamps; nil means time.Local, as Suricata does.
	Location *time.Location
	// WriteTimeout bounds each write when the destination supports
	// deadlines (a socket), so a stalled reader cannot stall detection.
	WriteTimeout time.Duration
}

// Writer encodes EVE records to an io.Writer, one line per record. It is
// safe for concurrent use; records are written whole, never interleaved.
type Writer struct {
	opts Options
	loc  *time.Location

	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	alerted map[uint64]struct{} // flows that alerted, for flow.alerted

	records atomic.Uint64
	errors  atomic.Uint64
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer, opts Options) *Writer {
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	return &Writer{opts: opts, loc: loc, w: w, buf: make([]byte, 0, 4096), alerted: map[uint64]struct{}{}}
}

// Records is the number of records written successfully.
func (w *Writer) Records() uint64 { return w.records.Load() }

// Errors is the number of records lost to write errors.
func (w *Writer) Errors() uint64 { return w.errors.Load() }

type deadliner interface{ SetWriteDeadline(time.Time) error }

// flush writes the record in w.buf; called with w.mu held.
func (w *Writer) flush() error {
	w.buf = append(w.buf, '\n')
	if w.opts.WriteTimeout > 0 {
		if d, ok := w.w.(deadliner); ok {
			_ = d.SetWriteDeadline(time.Now().Add(w.opts.WriteTimeout))
		}
	}
	_, err := w.w.Write(w.buf)
	if err != nil {
		w.errors.Add(1)
		return err
	}
	w.records.Add(1)
	return nil
}

// FlowID is the flow_id logged for a flow: the engine's id cut to 53 bits,
// so tools that read JSON numbers as doubles (jq, JavaScript) keep it exact
// and can still join alerts to flows.
func FlowID(id uint64) uint64 { return id & (1<<53 - 1) }

// ProtoName is the EVE spelling of an IP protocol number.
func ProtoName(p uint8) string {
	switch p {
	case decode.ProtoTCP:
		return "TCP"
	case decode.ProtoUDP:
		return "UDP"
	case decode.ProtoICMP:
		return "ICMP"
	case decode.ProtoICMPv6:
		return "IPv6-ICMP"
	case 2:
		return "IGMP"
	case 4:
		return "IP-in-IP"
	case 41:
		return "IPv6"
	case 47:
		return "GRE"
	case 50:
		return "ESP"
	case 51:
		return "AH"
	case 132:
		return "SCTP"
	}
	return strconv.Itoa(int(p))
}

// linkHeaderLen is the length of p's link-layer header in p.Data, or -1
// when unknown; the rebuilt datagram is logged behind it.
func linkHeaderLen(p *decode.Packet) int {
	d := p.Data
	switch p.LinkType {
	case decode.LinkRaw, decode.LinkIPv4, decode.LinkIPv6:
		return 0
	case decode.LinkEthernet:
		n := 14 + 4*int(p.VLANCount)
		if n <= len(d) {
			return n
		}
	case decode.LinkNull, decode.LinkLoop:
		if len(d) >= 4 {
			return 4
		}
	case decode.LinkSLL:
		if len(d) >= 16 {
			return 16
		}
	case decode.LinkSLL2:
		if len(d) >= 20 {
			return 20
		}
	case 9: // PPP: optional ff 03, then a 1-byte (odd) or 2-byte protocol
		n := 0
		if len(d) >= 2 && d[0] == 0xff && d[1] == 0x03 {
			n = 2
		}
		if len(d) > n && d[n]&1 == 1 {
			return n + 1
		}
		if len(d) >= n+2 {
			return n + 2
		}
	}
	return -1
}

// LinkTypeName is the name Suricata logs as packet_info.linktype_name.
func LinkTypeName(lt decode.LinkType) string {
	switch lt {
	case decode.LinkNull:
		return "NULL"
	case decode.LinkEthernet:
		return "EN10MB"
	case 9:
		return "PPP"
	case decode.LinkRaw:
		return "RAW"
	case 104:
		return "C_HDLC"
	case decode.LinkLoop:
		return "LOOP"
	case decode.LinkSLL:
		return "LINUX_SLL"
	case decode.LinkIPv4:
		return "IPv4"
	case decode.LinkIPv6:
		return "IPv6"
	case decode.LinkSLL2:
		return "LINUX_SLL2"
	}
	return ""
}

func dirName(d flow.Dir) string {
	if d == flow.ToClient {
		return "to_client"
	}
	return "to_server"
}

func (w *Writer) head(b []byte, ts time.Time, flowID uint64, pcapCnt uint64, eventType string) []byte {
	b = append(b, `{"timestamp":`...)
	b = appendTime(b, ts, w.loc)
	if flowID != 0 {
		b = append(b, `,"flow_id":`...)
		b = strconv.AppendUint(b, FlowID(flowID), 10)
	}
	if pcapCnt != 0 {
		b = append(b, `,"pcap_cnt":`...)
		b = strconv.AppendUint(b, pcapCnt, 10)
	}
	b = append(b, `,"event_type":`...)
	return appendString(b, eventType)
}

// tuple is what the address part of a record needs.
type tuple struct {
	src, dst           netip.Addr
	sport, dport       uint16
	proto              uint8
	icmp               bool
	icmpType, icmpCode uint8
}

func (w *Writer) appendTuple(b []byte, t *tuple) []byte {
	if t.src.IsValid() {
		b = append(b, `,"src_ip":`...)
		b = appendAddr(b, t.src)
	}
	if !t.icmp && (t.proto == decode.ProtoTCP || t.proto == decode.ProtoUDP || t.proto == 132) {
		b = append(b, `,"src_port":`...)
		b = strconv.AppendUint(b, uint64(t.sport), 10)
	}
	if t.dst.IsValid() {
		b = append(b, `,"dest_ip":`...)
		b = appendAddr(b, t.dst)
	}
	if !t.icmp && (t.proto == decode.ProtoTCP || t.proto == decode.ProtoUDP || t.proto == 132) {
		b = append(b, `,"dest_port":`...)
		b = strconv.AppendUint(b, uint64(t.dport), 10)
	}
	if t.src.IsValid() {
		b = append(b, `,"proto":`...)
		b = appendString(b, ProtoName(t.proto))
	}
	if t.icmp {
		b = append(b, `,"icmp_type":`...)
		b = strconv.AppendUint(b, uint64(t.icmpType), 10)
		b = append(b, `,"icmp_code":`...)
		b = strconv.AppendUint(b, uint64(t.icmpCode), 10)
	}
	return b
}

func (w *Writer) appendCommunityID(b []byte, t *tuple) []byte {
	if !w.opts.CommunityID || !t.src.IsValid() || !t.dst.IsValid() {
		return b
	}
	sport, dport := t.sport, t.dport
	if t.icmp {
		sport, dport = uint16(t.icmpType), uint16(t.icmpCode)
	}
	b = append(b, `,"community_id":"`...)
	b = AppendCommunityID(b, w.opts.CommunityIDSeed, t.proto, t.src, t.dst, sport, dport)
	return append(b, '"')
}

func appendExtra(b []byte, extra []Field) []byte {
	for _, f := range extra {
		if f.Key == "" {
			continue
		}
		b = append(b, ',')
		b = appendKey(b, f.Key)
		b = appendValue(b, f.Value)
	}
	return b
}

// appendFlowCounters writes the shared part of the alert's and the flow
// record's "flow" object.
func (w *Writer) appendFlowCounters(b []byte, f *flow.Flow) []byte {
	b = append(b, `"pkts_toserver":`...)
	b = strconv.AppendUint(b, f.Pkts[flow.ToServer], 10)
	b = append(b, `,"pkts_toclient":`...)
	b = strconv.AppendUint(b, f.Pkts[flow.ToClient], 10)
	b = append(b, `,"bytes_toserver":`...)
	b = strconv.AppendUint(b, f.Bytes[flow.ToServer], 10)
	b = append(b, `,"bytes_toclient":`...)
	b = strconv.AppendUint(b, f.Bytes[flow.ToClient], 10)
	b = append(b, `,"start":`...)
	return appendTime(b, f.Start, w.loc)
}

// WriteAlert writes one alert record. The alert's Packet must still be
// valid (call from the engine's emit callback). Suricata logs src/dest as
// the packet's own source and destination, not the flow's.
func (w *Writer) WriteAlert(a *detect.Alert, extra ...Field) error {
	return w.WriteAlertFunc(a, nil, extra...)
}

// WriteAlertFunc is WriteAlert, then, once the record is written, hands it
// to sink (without its newline) under the writer's lock, so records reach
// sink in file order. The slice is only valid during the call.
func (w *Writer) WriteAlertFunc(a *detect.Alert, sink func(line []byte), extra ...Field) error {
	var t tuple
	var ts time.Time
	var num uint64
	p := a.Packet
	f := a.Flow
	switch {
	case p != nil:
		ts, num = p.Timestamp, p.Num
		t = tuple{src: p.SrcIP, dst: p.DstIP, sport: p.SrcPort, dport: p.DstPort, proto: p.IPProto}
		if p.IsICMP() {
			t.icmp, t.icmpType, t.icmpCode = true, p.ICMPType, p.ICMPCode
		}
	case f != nil:
		// Alerts raised at flush have no packet: take the flow's tuple,
		// oriented by the alert's direction.
		ts = f.Last
		k := f.Key
		t = tuple{src: k.Src, dst: k.Dst, sport: k.SrcPort, dport: k.DstPort, proto: k.Proto}
		if a.Dir == flow.ToClient {
			t.src, t.dst, t.sport, t.dport = t.dst, t.src, t.dport, t.sport
		}
	}
	var flowID uint64
	if f != nil {
		flowID = f.ID
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if f != nil {
		w.alerted[f.ID] = struct{}{}
	}
	b := w.head(w.buf[:0], ts, flowID, num, "alert")
	b = w.appendTuple(b, &t)
	if p != nil && p.IPVersion != 0 {
		b = append(b, `,"ip_v":`...)
		b = strconv.AppendUint(b, uint64(p.IPVersion), 10)
	}
	b = append(b, `,"pkt_src":`...)
	if p != nil {
		b = appendString(b, p.Src.String())
	} else {
		b = appendString(b, decode.PktSrcFlowTimeout.String())
	}
	if p != nil && p.TunnelDepth > 0 {
		b = appendTunnel(b, p)
	}
	if a.TxID >= 0 && a.AppProto != "" {
		b = append(b, `,"tx_id":`...)
		b = strconv.AppendInt(b, int64(a.TxID), 10)
	}
	b = w.appendCommunityID(b, &t)

	if w.opts.Ethernet && p != nil && p.HasEth {
		b = append(b, `,"ether":{"src_mac":`...)
		b = appendMAC(b, p.SrcMAC)
		b = append(b, `,"dest_mac":`...)
		b = appendMAC(b, p.DstMAC)
		b = append(b, '}')
	}
	b = append(b, `,"alert":{"action":`...)
	action := a.Action
	if action == "" {
		action = "allowed"
	}
	b = appendString(b, action)
	b = append(b, `,"gid":`...)
	b = strconv.AppendUint(b, uint64(a.GID), 10)
	b = append(b, `,"signature_id":`...)
	b = strconv.AppendUint(b, uint64(a.SID), 10)
	b = append(b, `,"rev":`...)
	b = strconv.AppendUint(b, uint64(a.Rev), 10)
	b = append(b, `,"signature":`...)
	b = appendString(b, a.Msg)
	b = append(b, `,"category":`...)
	b = appendString(b, a.Category)
	b = append(b, `,"severity":`...)
	b = strconv.AppendInt(b, int64(a.Severity), 10)
	if len(a.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = appendMetadata(b, a.Metadata)
	}
	b = append(b, '}')
	if w.opts.Verdict {
		b = append(b, `,"verdict":{"action":`...)
		if a.Action == "blocked" {
			b = appendString(b, "drop")
		} else {
			b = appendString(b, "alert")
		}
		b = append(b, '}')
	}
	appProto := a.AppProto
	if appProto == "" && f != nil {
		appProto = f.AppProto
	}
	if appProto != "" {
		b = append(b, `,"app_proto":`...)
		b = appendString(b, appProto)
	}
	if f != nil {
		b = append(b, `,"direction":`...)
		b = appendString(b, dirName(a.Dir))
		b = append(b, `,"flow":{`...)
		b = w.appendFlowCounters(b, f)
		k := f.Key
		b = append(b, `,"src_ip":`...)
		b = appendAddr(b, k.Src)
		b = append(b, `,"dest_ip":`...)
		b = appendAddr(b, k.Dst)
		if k.Proto == decode.ProtoTCP || k.Proto == decode.ProtoUDP {
			b = append(b, `,"src_port":`...)
			b = strconv.AppendUint(b, uint64(k.SrcPort), 10)
			b = append(b, `,"dest_port":`...)
			b = strconv.AppendUint(b, uint64(k.DstPort), 10)
		}
		b = append(b, '}')
	}
	if len(a.App) > 0 {
		keys := make([]string, 0, len(a.App))
		for k := range a.App {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, ',')
			b = appendKey(b, k)
			b = appendValue(b, a.App[k])
		}
	}
	if p != nil {
		if w.opts.Payload {
			b = append(b, `,"payload":`...)
			b = appendBase64(b, p.Payload)
		}
		if w.opts.PayloadPrintable {
			b = append(b, `,"payload_printable":`...)
			b = appendPrintableGap(b, p.StreamGap, p.Payload)
		}
		b = append(b, `,"stream":`...)
		if a.Stream {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
		if w.opts.Packet {
			data, lt := p.Data, p.LinkType
			// A datagram rebuilt from fragments is logged as the rebuilt IP
			// packet, as Suricata logs its pseudo packet.
			var link []byte
			if p.Reassembled && p.IPLen > 0 && cap(p.IPHeader) >= p.IPLen {
				if n := linkHeaderLen(p); n >= 0 {
					link, data = p.Data[:n], p.IPHeader[:p.IPLen]
				}
			}
			b = append(b, `,"packet":`...)
			if link != nil {
				b = appendBase64Pair(b, link, data)
			} else {
				b = appendBase64(b, data)
			}
			b = append(b, `,"packet_info":{"linktype":`...)
			b = strconv.AppendUint(b, uint64(lt), 10)
			if name := LinkTypeName(lt); name != "" {
				b = append(b, `,"linktype_name":`...)
				b = appendString(b, name)
			}
			b = append(b, '}')
		}
	}
	b = appendExtra(b, extra)
	b = append(b, '}')
	w.buf = b
	if err := w.flush(); err != nil {
		return err
	}
	if sink != nil {
		sink(w.buf[:len(w.buf)-1])
	}
	return nil
}

// appendTunnel writes Suricata's "tunnel" object of a packet decoded from
// inside a tunnel: the outermost packet's tuple and the nesting depth.
func appendTunnel(b []byte, p *decode.Packet) []byte {
	b = append(b, `,"tunnel":{"src_ip":`...)
	b = appendAddr(b, p.TunnelSrcIP)
	b = append(b, `,"src_port":`...)
	b = strconv.AppendUint(b, uint64(p.TunnelSrcPort), 10)
	b = append(b, `,"dest_ip":`...)
	b = appendAddr(b, p.TunnelDstIP)
	b = append(b, `,"dest_port":`...)
	b = strconv.AppendUint(b, uint64(p.TunnelDstPort), 10)
	b = append(b, `,"proto":`...)
	b = appendString(b, ProtoName(p.TunnelProto))
	b = append(b, `,"depth":`...)
	b = strconv.AppendUint(b, uint64(p.TunnelDepth), 10)
	if p.Num != 0 {
		b = append(b, `,"pcap_cnt":`...)
		b = strconv.AppendUint(b, p.Num, 10)
	}
	b = append(b, `,"pkt_src":`...)
	b = appendString(b, decode.PktSrcWire.String())
	return append(b, '}')
}

func appendMetadata(b []byte, m map[string][]string) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, k)
		b = append(b, '[')
		for j, v := range m[k] {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// FlowState is the EVE flow.state of f.
func FlowState(f *flow.Flow) string {
	if f.TCP != nil && f.TCP.Closed() {
		return "closed"
	}
	if f.Established() {
		return "established"
	}
	return "new"
}

// WriteFlow writes a flow record for a retired flow.
func (w *Writer) WriteFlow(f *flow.Flow, reason flow.EndReason, extra ...Field) error {
	k := f.Key
	t := tuple{src: k.Src, dst: k.Dst, sport: k.SrcPort, dport: k.DstPort, proto: k.Proto}
	state := FlowState(f)

	w.mu.Lock()
	defer w.mu.Unlock()
	_, alerted := w.alerted[f.ID]
	delete(w.alerted, f.ID)
	b := w.head(w.buf[:0], f.Last, f.ID, 0, "flow")
	b = w.appendTuple(b, &t)
	if f.AppProto != "" && f.AppProto != "failed" {
		b = append(b, `,"app_proto":`...)
		b = appendString(b, f.AppProto)
	}
	b = append(b, `,"flow":{`...)
	b = w.appendFlowCounters(b, f)
	b = append(b, `,"end":`...)
	b = appendTime(b, f.Last, w.loc)
	b = append(b, `,"age":`...)
	b = strconv.AppendInt(b, int64(f.Last.Sub(f.Start)/time.Second), 10)
	b = append(b, `,"state":`...)
	b = appendString(b, state)
	b = append(b, `,"reason":`...)
	b = appendString(b, string(reason))
	b = append(b, `,"alerted":`...)
	b = strconv.AppendBool(b, alerted)
	b = append(b, '}')
	b = w.appendCommunityID(b, &t)
	b = appendExtra(b, extra)
	b = append(b, '}')
	w.buf = b
	return w.flush()
}

// WriteStats writes a stats record; stats is the nested counter tree
// (e.g. {"decoder": {"pkts": 7}, "detect": {"alert": 3}}).
func (w *Writer) WriteStats(ts time.Time, stats map[string]any, extra ...Field) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.head(w.buf[:0], ts, 0, 0, "stats")
	b = append(b, `,"stats":`...)
	b = appendValue(b, stats)
	b = appendExtra(b, extra)
	b = append(b, '}')
	w.buf = b
	return w.flush()
}

// WriteEvent writes a record of any other event type with the given
// top-level fields, for outputs the writer has no dedicated method for.
func (w *Writer) WriteEvent(eventType string, ts time.Time, fields ...Field) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.head(w.buf[:0], ts, 0, 0, eventType)
	b = appendExtra(b, fields)
	b = append(b, '}')
	w.buf = b
	return w.flush()
}
