package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/agent/output/eve"
	"github.com/tapwatch/tapwatch/agent/pipeline"
	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/conf"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// detectWorker is what replay needs of a detect.Worker; tests fake it.
type detectWorker interface {
	Process(p *decode.Packet, zone uint32, emit func(*detect.Alert)) detect.Verdict
	Flush(emit func(*detect.Alert), end detect.FlowEnd)
	Stats() detect.Stats
}

// compileFunc builds the engine and returns a constructor of per-goroutine
// workers.
type compileFunc func(rs []*rules.Rule, opts detect.Options) (func() detectWorker, error)

// Main runs `tapwatch replay args...` and returns the process exit code:
// 0 on success, 1 when a capture or the engine failed, 2 on usage errors.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr, compileEngine)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, compile compileFunc) int {
	o, err := ParseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, Usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n%s", err, Usage)
		return 2
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "replay: --cpuprofile: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "replay: --cpuprofile: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if o.MemProfile != "" {
		// Every allocation, so the profile shows the hot path's garbage,
		// not a sample dominated by rule loading.
		runtime.MemProfileRate = 1
		defer writeMemProfile(o.MemProfile, stderr)
	}
	r := &runner{o: o, stdout: stdout, stderr: stderr, compile: compile}
	return r.run(ctx)
}

func writeMemProfile(path string, stderr io.Writer) {
	// The allocs profile is as of the last completed GC; without one here the
	// replay's own allocations since then would be missing.
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "replay: --memprofile: %v\n", err)
	}
}

type runner struct {
	o              *Options
	stdout, stderr io.Writer
	compile        compileFunc
}

// LoadConfig builds the effective configuration: defaults, then -c, then
// --set and the options that imply settings.
func (o *Options) LoadConfig() (*conf.Config, error) {
	cfg := conf.Default()
	if o.Config != "" {
		c, err := conf.Load(o.Config)
		if err != nil {
			return nil, err
		}
		cfg.Merge(c)
	}
	for _, s := range o.Sets {
		if err := cfg.Set(s); err != nil {
			return nil, err
		}
	}
	switch o.Checksums {
	case "none":
		_ = cfg.Set("stream.checksum-validation=no")
		_ = cfg.Set("checksum-checks=none")
	case "all":
		_ = cfg.Set("stream.checksum-validation=yes")
		_ = cfg.Set("checksum-checks=all")
	}
	return cfg, nil
}

// ruleFiles lists the rule files to load: -S alone when given, else the
// config's rule-files (relative to default-rule-path) plus -s.
func (o *Options) ruleFiles(cfg *conf.Config) []string {
	if len(o.ExclusiveRules) > 0 {
		return o.ExclusiveRules
	}
	var files []string
	base, _ := cfg.Get("default-rule-path")
	for _, k := range cfg.Keys("rule-files") {
		f, ok := cfg.Get("rule-files." + k)
		if !ok || f == "" {
			continue
		}
		if !filepath.IsAbs(f) && base != "" {
			f = filepath.Join(base, f)
		}
		files = append(files, f)
	}
	return append(files, o.ExtraRules...)
}

