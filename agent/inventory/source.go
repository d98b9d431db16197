package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
)

// Update is what a Source delivers: a *Snapshot, an *Event or a *ConnState.
type Update interface{ isUpdate() }

// Snapshot is the full set of domains after a (re)connect: it replaces everything known before.
type Snapshot struct {
	URI    string
	VMs    []VM
	Errors []DomainError // domains whose XML could not be read; every other VM is in VMs
}

// DomainError names a domain the source could not describe, and why.
type DomainError struct {
	UUID, Name string
	Err        error
}

func (e DomainError) Error() string { return fmt.Sprintf("domain %s (%s): %v", e.Name, e.UUID, e.Err) }

// EventKind is what happened to a VM.
type EventKind string

const (
	EventDefined       EventKind = "defined"
	EventUndefined     EventKind = "undefined"
	EventStarted       EventKind = "started"
	EventStopped       EventKind = "stopped"
	EventSuspended     EventKind = "suspended"
	EventResumed       EventKind = "resumed"
	EventShutdown      EventKind = "shutdown" // guest began shutting down; taps still there
	EventPMSuspended   EventKind = "pmsuspended"
	EventCrashed       EventKind = "crashed"
	EventMigratedIn    EventKind = "migrated-in"  // STARTED_MIGRATED: the VM arrived on this host
	EventMigratedOut   EventKind = "migrated-out" // STOPPED_MIGRATED: the VM left this host
	EventDeviceAdded   EventKind = "device-added"
	EventDeviceRemoved EventKind = "device-removed"
)

// Event is one change to one VM. VM is the domain as it is after the change (for undefined or
// migrated-out VMs, as it was last seen).
type Event struct {
	Kind   EventKind
	Detail string // libvirt's detail: booted, migrated, destroyed, ...
	Device string // device alias, for device events
	VM     VM
	Err    error // set when the VM's XML could not be re-read; VM then holds the last known view
}

// ConnState reports the libvirt connection going up or down, so the agent can say that VM
// events may be missing while it is down.
type ConnState struct {
	URI       string
	Connected bool
	Err       error         // why it is down
	Retry     time.Duration // when it is retried
}

func (*Snapshot) isUpdate()  {}
func (*Event) isUpdate()     {}
func (*ConnState) isUpdate() {}

// SourceConfig configures a libvirt Source.
type SourceConfig struct {
	URI          string        // e.g. qemu:///system, test:///run/tapwatch-lab/libvirt.xml
	ReconnectMin time.Duration // first retry delay after libvirt went away (default 1s)
	ReconnectMax time.Duration // retry delay cap (default 30s)
	Logger       *slog.Logger  // nil: discard
}

// Source follows one libvirt connection.
type Source struct {
	cfg SourceConfig
	log *slog.Logger

	mu    sync.Mutex
	known map[string]VM // by UUID: the last view of each domain, for undefined/removed events
}

// NewSource returns a Source for cfg; Run starts it.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.URI == "" {
		return nil, errors.New("inventory source: empty libvirt URI: set libvirt.uri in tapwatch.yaml (e.g. qemu:///system)")
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := startEventLoop(); err != nil {
		return nil, err
	}
	return &Source{cfg: cfg, log: log.With("libvirt", cfg.URI), known: map[string]VM{}}, nil
}

// libvirt's event implementation is process-global: it may be registered once, before the first
// connection, and run by one goroutine for the life of the process. This is the package's only
// process-wide state, mirroring libvirt's own.
var eventLoop struct {
	once sync.Once
	err  error
}

func startEventLoop() error {
	eventLoop.once.Do(func() {
		if err := libvirt.EventRegisterDefaultImpl(); err != nil {
			eventLoop.err = fmt.Errorf("register libvirt's event loop: %w (is libvirt0 installed?)", err)
			return
		}
		go func() {
			for {
				if err := libvirt.EventRunDefaultImpl(); err != nil {
					time.Sleep(100 * time.Millisecond) // only fails on a broken poll; do not spin
				}
			}
		}()
	})
	return eventLoop.err
}

