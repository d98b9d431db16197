package flowstore

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Role says which side of its flows a VM was on.
type Role string

const (
	Server Role = "server" // the VM answered: it offers Proto/Port
	Client Role = "client" // the VM initiated: it uses Peer's Proto/Port
)

// Service is one line of a VM's observed network role.
type Service struct {
	Role     Role
	Proto    string
	Port     uint16 // the server's port
	AppProto string
	// Peer is the server the VM used (Client rows); invalid for Server rows.
	Peer   netip.Addr
	PeerVM string // Peer's VM name, "" when it is not a VM
	// Peers counts distinct client addresses (Server rows); 1 for Client rows.
	Peers                        int
	Flows                        int
	FirstSeen, LastSeen          time.Time
	BytesToServer, BytesToClient uint64
	// Names are the application-layer names the row's flows revealed, both
	// sides' (the server's Server header, certificate names and SSH line;
	// the clients' user agents, SNI, DNS queries and SSH lines), at most
	// MaxServiceNames of each kind, from the most recent flows first; nil
	// when none.
	Names Names
}

// answeredSQL is Answered as an SQL condition on a flows row.
const answeredSQL = `pkts_tc > 0 AND NOT (upper(proto) = 'TCP' AND (state = 'new' OR pkts_ts < 2))`

// Answered reports whether a flow's server answered it: packets back to
// the client and, for TCP, a connection the server accepted rather than an
// attempt. An attempt stays "new" (no answer at all) or is refused with a
// RST, which ends it "closed" with one packet each way; an accepted
// connection has at least two packets toward the server (the SYN and the
// handshake's ACK). Services, Changes and the daemon's live change
// detector share this rule, so a scan of closed ports never makes a VM
// look like it offers them.
func Answered(proto string, pktsToServer, pktsToClient uint64, state string) bool {
	if pktsToClient == 0 {
		return false
	}
	return !strings.EqualFold(proto, "TCP") || (state != "new" && pktsToServer >= 2)
}