// eveOptions reads the eve-log alert settings from the config.
func eveOptions(cfg *conf.Config) (eve.Options, bool) {
	opts := eve.Options{CommunityID: true}
	flows := true
	for _, i := range cfg.Keys("outputs") {
		if v, _ := cfg.Get("outputs." + i); v != "eve-log" {
			continue
		}
		base := "outputs." + i + ".eve-log."
		opts.Ethernet, _ = cfg.Bool(base+"ethernet", false)
		if seed, err := cfg.Int(base+"community-id-seed", 0); err == nil {
			opts.CommunityIDSeed = uint16(seed)
		}
		types := cfg.Keys(base + "types")
		if len(types) > 0 {
			flows = false
		}
		for _, t := range types {
			tb := base + "types." + t
			name, _ := cfg.Get(tb)
			switch name {
			case "flow":
				flows = true
			case "alert":
				a := tb + ".alert."
				opts.Payload, _ = cfg.Bool(a+"payload", false)
				opts.PayloadPrintable, _ = cfg.Bool(a+"payload-printable", false)
				opts.Packet, _ = cfg.Bool(a+"packet", false)
				opts.Verdict, _ = cfg.Bool(a+"verdict", false)
			}
		}
		break
	}
	return opts, flows
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// expandInputs walks directories for capture files, in name order.
func expandInputs(inputs []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			errs = append(errs, fmt.Errorf("replay: capture %s: %w", in, err))
			continue
		}
		if !st.IsDir() {
			files = append(files, in)
			continue
		}
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Errorf("replay: walk %s: %w", p, err))
				return nil
			}
			if d.IsDir() {
				return nil
			}
			n := strings.ToLower(d.Name())
			for _, ext := range []string{".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"} {
				if strings.HasSuffix(n, ext) {
					files = append(files, p)
					break
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return files, errs
}

type sigKey struct {
	gid, sid uint32
	msg      string
}

// frameRef locates one frame inside a batch's buffer.
type frameRef struct {
	off, end int
	lt       decode.LinkType
	ts       time.Time
	origLen  int
	num      uint64
}

// batch carries frames to a worker; copying frames into one buffer per
// batch keeps the reader off the allocator and the channels quiet.
type batch struct {
	buf    []byte
	frames []frameRef
}

const batchFrames = 64

type workerResult struct {
	det     detect.Stats
	dec     decode.Stats
	bySig   map[sigKey]uint64
	dropped uint64
	panic   string // the engine panicked: the rest of this worker's input was skipped
}

func (r *runner) run(ctx context.Context) int {
	o := r.o
	start := time.Now()
	cfg, err := o.LoadConfig()
	if err != nil {
		fmt.Fprintf(r.stderr, "%v\n", err)
		return 1
	}

	// Rules.
	vars := cfg.Vars()
	nerr := 0
	// Like Suricata, a rule path that is missing is reported and the rest load.
	var files []string
	for _, p := range o.ruleFiles(cfg) {
		fs, err := rules.ExpandPaths([]string{p})
		if err != nil {
			fmt.Fprintln(r.stderr, err)
			nerr++
			continue
		}
		files = append(files, fs...)
	}
	rs, errs := rules.ParseFiles(files, vars)
	for _, e := range errs {
		fmt.Fprintln(r.stderr, e)
	}
	nerr += len(errs)
	if nerr > 0 {
		fmt.Fprintf(r.stderr, "%d rule errors; %d rules loaded\n", nerr, len(rs))
	} else if o.Verbose > 0 {
		fmt.Fprintf(r.stderr, "%d rules loaded\n", len(rs))
	}

	midstream, err := cfg.Bool("stream.midstream", false)
	if err != nil {
		fmt.Fprintf(r.stderr, "%v\n", err)
		return 1
	}
	dopts := detect.Options{
		IPS:       o.SimulateIPS,
		Midstream: midstream,
		Settings:  cfg.Settings(),
	}
	dopts.ClassificationFile = config.Classification(cfg.ClassificationFile(), files)
	if dopts.ClassificationFile == "" && o.Verbose > 0 {
		fmt.Fprintf(r.stderr, "classification file %s not found; alerts carry no category\n", cfg.ClassificationFile())
	}
	newWorker, err := r.compile(rs, dopts)
	if err != nil {
		fmt.Fprintf(r.stderr, "replay: compile rules: %v\n", err)
		return 1
	}
	// Parsing and compiling leave garbage several times the size of the
	// engine; collecting it now charges it to the load and sizes the next
	// GC goal on what inspection really keeps.
	runtime.GC()
	loaded := time.Now()
	loadCPU := cpuTime()

	// Output.
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		fmt.Fprintf(r.stderr, "replay: output directory %s: %v\n", o.OutDir, err)
		return 1
	}
	evePath := filepath.Join(o.OutDir, "eve.json")
	ef, err := os.Create(evePath)
	if err != nil {
		fmt.Fprintf(r.stderr, "replay: create %s: %v\n", evePath, err)
		return 1
	}
	bw := bufio.NewWriterSize(ef, 256<<10)
	eopts, logFlows := eveOptions(cfg)
	ew := eve.NewWriter(bw, eopts)

	defragMax, _ := cfg.Int("defrag.memcap", 0)
	files, inErrs := expandInputs(o.Inputs)
	failed := len(inErrs) > 0
	for _, e := range inErrs {
		fmt.Fprintln(r.stderr, e)
	}

	// Workers.
	sh := pipeline.NewSharder(o.Workers)
	n := sh.Workers()
	ins := make([]chan *batch, n)
	frees := make([]chan *batch, n)
	results := make([]workerResult, n)
	var wg sync.WaitGroup
	for i := range n {
		ins[i] = make(chan *batch, 8)
		frees[i] = make(chan *batch, 10)
		for range 10 {
			frees[i] <- &batch{buf: make([]byte, 0, 64<<10), frames: make([]frameRef, 0, batchFrames)}
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// An engine bug must not take down the caller (svrun runs many
			// replays in one process): report it and drain the queue so the
			// reader never blocks.
			defer func() {
				if v := recover(); v != nil {
					results[i].panic = fmt.Sprintf("%v\n%s", v, debug.Stack())
					for b := range ins[i] {
						frees[i] <- b
					}
				}
			}()
			results[i] = work(ins[i], frees[i], newWorker(), decode.NewDecoder(decode.Config{DefragMaxBytes: int(defragMax)}), ew, logFlows)
		}(i)
	}

	// Progress.
	var prog *progress
	if !o.NoProgress && isTerminal(r.stderr) {
		prog = newProgress(r.stderr, len(files))
	}

	// Reader.
	cur := make([]*batch, n)
	send := func(i int) {
		if cur[i] != nil && len(cur[i].frames) > 0 {
			ins[i] <- cur[i]
			cur[i] = nil
		}
	}
	var num, bytes uint64
	var rbuf decode.ReadBuffers // one file is open at a time
	canceled := false
	for fi, path := range files {
		if ctx.Err() != nil {
			canceled = true
			break
		}
		pr, err := decode.OpenPcapWith(path, &rbuf)
		if err != nil {
			fmt.Fprintf(r.stderr, "replay: %v\n", err)
			failed = true
			continue
		}
		for {
			data, ci, err := pr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				// The reader's error already names the file and packet.
				fmt.Fprintf(r.stderr, "replay: %v\n", err)
				failed = true
				break
			}
			num++
			bytes += uint64(len(data))
			lt := ci.LinkType
			if lt == 0 && pr.LinkType() != 0 {
				lt = pr.LinkType()
			}
			w := sh.Worker(lt, data)
			b := cur[w]
			if b == nil {
				b = <-frees[w]
				b.buf, b.frames = b.buf[:0], b.frames[:0]
				cur[w] = b
			}
			off := len(b.buf)
			b.buf = append(b.buf, data...)
			b.frames = append(b.frames, frameRef{off: off, end: len(b.buf), lt: lt, ts: ci.Timestamp, origLen: ci.Length, num: num})
			if len(b.frames) == batchFrames || len(b.buf) >= 48<<10 {
				send(w)
			}
			if prog != nil && num&1023 == 0 {
				prog.update(fi, num, bytes)
			}
			if num&4095 == 0 && ctx.Err() != nil {
				break
			}
		}
		pr.Close()
		if prog != nil {
			prog.update(fi+1, num, bytes)
		}
	}
	for i := range n {
		send(i)
		close(ins[i])
	}
	wg.Wait()
	if prog != nil {
		prog.done()
	}

	// Totals.
	var alerts, flows, dropped, malformed uint64
	var det detect.Stats
	bySig := map[sigKey]uint64{}
	reasons := map[string]uint64{}
	for i, res := range results {
		if res.panic != "" {
			fmt.Fprintf(r.stderr, "replay: worker %d: engine panic: %s\n", i, res.panic)
			failed = true
		}
		alerts += res.det.Alerts
		det.Candidates += res.det.Candidates
		det.Txs += res.det.Txs
		det.TxCandidates += res.det.TxCandidates
		flows += res.det.Flow.Created
		dropped += res.det.Dropped
		det.State = res.det.State // one engine for every worker
		malformed += res.dec.Malformed
		for k, v := range res.bySig {
			bySig[k] += v
		}
		for k, v := range res.dec.ByReason() {
			reasons[k] += v
		}
	}
	elapsed := time.Since(start)
	decStats := map[string]any{"pkts": num, "bytes": bytes, "invalid": malformed}
	for k, v := range reasons {
		decStats[k] = v
	}
	_ = ew.WriteStats(time.Now(), map[string]any{
		"uptime":  int64(elapsed / time.Second),
		"decoder": decStats,
		"detect":  map[string]any{"alert": alerts},
		"flow":    map[string]any{"total": flows},
		"ips":     map[string]any{"blocked": dropped},
	})
	if err := bw.Flush(); err != nil {
		fmt.Fprintf(r.stderr, "replay: write %s: %v\n", evePath, err)
		failed = true
	}
	if err := ef.Close(); err != nil {
		fmt.Fprintf(r.stderr, "replay: close %s: %v\n", evePath, err)
		failed = true
	}
	if e := ew.Errors(); e > 0 {
		fmt.Fprintf(r.stderr, "replay: %d EVE records lost to write errors\n", e)
		failed = true
	}

	printSummary(r.stdout, summary{files: len(files), packets: num, bytes: bytes, malformed: malformed, reasons: reasons, det: det,
		flows: flows, alerts: alerts, dropped: dropped, bySig: bySig, elapsed: elapsed, ips: o.SimulateIPS,
		ruleLoad: loaded.Sub(start), inspectCPU: cpuTime() - loadCPU, rules: len(rs)})
	if canceled {
		fmt.Fprintln(r.stderr, "replay: interrupted")
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

func work(in <-chan *batch, free chan<- *batch, dw detectWorker, dec *decode.Decoder, ew *eve.Writer, logFlows bool) workerResult {
	res := workerResult{bySig: map[sigKey]uint64{}}
	emit := func(a *detect.Alert) {
		res.bySig[sigKey{a.GID, a.SID, a.Msg}]++
		_ = ew.WriteAlert(a)
	}
	insp := pipeline.NewInspector(dec)
	for b := range in {
		for _, fr := range b.frames {
			insp.Decode(fr.lt, b.buf[fr.off:fr.end], fr.ts, fr.num, fr.origLen)
			if insp.Run(dw, 0, emit) {
				res.dropped++
			}
		}
		free <- b
	}
	end := func(f *flow.Flow, reason flow.EndReason) {
		if logFlows {
			_ = ew.WriteFlow(f, reason)
		}
	}
	dw.Flush(emit, end)
	res.det = dw.Stats()
	res.dec = dec.Stats()
	return res
}

type summary struct {
	rules                                    int
	ruleLoad, inspectCPU                     time.Duration // wall time to parse+compile; CPU time of everything after
	files                                    int
	packets, bytes, malformed, flows, alerts uint64
	dropped                                  uint64
	det                                      detect.Stats // prefilter effectiveness
	reasons                                  map[string]uint64
	bySig                                    map[sigKey]uint64
	elapsed                                  time.Duration
	ips                                      bool
}

func printSummary(w io.Writer, s summary) {
	secs := s.elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "files:     %d\n", s.files)
	fmt.Fprintf(w, "packets:   %d\n", s.packets)
	fmt.Fprintf(w, "bytes:     %d\n", s.bytes)
	fmt.Fprintf(w, "malformed: %d", s.malformed)
	if len(s.reasons) > 0 {
		keys := make([]string, 0, len(s.reasons))
		for k := range s.reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, s.reasons[k])
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "flows:     %d\n", s.flows)
	fmt.Fprintf(w, "alerts:    %d\n", s.alerts)
	if s.ips {
		fmt.Fprintf(w, "dropped:   %d\n", s.dropped)
	}
	if len(s.bySig) > 0 {
		type kv struct {
			k sigKey
			n uint64
		}
		list := make([]kv, 0, len(s.bySig))
		for k, n := range s.bySig {
			list = append(list, kv{k, n})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].n != list[j].n {
				return list[i].n > list[j].n
			}
			if list[i].k.gid != list[j].k.gid {
				return list[i].k.gid < list[j].k.gid
			}
			return list[i].k.sid < list[j].k.sid
		})
		if len(list) > 20 {
			list = list[:20]
		}
		fmt.Fprintln(w, "top signatures:")
		for _, e := range list {
			fmt.Fprintf(w, "  %8d  [%d:%d] %s\n", e.n, e.k.gid, e.k.sid, e.k.msg)
		}
	}
	fmt.Fprintf(w, "rules:     %d loaded in %s\n", s.rules, s.ruleLoad.Round(time.Millisecond))
	if s.rules > 0 && s.packets > 0 {
		// How well the prefilter works: rules evaluated in full per packet
		// and per app-layer transaction inspection.
		fmt.Fprintf(w, "detect:    %.2f rules evaluated per packet, %d app-layer inspections with %.2f rules each\n",
			float64(s.det.Candidates)/float64(s.packets), s.det.Txs, float64(s.det.TxCandidates)/float64(max(s.det.Txs, 1)))
	}
	if d := s.det.State; d != (detect.StateDrops{}) {
		// Rules relying on dropped state may have missed: never silent.
		fmt.Fprintf(w, "state:     dropped at their caps: %d threshold counters, %d xbits, %d flowint changes\n",
			d.Thresholds, d.Xbits, d.Flowints)
	}
	fmt.Fprintf(w, "elapsed:   %s\n", s.elapsed.Round(time.Millisecond))
	if c := s.inspectCPU.Seconds(); c > 0 {
		// CPU time, not wall time: the rate per core that a noisy machine cannot distort.
		fmt.Fprintf(w, "cpu:       %.3fs after rule load: %.0f packets/s, %.1f Mbit/s per core\n", c, float64(s.packets)/c, float64(s.bytes)*8/c/1e6)
	}
	fmt.Fprintf(w, "rate:      %.0f packets/s, %.1f Mbit/s\n", float64(s.packets)/secs, float64(s.bytes)*8/secs/1e6)
}

// progress redraws one status line on a terminal at most every 0.5 s.
type progress struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) update(filesDone int, pkts, bytes uint64) {
	now := time.Now()
	if now.Sub(p.last) < 500*time.Millisecond {
		return
	}
	p.last = now
	secs := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d files] %d packets, %.0f pkt/s, %.1f Mbit/s", filesDone, p.total, pkts,
		float64(pkts)/secs, float64(bytes)*8/secs/1e6)
}

func (p *progress) done() { fmt.Fprint(p.w, "\r\x1b[K") }

// cpuTime is the process's user+sys CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
