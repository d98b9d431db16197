package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/inventory"
	"github.com/tapwatch/tapwatch/agent/output/eve"
	"github.com/tapwatch/tapwatch/agent/pipeline"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/agent/vmctx"
	"github.com/tapwatch/tapwatch/bpfprog"
	"github.com/tapwatch/tapwatch/vswitch"
)

// Version is set by the build.
var Version = "dev"

// Options are the daemon's command-line settings beyond the config file.
type Options struct {
	// DetachOnExit removes every hook when the daemon stops. By default
	// hooks stay (pinned) so a restarted daemon re-adopts them and the ring
	// buffer keeps what arrived meanwhile.
	DetachOnExit bool
}

// Daemon is a running tapwatchd.
type Daemon struct {
	cfg     config.Config
	opts    Options
	log     *slog.Logger
	started time.Time

	objs   *bpfprog.Objects
	att    *vswitch.Attacher
	reader *bpfprog.Reader
	pipe   *pipeline.Pipeline
	eveOut *eve.Writer // alerts, flows and events
	eveF   *eve.RotatingFile
	inv    *inventories
	vms    *vmctx.Index
	hub    *hub
	rec    *reconciler
	flows  *flowstore.Store
	pcaps  *record.Recorder
	// changes reports VMs' new services and peers (changes.go).
	changes *changeDetector

	rulesMu     sync.Mutex
	rulesLoaded int
	rulesFailed int

	libvirtState atomic.Pointer[string]
	alertsByVM   sync.Map // VM name -> *atomic.Uint64
	alerts       atomic.Uint64
	alertSeq     atomic.Uint64
	findingsMu   sync.Mutex
	findingsLast map[string]time.Time
}

