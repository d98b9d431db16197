package stream

// Pool makes and recycles the sessions of one flow table. Its sessions
// share one copy of the Config instead of carrying one each, and the
// reassembly buffers of a direction that carried data go back to the pool
// when its session does, for the next direction that carries data: most
// sessions never do, so buffers recycled with whole sessions would mostly
// sit idle on sessions that need none while the busy ones grew fresh.
//
// A Pool is not safe for concurrent use; its sessions are not either.
type Pool struct {
	cfg Config // with defaults applied
	// Free lists, linked through the items' next fields: a flow table
	// can hold tens of thousands of sessions, and slices would keep
	// reallocating as it grows.
	sessions *Session
	bufs     *reasm
}

// NewPool returns a pool of sessions configured by cfg.
func NewPool(cfg Config) *Pool {
	return &Pool{cfg: cfg.withDefaults()}
}

// Get returns a fresh session, as NewSession does.
func (p *Pool) Get() *Session {
	s := p.sessions
	if s == nil {
		return &Session{pool: p}
	}
	p.sessions = s.next
	s.reset(p)
	return s
}

// Put takes s back once its connection is gone. Neither s nor any slice it
// returned may be used afterwards: its buffers serve other sessions.
func (p *Pool) Put(s *Session) {
	for i := range s.half {
		h := &s.half[i]
		if r := h.r.clear(); r != nil {
			r.next, p.bufs = p.bufs, r
			h.r = nil
		}
	}
	s.next, p.sessions = p.sessions, s
}

// takeReasm lends reassembly buffers to a direction that needs them.
func (p *Pool) takeReasm() *reasm {
	r := p.bufs
	if r == nil {
		return &reasm{}
	}
	p.bufs, r.next = r.next, nil
	return r
}
