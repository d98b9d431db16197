package flowstore

import (
	"context"
	"fmt"
	"net/netip"
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
}

// Services returns what vm was seen doing in the stored flows: the
// (proto, port, app proto) it answered on as a server, and the servers it
// talked to as a client. A server row needs an answer (packets back to the
// client, and for TCP more than a bare attempt), so scans and closed ports
// do not make a VM look like it offers a service.
//
// The flow's source is the side that initiated it, as the detection core
// reports flows.
func (s *Store) Services(ctx context.Context, vm string) ([]Service, error) {
	if vm == "" {
		return nil, fmt.Errorf("flow store %s: services: a VM name is required", s.path)
	}
	var out []Service
	rows, err := s.db.QueryContext(ctx, `SELECT proto, dst_port, app_proto, count(DISTINCT src_ip), count(*),
		min(start_ns), max(end_ns), sum(bytes_ts), sum(bytes_tc)
		FROM flows WHERE dst_vm = ? AND pkts_tc > 0 AND NOT (upper(proto) = 'TCP' AND state = 'new')
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
	return out, nil
}