// New loads rules and the eBPF objects and opens the outputs. Nothing is
// attached until Run.
func New(cfg config.Config, opts Options, log *slog.Logger) (*Daemon, error) {
	d := &Daemon{cfg: cfg, opts: opts, log: log, started: time.Now(), hub: newHub(),
		inv: newInventories(), vms: vmctx.New(cfg.Host), findingsLast: map[string]time.Time{}}
	st := "connecting"
	d.libvirtState.Store(&st)

	rs, err := loadRules(cfg.Rules, cfg.Capture.IPS)
	if err != nil {
		return nil, err
	}
	d.reportRules(rs)
	releaseLoadGarbage()

	if err := os.MkdirAll(filepath.Dir(cfg.Outputs.EVE.Path), 0o750); err != nil {
		return nil, fmt.Errorf("outputs.eve.path: %w", err)
	}
	d.eveF, err = eve.OpenRotating(cfg.Outputs.EVE.Path, int64(cfg.Outputs.EVE.MaxSizeMB)<<20, cfg.Outputs.EVE.Keep)
	if err != nil {
		return nil, err
	}
	d.eveOut = eve.NewWriter(d.eveF, eve.Options{CommunityID: true})

	if err := ensureBPFFS(cfg.Capture.BPFFS); err != nil {
		d.eveF.Close()
		return nil, err
	}
	mode := bpfprog.ModeIDS
	if cfg.Capture.IPS {
		mode = bpfprog.ModeIPS
	}
	d.objs, err = bpfprog.Load(bpfprog.Options{PinPath: cfg.Capture.BPFFS,
		Config: bpfprog.Config{Snaplen: uint32(cfg.Capture.Snaplen), Mode: mode}})
	if err != nil {
		d.eveF.Close()
		return nil, fmt.Errorf("load eBPF programs: %w", err)
	}
	method := vswitch.MethodTCX
	if cfg.Capture.HookMode == "clsact" {
		method = vswitch.MethodClsact
	}
	d.att, err = vswitch.NewAttacher(vswitch.AttacherOptions{Objects: d.objs, PinDir: cfg.Capture.BPFFS, Method: method})
	if err != nil {
		d.objs.Close()
		d.eveF.Close()
		return nil, err
	}
	d.reader, err = d.objs.NewReader(bpfprog.ReaderOptions{})
	if err != nil {
		d.att.Close()
		d.objs.Close()
		d.eveF.Close()
		return nil, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if err := d.openRNA(); err != nil {
		d.reader.Close()
		d.att.Close()
		d.objs.Close()
		d.eveF.Close()
		return nil, err
	}
	d.pipe = pipeline.New(rs.engine, workers, d)
	d.rec = newReconciler(d)
	return d, nil
}

func (d *Daemon) reportRules(rs *ruleSet) {
	for i, e := range rs.errs {
		if i == 20 {
			d.log.Warn("more rules failed", "count", len(rs.errs)-20)
			break
		}
		d.log.Warn("rule skipped", "error", e)
	}
	d.rulesMu.Lock()
	d.rulesLoaded, d.rulesFailed = rs.loaded, len(rs.errs)
	d.rulesMu.Unlock()
	d.log.Info("rules loaded", "loaded", rs.loaded, "failed", len(rs.errs))
}

// Reload re-reads the rules and swaps the engine in; on failure the old
// engine keeps running and the error says why.
func (d *Daemon) Reload() error {
	rs, err := loadRules(d.cfg.Rules, d.cfg.Capture.IPS)
	if err != nil {
		d.log.Error("reload failed, keeping the running rules", "error", err)
		return err
	}
	d.reportRules(rs)
	d.pipe.Swap(rs.engine)
	releaseLoadGarbage()
	return nil
}

// Run attaches, inspects and serves until ctx ends.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	srv, err := api.Listen(d.cfg.Control.Socket, d.cfg.Control.Group, backend{d})
	if err != nil {
		return err
	}
	go func() {
		if err := srv.Serve(); err != nil {
			d.log.Error("control socket", "error", err)
		}
	}()

	if d.cfg.Metrics.Listen != "" {
		if err := d.serveMetrics(ctx, d.cfg.Metrics.Listen); err != nil {
			return err
		}
	}

	links, err := vswitch.Watch(ctx, vswitch.WatchOptions{})
	if err != nil {
		return fmt.Errorf("watch links: %w", err)
	}
	invCh := make(chan sourced, 64)
	for _, uri := range append([]string{d.cfg.Libvirt.URI}, d.cfg.Libvirt.ExtraURIs...) {
		if err := d.follow(ctx, uri, invCh); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.rec.run(ctx, invCh, links) }()
	go func() { defer wg.Done(); d.readLoop() }()
	d.log.Info("tapwatchd running", "libvirt", d.cfg.Libvirt.URI, "socket", d.cfg.Control.Socket,
		"eve", d.cfg.Outputs.EVE.Path, "hook_mode", d.cfg.Capture.HookMode)

	<-ctx.Done()
	d.log.Info("stopping")
	shutdownCtx, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	_ = srv.Shutdown(shutdownCtx)
	d.reader.Close()
	wg.Wait()
	d.pipe.Close()
	if d.opts.DetachOnExit {
		d.rec.detachAll()
	}
	d.closeRNA()
	d.att.Close()
	d.objs.Close()
	return d.eveF.Close()
}

// sourced is an inventory update and the libvirt URI it came from.
type sourced struct {
	uri string
	u   inventory.Update
}

// follow starts a libvirt source for uri feeding out.
func (d *Daemon) follow(ctx context.Context, uri string, out chan<- sourced) error {
	src, err := inventory.NewSource(inventory.SourceConfig{URI: uri, ReconnectMin: d.cfg.Libvirt.RetryInterval, Logger: d.log})
	if err != nil {
		return err
	}
	ch := make(chan inventory.Update, 16)
	go func() {
		if err := src.Run(ctx, ch); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("libvirt inventory stopped", "uri", uri, "error", err)
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-ch:
				select {
				case out <- sourced{uri, u}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return nil
}

// readLoop moves records from the ring buffer into the pipeline.
func (d *Daemon) readLoop() {
	var rec bpfprog.Record
	for {
		err := d.reader.Read(&rec)
		if errors.Is(err, bpfprog.ErrClosed) {
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			d.log.Warn("ring buffer", "error", err)
			continue
		}
		info := d.rec.iface(rec.Ifindex)
		fr := d.pipe.NewFrame(rec.Data)
		fr.Timestamp, fr.Ifindex, fr.Iface = rec.Wall, rec.Ifindex, info.name
		fr.FromVM = rec.Hook == bpfprog.HookTapIngress
		fr.Zone, fr.OrigLen = rec.Zone, int(rec.OrigLen)
		d.pipe.Submit(fr)
	}
}