// Run connects, delivers a Snapshot, then Events as they happen, until ctx ends. When the
// connection fails or drops it delivers a ConnState, retries with exponential backoff and
// delivers a fresh Snapshot once connected again. It returns ctx's error.
func (s *Source) Run(ctx context.Context, out chan<- Update) error {
	delay := s.cfg.ReconnectMin
	for {
		err := s.session(ctx, out)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("libvirt connection down; VM changes are not seen until it is back", "err", err, "retry_in", delay)
		if !send(ctx, out, &ConnState{URI: s.cfg.URI, Err: err, Retry: delay}) {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if err == nil || errors.Is(err, errSessionWasUp) {
			delay = s.cfg.ReconnectMin
		} else {
			delay = min(delay*2, s.cfg.ReconnectMax)
		}
	}
}

var errSessionWasUp = errors.New("libvirt closed the connection")

func send(ctx context.Context, out chan<- Update, u Update) bool {
	select {
	case out <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// session runs one connection: subscribe first, then resync, so no change falls between the two.
func (s *Source) session(ctx context.Context, out chan<- Update) error {
	conn, err := libvirt.NewConnectReadOnly(s.cfg.URI)
	if err != nil {
		return fmt.Errorf("connect to libvirt at %s: %w (is libvirtd running?)", s.cfg.URI, err)
	}
	defer conn.Close()
	// Remote drivers notice a dead libvirtd through keepalives; local test drivers refuse them.
	_ = conn.SetKeepAlive(5, 3)

	closed := make(chan error, 1)
	if err := conn.RegisterCloseCallback(func(_ *libvirt.Connect, reason libvirt.ConnectCloseReason) {
		select {
		case closed <- fmt.Errorf("%w (reason %d)", errSessionWasUp, reason):
		default:
		}
	}); err != nil {
		return fmt.Errorf("watch libvirt connection %s: %w", s.cfg.URI, err)
	}
	defer conn.UnregisterCloseCallback()

	// Callbacks run on libvirt's event-loop goroutine: they only note which domain changed, and
	// this session re-reads it, so no RPC and no slow consumer stalls the process's event loop.
	pending := make(chan rawEvent, 256)
	done := make(chan struct{})
	defer close(done)
	emit := func(u rawEvent) {
		select {
		case pending <- u:
		case <-ctx.Done():
		case <-done: // the session is over; the resync of the next one covers this change
		}
	}
	var ids []int
	id, err := conn.DomainEventLifecycleRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventLifecycle) {
		emit(newRawEvent(d, lifecycleKind(ev), lifecycleDetail(ev), ""))
	})
	if err != nil {
		return fmt.Errorf("subscribe to lifecycle events on %s: %w", s.cfg.URI, err)
	}
	ids = append(ids, id)
	if id, err = conn.DomainEventDeviceAddedRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventDeviceAdded) {
		emit(newRawEvent(d, EventDeviceAdded, "", ev.DevAlias))
	}); err == nil {
		ids = append(ids, id)
	} else {
		s.log.Warn("libvirt driver has no device-added events; hot-plugged NICs are seen at the next resync", "err", err)
	}
	if id, err = conn.DomainEventDeviceRemovedRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventDeviceRemoved) {
		emit(newRawEvent(d, EventDeviceRemoved, "", ev.DevAlias))
	}); err == nil {
		ids = append(ids, id)
	} else {
		s.log.Warn("libvirt driver has no device-removed events; unplugged NICs are seen at the next resync", "err", err)
	}
	defer func() {
		for _, id := range ids {
			_ = conn.DomainEventDeregister(id)
		}
	}()

	snap, err := s.resync(conn)
	if err != nil {
		return err
	}
	for _, de := range snap.Errors {
		s.log.Warn("cannot read a domain; it is left out of the inventory", "domain", de.Name, "uuid", de.UUID, "err", de.Err)
	}
	if !send(ctx, out, &ConnState{URI: s.cfg.URI, Connected: true}) || !send(ctx, out, snap) {
		return ctx.Err()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-closed:
			return err
		case raw := <-pending:
			if !send(ctx, out, s.resolve(conn, raw)) {
				return ctx.Err()
			}
		}
	}
}

// resync lists every domain; one unreadable domain is reported in Errors and the rest continue.
func (s *Source) resync(conn *libvirt.Connect) (*Snapshot, error) {
	doms, err := conn.ListAllDomains(0)
	if err != nil {
		return nil, fmt.Errorf("list domains on %s: %w", s.cfg.URI, err)
	}
	snap := &Snapshot{URI: s.cfg.URI}
	known := map[string]VM{}
	for i := range doms {
		vm, err := describe(&doms[i])
		if err != nil {
			snap.Errors = append(snap.Errors, DomainError{UUID: vm.UUID, Name: vm.Name, Err: err})
		} else {
			snap.VMs = append(snap.VMs, vm)
			known[vm.UUID] = vm.Clone()
		}
		_ = doms[i].Free()
	}
	s.mu.Lock()
	s.known = known
	s.mu.Unlock()
	return snap, nil
}

