package flowstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Record is one finished (or timed-out) flow, as the detection core reports
// it, with the VM on each side resolved by the agent.
type Record struct {
	FlowID                       uint64
	Start, End                   time.Time
	Proto                        string
	SrcIP, DstIP                 netip.Addr
	SrcPort, DstPort             uint16
	PktsToServer, PktsToClient   uint64
	BytesToServer, BytesToClient uint64
	State, Reason                string
	AppProto                     string
	CommunityID                  string
	Alerted                      bool
	SrcVM, DstVM                 string // VM names, "" when that side is not a VM
	SrcVMUUID, DstVMUUID         string
	// Names are the application-layer names the flow revealed (names.go),
	// nil when none.
	Names Names
}

// Options bound the store. Zero values take the defaults noted.
type Options struct {
	MaxAge   time.Duration // records whose End is older are deleted; 0 = 7 days
	MaxBytes int64         // database size bound; 0 = 1 GiB
	QueueLen int           // records buffered between Add and the writer; 0 = 8192

	// RetainEvery is how often retention runs besides at Open; 0 = 1 minute.
	RetainEvery time.Duration
	// BatchLen bounds the records inserted per transaction; 0 = 1024.
	BatchLen int
	// Now is the clock retention by age uses; nil = time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 8192
	}
	if o.RetainEvery <= 0 {
		o.RetainEvery = time.Minute
	}
	if o.BatchLen <= 0 {
		o.BatchLen = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Stats are the store's counters since Open (Rows: now).
type Stats struct {
	Written   uint64 // records committed
	Dropped   uint64 // records refused by Add: queue full or store closed
	Errors    uint64 // records lost to failed writes, plus failed retention runs
	Deleted   uint64 // records removed by retention
	Rows      int64  // records in the database
	LastError string // the most recent write or retention error, "" if none
}

// Store is the flow store. Add, Query, Services and Stats are safe for
// concurrent use.
type Store struct {
	path string
	opts Options
	db   *sql.DB

	mu     sync.RWMutex // guards closed against Add's send racing Close's close(queue)
	closed bool
	queue  chan Record
	done   chan struct{}

	// hold, when set (tests), is called by the writer before each batch so a
	// test can stall it and observe the queue filling.
	hold func()

	written, dropped, errs, deleted atomic.Uint64
	rows                            atomic.Int64
	lastErr                         atomic.Pointer[string]
}

const schema = `
CREATE TABLE IF NOT EXISTS flows (
	id INTEGER PRIMARY KEY,
	flow_id INTEGER NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns INTEGER NOT NULL,
	proto TEXT NOT NULL,
	src_ip BLOB, dst_ip BLOB,
	src_port INTEGER NOT NULL, dst_port INTEGER NOT NULL,
	pkts_ts INTEGER NOT NULL, pkts_tc INTEGER NOT NULL,
	bytes_ts INTEGER NOT NULL, bytes_tc INTEGER NOT NULL,
	state TEXT NOT NULL, reason TEXT NOT NULL, app_proto TEXT NOT NULL,
	community_id TEXT NOT NULL, alerted INTEGER NOT NULL,
	src_vm TEXT NOT NULL, dst_vm TEXT NOT NULL,
	src_vm_uuid TEXT NOT NULL, dst_vm_uuid TEXT NOT NULL,
	names TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS flows_end ON flows(end_ns);
CREATE INDEX IF NOT EXISTS flows_src_vm ON flows(src_vm, end_ns);
CREATE INDEX IF NOT EXISTS flows_dst_vm ON flows(dst_vm, end_ns);
CREATE INDEX IF NOT EXISTS flows_src_ip ON flows(src_ip, end_ns);
CREATE INDEX IF NOT EXISTS flows_dst_ip ON flows(dst_ip, end_ns);
`

// Open opens (creating if needed) the store at path, applies retention once
// and starts the writer.
func Open(path string, opts Options) (*Store, error) {
	opts.defaults()
	// auto_vacuum must be set before the first table exists; incremental
	// mode lets retention hand freed pages back to the file system, so
	// MaxBytes bounds the file and not only the live data.
	q := url.Values{}
	for _, p := range []string{"auto_vacuum(INCREMENTAL)", "journal_mode(WAL)", "synchronous(NORMAL)",
		"busy_timeout(10000)", "journal_size_limit(16777216)", "foreign_keys(OFF)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("flow store %s: open: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("flow store %s: create schema (is the directory writable and the file a tapwatch flow database?): %w", path, err)
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("flow store %s: %w", path, err)
	}
	s := &Store{path: path, opts: opts, db: db, queue: make(chan Record, opts.QueueLen), done: make(chan struct{})}
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM flows`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("flow store %s: count rows: %w", path, err)
	}
	s.rows.Store(n)
	if err := s.Retain(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// Add queues r for writing. It never blocks: when the queue is full (the
// disk is slow or full) or the store is closed it returns false and counts a
// drop.
func (s *Store) Add(r Record) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.closed {
		select {
		case s.queue <- r:
			return true
		default:
		}
	}
	s.dropped.Add(1)
	return false
}

// Close stops accepting records, writes those already queued and closes the
// database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("flow store %s: close: %w", s.path, err)
	}
	return nil
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	st := Stats{Written: s.written.Load(), Dropped: s.dropped.Load(), Errors: s.errs.Load(),
		Deleted: s.deleted.Load(), Rows: s.rows.Load()}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

func (s *Store) fail(err error) {
	msg := err.Error()
	s.lastErr.Store(&msg)
}

func (s *Store) writer() {
	defer close(s.done)
	tick := time.NewTicker(s.opts.RetainEvery)
	defer tick.Stop()
	batch := make([]Record, 0, s.opts.BatchLen)
	for {
		select {
		case r, ok := <-s.queue:
			if !ok {
				return
			}
			batch = append(batch[:0], r)
			// Take what is already queued, so a busy host commits big
			// transactions and a quiet one commits each record promptly.
		fill:
			for len(batch) < cap(batch) {
				select {
				case r, ok := <-s.queue:
					if !ok {
						break fill
					}
					batch = append(batch, r)
				default:
					break fill
				}
			}
			if s.hold != nil {
				s.hold()
			}
			if err := s.insert(batch); err != nil {
				s.errs.Add(uint64(len(batch)))
				s.fail(err)
			}
		case <-tick.C:
			if err := s.Retain(context.Background()); err != nil {
				s.errs.Add(1)
				s.fail(err)
			}
		}
	}
}

const insertSQL = `INSERT INTO flows (flow_id, start_ns, end_ns, proto, src_ip, dst_ip, src_port, dst_port,
	pkts_ts, pkts_tc, bytes_ts, bytes_tc, state, reason, app_proto, community_id, alerted,
	src_vm, dst_vm, src_vm_uuid, dst_vm_uuid, names) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func (s *Store) insert(batch []Record) error {
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("flow store %s: begin batch of %d records (disk full or database locked?): %w", s.path, len(batch), err)
	}
	defer tx.Rollback()
	st, err := tx.Prepare(insertSQL)
	if err != nil {
		return fmt.Errorf("flow store %s: prepare insert: %w", s.path, err)
	}
	defer st.Close()
	for i := range batch {
		r := &batch[i]
		if _, err := st.Exec(int64(r.FlowID), nanos(r.Start), nanos(r.End), r.Proto, addrBytes(r.SrcIP), addrBytes(r.DstIP),
			r.SrcPort, r.DstPort, int64(r.PktsToServer), int64(r.PktsToClient), int64(r.BytesToServer), int64(r.BytesToClient),
			r.State, r.Reason, r.AppProto, r.CommunityID, r.Alerted, r.SrcVM, r.DstVM, r.SrcVMUUID, r.DstVMUUID,
			r.Names.encode()); err != nil {
			return fmt.Errorf("flow store %s: insert flow %d (disk full?): %w", s.path, r.FlowID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("flow store %s: commit batch of %d records (disk full?): %w", s.path, len(batch), err)
	}
	s.written.Add(uint64(len(batch)))
	s.rows.Add(int64(len(batch)))
	return nil
}

// nanos stores the zero time as 0: UnixNano of year 1 overflows.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// addrBytes stores addresses as 4 or 16 bytes so equality lookups hit the
// address indexes; the invalid address is NULL.
func addrBytes(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}

func bytesAddr(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Retain deletes records older than MaxAge, then the oldest records until
// the database fits MaxBytes. It runs at Open and every RetainEvery; calling
// it directly is safe.
func (s *Store) Retain(ctx context.Context) error {
	cutoff := s.opts.Now().Add(-s.opts.MaxAge).UnixNano()
	res, err := s.db.ExecContext(ctx, `DELETE FROM flows WHERE end_ns < ?`, cutoff)
	if err != nil {
		return fmt.Errorf("flow store %s: delete records older than %v: %w", s.path, s.opts.MaxAge, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.deleted.Add(uint64(n))
		s.rows.Add(-n)
	}
	for range 64 {
		used, err := s.usedBytes(ctx)
		if err != nil {
			return err
		}
		if used <= s.opts.MaxBytes {
			break
		}
		rows := s.rows.Load()
		if rows <= 0 {
			break
		}
		// Delete the share of rows by which the database is over, plus a
		// tenth of a percent, so one or two rounds reach the bound.
		n := int64(float64(rows)*float64(used-s.opts.MaxBytes)/float64(used)) + rows/1000 + 1
		res, err := s.db.ExecContext(ctx, `DELETE FROM flows WHERE id IN (SELECT id FROM flows ORDER BY end_ns LIMIT ?)`, n)
		if err != nil {
			return fmt.Errorf("flow store %s: delete oldest records to fit %d bytes: %w", s.path, s.opts.MaxBytes, err)
		}
		d, _ := res.RowsAffected()
		s.deleted.Add(uint64(d))
		s.rows.Add(-d)
		if d == 0 {
			break
		}
	}
	// Give freed pages back to the file system and truncate the WAL, so
	// the bound holds for the files on disk.
	if _, err := s.db.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return fmt.Errorf("flow store %s: incremental vacuum: %w", s.path, err)
	}
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("flow store %s: checkpoint: %w", s.path, err)
	}
	return nil
}

// usedBytes is the size of the database's live pages.
func (s *Store) usedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	c, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("flow store %s: connection: %w", s.path, err)
	}
	defer c.Close()
	for _, p := range []struct {
		q string
		v *int64
	}{{"PRAGMA page_count", &pages}, {"PRAGMA freelist_count", &free}, {"PRAGMA page_size", &size}} {
		if err := c.QueryRowContext(ctx, p.q).Scan(p.v); err != nil {
			return 0, fmt.Errorf("flow store %s: %s: %w", s.path, p.q, err)
		}
	}
	return (pages - free) * size, nil
}

// Filter selects records; zero fields do not filter.
type Filter struct {
	VM    string     // a VM name on either side
	Since time.Time  // records whose End is at or after Since
	Peer  netip.Addr // either address; with VM, the address on the other side
	Port  uint16     // either port
	Limit int        // at most this many, newest first; 0 = 1000
}

// Query returns the records f selects, newest (by End) first.
func (s *Store) Query(ctx context.Context, f Filter) ([]Record, error) {
	q, args := querySQL(f)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("flow store %s: query: %w", s.path, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var fid, start, end, pts, ptc, bts, btc int64
		var src, dst []byte
		var names string
		if err := rows.Scan(&fid, &start, &end, &r.Proto, &src, &dst, &r.SrcPort, &r.DstPort, &pts, &ptc, &bts, &btc,
			&r.State, &r.Reason, &r.AppProto, &r.CommunityID, &r.Alerted, &r.SrcVM, &r.DstVM, &r.SrcVMUUID, &r.DstVMUUID, &names); err != nil {
			return nil, fmt.Errorf("flow store %s: read record: %w", s.path, err)
		}
		r.Names = decodeNames(names)
		r.FlowID, r.Start, r.End = uint64(fid), fromNanos(start), fromNanos(end)
		r.SrcIP, r.DstIP = bytesAddr(src), bytesAddr(dst)
		r.PktsToServer, r.PktsToClient, r.BytesToServer, r.BytesToClient = uint64(pts), uint64(ptc), uint64(bts), uint64(btc)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow store %s: query: %w", s.path, err)
	}
	return out, nil
}

const recordCols = `flow_id, start_ns, end_ns, proto, src_ip, dst_ip, src_port, dst_port,
	pkts_ts, pkts_tc, bytes_ts, bytes_tc, state, reason, app_proto, community_id, alerted,
	src_vm, dst_vm, src_vm_uuid, dst_vm_uuid, names`

// querySQL builds Query's statement. A filter on "either side" becomes one
// branch per side, each walking its (side, end_ns) index newest first and
// stopping at Limit, so a VM with a long history costs Limit rows per side
// rather than a sort of all its flows. UNION (not UNION ALL) keeps a flow
// whose both sides match once.
func querySQL(f Filter) (string, []any) {
	type branch struct {
		cond string
		args []any
	}
	var sides []branch
	switch {
	case f.VM != "" && f.Peer.IsValid():
		p := f.Peer.AsSlice()
		sides = []branch{{"src_vm = ? AND dst_ip = ?", []any{f.VM, p}}, {"dst_vm = ? AND src_ip = ?", []any{f.VM, p}}}
	case f.VM != "":
		sides = []branch{{"src_vm = ?", []any{f.VM}}, {"dst_vm = ?", []any{f.VM}}}
	case f.Peer.IsValid():
		p := f.Peer.AsSlice()
		sides = []branch{{"src_ip = ?", []any{p}}, {"dst_ip = ?", []any{p}}}
	default:
		sides = []branch{{"1", nil}}
	}
	common, cargs := "", []any{}
	if !f.Since.IsZero() {
		common += " AND end_ns >= ?"
		cargs = append(cargs, f.Since.UnixNano())
	}
	if f.Port != 0 {
		common += " AND (src_port = ? OR dst_port = ?)"
		cargs = append(cargs, f.Port, f.Port)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var q string
	var args []any
	for i, b := range sides {
		if i > 0 {
			q += " UNION "
		}
		q += "SELECT * FROM (SELECT id, " + recordCols + " FROM flows WHERE " + b.cond + common +
			" ORDER BY end_ns DESC, id DESC LIMIT ?)"
		args = append(append(append(args, b.args...), cargs...), limit)
	}
	if len(sides) == 1 {
		return "SELECT " + recordCols + " FROM flows WHERE " + sides[0].cond + common +
			" ORDER BY end_ns DESC, id DESC LIMIT ?", append(append(args[:0], sides[0].args...), append(cargs, limit)...)
	}
	return "SELECT " + recordCols + " FROM (" + q + ") ORDER BY end_ns DESC, id DESC LIMIT ?", append(args, limit)
}
