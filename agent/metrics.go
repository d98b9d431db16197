package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// collector reads the daemon's counters at scrape time, so metrics cost the
// packet path nothing.
type collector struct {
	d *Daemon

	hookPackets, vmAlerts, frames, bytes, malformed, alerts, detectSecs,
	rulesLoaded, rulesFailed, attachLatency, followerDrops, stateDrops *prometheus.Desc
}

func newCollector(d *Daemon) *collector {
	ns := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("tapwatch_"+name, help, labels, prometheus.Labels{"host": d.cfg.Host})
	}
	return &collector{d: d,
		hookPackets:   ns("hook_packets_total", "Packets at each eBPF hook by outcome (seen, sent, skipped, bypassed, blocked, ring_full, too_big).", "interface", "hook", "vm", "outcome"),
		vmAlerts:      ns("vm_alerts_total", "Alerts involving each VM.", "vm"),
		frames:        ns("pipeline_frames_total", "Frames the pipeline took from the ring buffer."),
		bytes:         ns("pipeline_bytes_total", "Bytes the pipeline took from the ring buffer."),
		malformed:     ns("decode_malformed_total", "Frames the decoder counted by reason.", "reason"),
		alerts:        ns("alerts_total", "Alerts raised."),
		detectSecs:    ns("detect_seconds_total", "Time the workers spent in rule evaluation."),
		rulesLoaded:   ns("rules_loaded", "Rules in the running engine."),
		rulesFailed:   ns("rules_failed", "Rules skipped at the last load."),
		attachLatency: ns("hook_attach_latency_seconds", "Time from an interface being reported to its hooks being attached (last, max).", "stat"),
		followerDrops: ns("alert_follower_dropped_total", "Alert lines a slow `tapwatch alerts -f` follower lost."),
		stateDrops:    ns("detect_state_dropped_total", "Detection state the running engine dropped at its caps (threshold counters, xbits, flowint changes); rules relying on it may miss.", "table"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	table := *d.rec.ifaces.Load()
	if all, err := d.objs.AllCounters(); err == nil {
		for k, v := range all {
			info := table[uint32(k.Ifindex)]
			name := info.name
			if name == "" {
				name = strconv.Itoa(int(k.Ifindex))
			}
			h := k.Hook.String()
			for _, o := range []struct {
				n string
				v uint64
			}{{"seen", v.Seen}, {"sent", v.Sent}, {"skipped", v.Skipped}, {"bypassed", v.Bypassed},
				{"blocked", v.Blocked}, {"ring_full", v.RingFull}, {"too_big", v.TooBig}} {
				counter(c.hookPackets, float64(o.v), name, h, info.vm, o.n)
			}
		}
	}
	d.alertsByVM.Range(func(k, v any) bool {
		counter(c.vmAlerts, float64(v.(*atomic.Uint64).Load()), k.(string))
		return true
	})
	ps := d.pipe.Stats()
	counter(c.frames, float64(ps.Frames))
	counter(c.bytes, float64(ps.Bytes))
	for r, n := range ps.Decode {
		counter(c.malformed, float64(n), r)
	}
	counter(c.detectSecs, ps.DetectTime.Seconds())
	counter(c.stateDrops, float64(ps.StateDrops.Thresholds), "threshold")
	counter(c.stateDrops, float64(ps.StateDrops.Xbits), "xbits")
	counter(c.stateDrops, float64(ps.StateDrops.Flowints), "flowint")
	counter(c.alerts, float64(d.alerts.Load()))
	counter(c.followerDrops, float64(d.hub.dropped.Load()))
	d.rulesMu.Lock()
	gauge(c.rulesLoaded, float64(d.rulesLoaded))
	gauge(c.rulesFailed, float64(d.rulesFailed))
	d.rulesMu.Unlock()
	gauge(c.attachLatency, time.Duration(d.rec.lastLatency.Load()).Seconds(), "last")
	gauge(c.attachLatency, time.Duration(d.rec.maxLatency.Load()).Seconds(), "max")
}

// serveMetrics exposes /metrics on addr until ctx ends.
func (d *Daemon) serveMetrics(ctx context.Context, addr string) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(newCollector(d)); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics server", "error", err)
		}
	}()
	d.log.Info("metrics", "listen", ln.Addr().String())
	return nil
}
