package flowstore

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// AddrUse is an address a VM was seen using in its stored flows.
type AddrUse struct {
	Addr                netip.Addr
	Flows               int
	FirstSeen, LastSeen time.Time
}

// Addresses returns the addresses vm used in the stored flows: as the
// source of the flows it initiated and the destination of those it
// answered. Unlike the addresses learned from live traffic, they survive a
// restart of the agent, for as long as the flows are retained.
func (s *Store) Addresses(ctx context.Context, vm string) ([]AddrUse, error) {
	if vm == "" {
		return nil, fmt.Errorf("flow store %s: addresses: a VM name is required", s.path)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ip, sum(n), min(first), max(last) FROM (
		SELECT src_ip AS ip, count(*) AS n, min(start_ns) AS first, max(end_ns) AS last FROM flows WHERE src_vm = ? GROUP BY src_ip
		UNION ALL
		SELECT dst_ip, count(*), min(start_ns), max(end_ns) FROM flows WHERE dst_vm = ? GROUP BY dst_ip
	) WHERE ip IS NOT NULL GROUP BY ip ORDER BY ip`, vm, vm)
	if err != nil {
		return nil, fmt.Errorf("flow store %s: addresses of %s: %w", s.path, vm, err)
	}
	defer rows.Close()
	var out []AddrUse
	for rows.Next() {
		var ip []byte
		var u AddrUse
		var first, last int64
		if err := rows.Scan(&ip, &u.Flows, &first, &last); err != nil {
			return nil, fmt.Errorf("flow store %s: addresses of %s: %w", s.path, vm, err)
		}
		u.Addr, u.FirstSeen, u.LastSeen = bytesAddr(ip), fromNanos(first), fromNanos(last)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow store %s: addresses of %s: %w", s.path, vm, err)
	}
	return out, nil
}