// Services returns what vm was seen doing in the stored flows: the
// (proto, port, app proto) it answered on as a server, and the servers it
// talked to as a client. A server row needs an answer (Answered), so scans
// and closed ports do not make a VM look like it offers a service.
//
// The flow's source is the side that initiated it, as the detection core
// reports flows.
//
// Each row carries the names its flows revealed (Service.Names).
func (s *Store) Services(ctx context.Context, vm string) ([]Service, error) {
	if vm == "" {
		return nil, fmt.Errorf("flow store %s: services: a VM name is required", s.path)
	}
	var out []Service
	rows, err := s.db.QueryContext(ctx, `SELECT proto, dst_port, app_proto, count(DISTINCT src_ip), count(*),
		min(start_ns), max(end_ns), sum(bytes_ts), sum(bytes_tc)
		FROM flows WHERE dst_vm = ? AND `+answeredSQL+`
		GROUP BY proto, dst_port, app_proto ORDER BY proto, dst_port, app_proto`, vm)
	if err != nil {
		return nil, fmt.Errorf("flow store %s: services of %s as server: %w", s.path, vm, err)
	}
	for rows.Next() {
		v := Service{Role: Server}
		var first, last, bts, btc int64
		if err := rows.Scan(&v.Proto, &v.Port, &v.AppProto, &v.Peers, &v.Flows, &first, &last, &bts, &btc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("flow store %s: services of %s: %w", s.path, vm, err)
		}
		v.FirstSeen, v.LastSeen, v.BytesToServer, v.BytesToClient = fromNanos(first), fromNanos(last), uint64(bts), uint64(btc)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow store %s: services of %s: %w", s.path, vm, err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT proto, dst_port, app_proto, dst_ip, max(dst_vm), count(*),
		min(start_ns), max(end_ns), sum(bytes_ts), sum(bytes_tc)
		FROM flows WHERE src_vm = ?
		GROUP BY proto, dst_ip, dst_port, app_proto ORDER BY proto, dst_port, app_proto, dst_ip`, vm)
	if err != nil {
		return nil, fmt.Errorf("flow store %s: services of %s as client: %w", s.path, vm, err)
	}
	defer rows.Close()
	for rows.Next() {
		v := Service{Role: Client, Peers: 1}
		var first, last, bts, btc int64
		var peer []byte
		if err := rows.Scan(&v.Proto, &v.Port, &v.AppProto, &peer, &v.PeerVM, &v.Flows, &first, &last, &bts, &btc); err != nil {
			return nil, fmt.Errorf("flow store %s: services of %s: %w", s.path, vm, err)
		}
		v.Peer = bytesAddr(peer)
		v.FirstSeen, v.LastSeen, v.BytesToServer, v.BytesToClient = fromNanos(first), fromNanos(last), uint64(bts), uint64(btc)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow store %s: services of %s: %w", s.path, vm, err)
	}
	if err := s.serviceNames(ctx, vm, out); err != nil {
		return nil, err
	}
	return out, nil
}

// namesPerService bounds the distinct name sets read per service row, most
// recent first: flows of one service mostly repeat the same few, and a
// client that varies them on every flow must not make a profile read every
// flow's names.
const namesPerService = 32

// serviceNames fills the Names of the rows Services built. The answered
// condition of server rows applies to their names too, so a scanner's
// request to a closed port names nothing the VM offers.
func (s *Store) serviceNames(ctx context.Context, vm string, svcs []Service) error {
	if len(svcs) == 0 {
		return nil
	}
	idx := map[serviceKey]int{}
	for i, v := range svcs {
		idx[serviceKey{v.Role, v.Proto, v.Port, v.AppProto, v.Peer}] = i
	}
	for _, q := range []struct {
		role Role
		sql  string
	}{
		{Server, `SELECT proto, dst_port, app_proto, NULL, names FROM (
			SELECT proto, dst_port, app_proto, names,
				row_number() OVER (PARTITION BY proto, dst_port, app_proto ORDER BY max(end_ns) DESC) AS rn,
				max(end_ns) AS last
			FROM flows WHERE dst_vm = ? AND names != '' AND ` + answeredSQL + `
			GROUP BY proto, dst_port, app_proto, names)
			WHERE rn <= ? ORDER BY last DESC`},
		{Client, `SELECT proto, dst_port, app_proto, dst_ip, names FROM (
			SELECT proto, dst_port, app_proto, dst_ip, names,
				row_number() OVER (PARTITION BY proto, dst_ip, dst_port, app_proto ORDER BY max(end_ns) DESC) AS rn,
				max(end_ns) AS last
			FROM flows WHERE src_vm = ? AND names != ''
			GROUP BY proto, dst_ip, dst_port, app_proto, names)
			WHERE rn <= ? ORDER BY last DESC`},
	} {
		rows, err := s.db.QueryContext(ctx, q.sql, vm, namesPerService)
		if err != nil {
			return fmt.Errorf("flow store %s: names of %s's services as %s: %w", s.path, vm, q.role, err)
		}
		for rows.Next() {
			var proto, app, names string
			var port uint16
			var peer []byte
			if err := rows.Scan(&proto, &port, &app, &peer, &names); err != nil {
				rows.Close()
				return fmt.Errorf("flow store %s: names of %s's services: %w", s.path, vm, err)
			}
			if i, ok := idx[serviceKey{q.role, proto, port, app, bytesAddr(peer)}]; ok {
				svcs[i].Names.merge(names, MaxServiceNames)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("flow store %s: names of %s's services: %w", s.path, vm, err)
		}
	}
	return nil
}

// serviceKey identifies a service row: names are merged into the row
// their flows belong to.
type serviceKey struct {
	role  Role
	proto string
	port  uint16
	app   string
	peer  netip.Addr
}