// describe reads a domain's XML and state. On error the returned VM still carries the UUID and
// name when libvirt gave them, so the error can name the domain.
func describe(d *libvirt.Domain) (VM, error) {
	var id VM
	id.UUID, _ = d.GetUUIDString()
	id.Name, _ = d.GetName()
	x, err := d.GetXMLDesc(0)
	if err != nil {
		return id, fmt.Errorf("read domain XML: %w", err)
	}
	vm, err := ParseDomainXML(x)
	if err != nil {
		return id, err
	}
	st, _, err := d.GetState()
	if err != nil {
		return id, fmt.Errorf("read domain state: %w", err)
	}
	vm.State = stateName(st)
	return vm, nil
}

// rawEvent is what a callback records: which domain, and what libvirt said happened.
type rawEvent struct {
	uuid, name     string
	kind           EventKind
	detail, device string
}

func newRawEvent(d *libvirt.Domain, kind EventKind, detail, device string) rawEvent {
	r := rawEvent{kind: kind, detail: detail, device: device}
	r.uuid, _ = d.GetUUIDString()
	r.name, _ = d.GetName()
	return r
}

// resolve turns a raw event into an Event carrying the VM as it is now. Domains gone with the
// event (undefined, or transient ones stopped or migrated away) keep their last known view.
func (s *Source) resolve(conn *libvirt.Connect, raw rawEvent) *Event {
	e := &Event{Kind: raw.kind, Detail: raw.detail, Device: raw.device}
	var vm VM
	var err error
	if d, lerr := conn.LookupDomainByUUIDString(raw.uuid); lerr != nil {
		err = fmt.Errorf("look up domain: %w", lerr)
	} else {
		vm, err = describe(d)
		_ = d.Free()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, known := s.known[raw.uuid]
	// Undefining a running domain leaves it running as a transient one: only then is it kept.
	gone := (raw.kind == EventUndefined && (err != nil || !vm.State.Active())) ||
		(err != nil && (raw.kind == EventStopped || raw.kind == EventMigratedOut))
	switch {
	case gone:
		vm = last
		if !known {
			vm = VM{UUID: raw.uuid, Name: raw.name}
		}
		vm.State = StateShutoff
		delete(s.known, raw.uuid)
	case err != nil:
		vm = last
		if !known {
			vm = VM{UUID: raw.uuid, Name: raw.name}
		}
		e.Err = err
	default:
		s.known[raw.uuid] = vm.Clone()
	}
	e.VM = vm
	return e
}

func lifecycleKind(ev *libvirt.DomainEventLifecycle) EventKind {
	switch ev.Event {
	case libvirt.DOMAIN_EVENT_DEFINED:
		return EventDefined
	case libvirt.DOMAIN_EVENT_UNDEFINED:
		return EventUndefined
	case libvirt.DOMAIN_EVENT_STARTED:
		if libvirt.DomainEventStartedDetailType(ev.Detail) == libvirt.DOMAIN_EVENT_STARTED_MIGRATED {
			return EventMigratedIn
		}
		return EventStarted
	case libvirt.DOMAIN_EVENT_SUSPENDED:
		return EventSuspended
	case libvirt.DOMAIN_EVENT_RESUMED:
		return EventResumed
	case libvirt.DOMAIN_EVENT_STOPPED:
		if libvirt.DomainEventStoppedDetailType(ev.Detail) == libvirt.DOMAIN_EVENT_STOPPED_MIGRATED {
			return EventMigratedOut
		}
		return EventStopped
	case libvirt.DOMAIN_EVENT_SHUTDOWN:
		return EventShutdown
	case libvirt.DOMAIN_EVENT_PMSUSPENDED:
		return EventPMSuspended
	case libvirt.DOMAIN_EVENT_CRASHED:
		return EventCrashed
	}
	return EventKind(fmt.Sprintf("event-%d", ev.Event))
}

// lifecycleDetail reuses the Go binding's names for details (booted, migrated, destroyed, ...),
// which it only exposes through String.
func lifecycleDetail(ev *libvirt.DomainEventLifecycle) string {
	_, after, ok := strings.Cut(ev.String(), `detail="`)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(after, `"`)
}

func stateName(st libvirt.DomainState) State {
	switch st {
	case libvirt.DOMAIN_RUNNING:
		return StateRunning
	case libvirt.DOMAIN_BLOCKED:
		return StateBlocked
	case libvirt.DOMAIN_PAUSED:
		return StatePaused
	case libvirt.DOMAIN_SHUTDOWN:
		return StateShutdown
	case libvirt.DOMAIN_SHUTOFF:
		return StateShutoff
	case libvirt.DOMAIN_CRASHED:
		return StateCrashed
	case libvirt.DOMAIN_PMSUSPENDED:
		return StatePMSuspended
	}
	return StateNoState
}
