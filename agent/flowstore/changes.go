package flowstore

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// ChangeKind says what is new about a VM.
type ChangeKind string

const (
	// NewService: the VM answered on a (proto, port) it had not answered on.
	NewService ChangeKind = "new_service"
	// NewPeer: the VM used a server (proto, peer address, port) it had not
	// used before.
	NewPeer ChangeKind = "new_peer"
)

// Change is one thing a VM started doing: a service it began to offer or a
// server it began to use. "Began" means its first flow in the store started
// at or after the time asked about; the store keeps only its retention
// window, so what began before the oldest record cannot be told apart from
// what began at it (see Oldest).
type Change struct {
	VM       string     `json:"vm"`
	Kind     ChangeKind `json:"kind"`
	Proto    string     `json:"proto"`
	Port     uint16     `json:"port"`                // the server's port
	AppProto string     `json:"app_proto,omitempty"` // one app proto seen, "" if none
	// Peer is the server used (NewPeer); invalid for NewService.
	Peer   netip.Addr `json:"peer,omitzero"`
	PeerVM string     `json:"peer_vm,omitempty"`
	// Peers counts distinct client addresses (NewService); 1 for NewPeer.
	Peers int `json:"peers"`
	Flows int `json:"flows"`
	// Answered is false for a NewPeer whose flows all went unanswered (an
	// attempt or a scan). NewService rows are always answered.
	Answered  bool      `json:"answered"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Changes returns what vm ("" for every VM) started doing at or after since:
// the (proto, port) it first answered on, with the same rule as Services (an
// answer, and for TCP more than a bare attempt), and the (proto, server
// address, port) it first used as a client, answered or not. Rows are
// ordered by VM, kind, first seen.
func (s *Store) Changes(ctx context.Context, vm string, since time.Time) ([]Change, error) {
	sinceNs := nanos(since)
	var out []Change
	where, args := "+dst_vm != ''", []any{}
	if vm != "" {
		where, args = "dst_vm = ?", append(args, vm)
	}
	args = append(args, sinceNs)
	rows, err := s.db.QueryContext(ctx, `SELECT dst_vm, proto, dst_port, max(app_proto), count(DISTINCT src_ip), count(*),
		min(start_ns), max(end_ns)
		FROM flows WHERE `+where+` AND `+answeredSQL+`
		GROUP BY dst_vm, proto, dst_port HAVING min(start_ns) >= ?
		ORDER BY dst_vm, min(start_ns), proto, dst_port`, args...)
	if err != nil {
		return nil, fmt.Errorf("flow store %s: changes of %q as server: %w", s.path, vm, err)
	}
	for rows.Next() {
		c := Change{Kind: NewService, Answered: true}
		var first, last int64
		if err := rows.Scan(&c.VM, &c.Proto, &c.Port, &c.AppProto, &c.Peers, &c.Flows, &first, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("flow store %s: changes of %q: %w", s.path, vm, err)
		}
		c.setTimes(first, last)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow store %s: changes of %q: %w", s.path, vm, err)
	}

	where, args = "+src_vm != ''", []any{}
	if vm != "" {
		where, args = "src_vm = ?", append(args, vm)
	}
	args = append(args, sinceNs)
	rows, err = s.db.QueryContext(ctx, `SELECT src_vm, proto, dst_port, dst_ip, max(dst_vm), max(app_proto), count(*),
		max(pkts_tc > 0), min(start_ns), max(end_ns)
		FROM flows WHERE `+where+`
		GROUP BY src_vm, proto, dst_ip, dst_port HAVING min(start_ns) >= ?
		ORDER BY src_vm, min(start_ns), proto, dst_port, dst_ip`, args...)
	if err != nil {
		return nil, fmt.Errorf("flow store %s: changes of %q as client: %w", s.path, vm, err)
	}
	defer rows.Close()
	var servers = len(out)
	for rows.Next() {
		c := Change{Kind: NewPeer, Peers: 1}
		var first, last int64
		var peer []byte
		if err := rows.Scan(&c.VM, &c.Proto, &c.Port, &peer, &c.PeerVM, &c.AppProto, &c.Flows, &c.Answered, &first, &last); err != nil {
			return nil, fmt.Errorf("flow store %s: changes of %q: %w", s.path, vm, err)
		}
		c.Peer = bytesAddr(peer)
		c.setTimes(first, last)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow store %s: changes of %q: %w", s.path, vm, err)
	}
	sortChanges(out, servers)
	return out, nil
}

func (c *Change) setTimes(first, last int64) {
	c.FirstSeen, c.LastSeen = fromNanos(first), fromNanos(last)
}

// sortChanges merges the server rows (out[:n]) and client rows (out[n:]),
// each already ordered by VM then first seen, into VM order with a VM's
// services before its peers.
func sortChanges(out []Change, n int) {
	a, b := append([]Change(nil), out[:n]...), append([]Change(nil), out[n:]...)
	out = out[:0]
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && a[0].VM <= b[0].VM) {
			out = append(out, a[0])
			a = a[1:]
		} else {
			out = append(out, b[0])
			b = b[1:]
		}
	}
}

// Oldest is the end time of the oldest record the store holds (zero when it
// is empty): the start of the history Changes can compare against.
func (s *Store) Oldest(ctx context.Context) (time.Time, error) {
	var n *int64
	if err := s.db.QueryRowContext(ctx, `SELECT min(end_ns) FROM flows`).Scan(&n); err != nil {
		return time.Time{}, fmt.Errorf("flow store %s: oldest record: %w", s.path, err)
	}
	if n == nil {
		return time.Time{}, nil
	}
	return fromNanos(*n), nil
}

// Seen is one (VM, role, proto, port, peer) key the store has flows for, for
// seeding a change detector with the store's history.
type Seen struct {
	VM    string
	Role  Role
	Proto string
	Port  uint16
	Peer  netip.Addr // Client only
}

// SeenKeys calls fn with every distinct service and peer key of the stored
// flows (same rules as Changes): the limit (0 = no limit) most recently
// used ones, oldest use first, so a bounded detector that evicts the least
// recently inserted keeps the most recent.
func (s *Store) SeenKeys(ctx context.Context, limit int, fn func(Seen)) error {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM (SELECT 0, dst_vm, proto, dst_port, NULL, max(end_ns) AS l FROM flows
		WHERE +dst_vm != '' AND `+answeredSQL+`
		GROUP BY dst_vm, proto, dst_port
		UNION ALL
		SELECT 1, src_vm, proto, dst_port, dst_ip, max(end_ns) AS l FROM flows WHERE +src_vm != ''
		GROUP BY src_vm, proto, dst_ip, dst_port
		ORDER BY l DESC LIMIT ?) ORDER BY l`, limit)
	if err != nil {
		return fmt.Errorf("flow store %s: seen keys: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var client int
		var k Seen
		var peer []byte
		var last int64
		if err := rows.Scan(&client, &k.VM, &k.Proto, &k.Port, &peer, &last); err != nil {
			return fmt.Errorf("flow store %s: seen keys: %w", s.path, err)
		}
		k.Role = Server
		if client == 1 {
			k.Role, k.Peer = Client, bytesAddr(peer)
		}
		fn(k)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("flow store %s: seen keys: %w", s.path, err)
	}
	return nil
}
