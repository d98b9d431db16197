package lab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// dnsResponder is the lab internet's DNS server: A queries for NAME.lab.example get the lab
// node's address, every other A query the router's own (the "internet"), and other types an empty
// NOERROR, enough for real resolvers to complete a lookup.
type dnsResponder struct {
	conn    net.PacketConn
	answer  netip.Addr
	records map[string]netip.Addr // lower-case name with trailing dot
	done    chan struct{}
}

// startDNS serves DNS on node's address, port 53, inside node's namespace until Close.
func (l *Lab) startDNS(node Node) (*dnsResponder, error) {
	var conn net.PacketConn
	err := inNetns(node.Netns, func() error {
		c, err := net.ListenPacket("udp4", netip.AddrPortFrom(node.IP, 53).String())
		conn = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start the lab DNS responder on %s:53 in %s: %w", node.IP, node.Netns, err)
	}
	d := &dnsResponder{conn: conn, answer: node.IP, records: map[string]netip.Addr{}, done: make(chan struct{})}
	for _, n := range l.nodes() {
		d.records[n.Name+".lab.example."] = n.IP
	}
	go d.serve()
	return d, nil
}

func (d *dnsResponder) Close() error {
	err := d.conn.Close()
	<-d.done
	return err
}

func (d *dnsResponder) serve() {
	defer close(d.done)
	buf := make([]byte, 512)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp, ok := dnsAnswer(buf[:n], d.lookup); ok {
			_, _ = d.conn.WriteTo(resp, from)
		}
	}
}

// dnsAnswer builds the reply to a single-question query; malformed queries get no answer, as a
// real server would drop them.
func dnsAnswer(q []byte, lookup func(name string) netip.Addr) ([]byte, bool) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 || q[2]&0x80 != 0 {
		return nil, false
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		if q[i]&0xc0 != 0 {
			return nil, false
		}
		i += int(q[i]) + 1
	}
	if i+5 > len(q) {
		return nil, false
	}
	qEnd := i + 5
	addr := lookup(qname(q[12:i]))
	qtype := binary.BigEndian.Uint16(q[i+1:])
	resp := make([]byte, 0, qEnd+16)
	resp = append(resp, q[0], q[1])
	resp = append(resp, 0x80|(q[2]&0x79)|0x04, 0x80) // QR, opcode+RD copied, AA; RA
	resp = append(resp, 0, 1)                        // QDCOUNT
	if qtype == 1 {
		resp = append(resp, 0, 1) // ANCOUNT
	} else {
		resp = append(resp, 0, 0)
	}
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, q[12:qEnd]...)
	if qtype == 1 {
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, addr.AsSlice()...)
	}
	return resp, true
}

// Resolve looks name up from node through the lab's DNS server with Go's stub resolver, whose
// socket lives in node's namespace: a real DNS query on the lab wire.
func (l *Lab) Resolve(ctx context.Context, node, name string) ([]netip.Addr, error) {
	server := netip.AddrPortFrom(l.Inet.IP, 53).String()
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var c net.Conn
			err := l.Do(node, func() error {
				var d net.Dialer
				var err error
				c, err = d.DialContext(ctx, network, server)
				return err
			})
			return c, err
		},
	}
	ips, err := r.LookupNetIP(ctx, "ip4", strings.TrimSuffix(name, ".")+".")
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return nil, fmt.Errorf("resolve %s from %s via %s: %w", name, node, server, err)
		}
		return nil, fmt.Errorf("resolve %s from %s: %w", name, node, err)
	}
	return ips, nil
}

func (d *dnsResponder) lookup(name string) netip.Addr {
	if a, ok := d.records[strings.ToLower(name)]; ok {
		return a
	}
	return d.answer
}

// qname turns wire-format labels (already checked to be in bounds, uncompressed) into "a.b.".
func qname(labels []byte) string {
	var b strings.Builder
	for i := 0; i < len(labels); i += int(labels[i]) + 1 {
		b.Write(labels[i+1 : i+1+int(labels[i])])
		b.WriteByte('.')
	}
	return b.String()
}
