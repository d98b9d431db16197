package agent

import (
	"fmt"
	"net"
	"os"

	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/output/eve"
	"github.com/tapwatch/tapwatch/agent/pipeline"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/agent/vmctx"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// openRNA opens the flow store and the recorder ("virtual RNA": what moved
// around the hypervisor, kept for later study).
func (d *Daemon) openRNA() error {
	if s := d.cfg.Flows.Store; s != "" {
		if err := os.MkdirAll(dirOf(s), 0o750); err != nil {
			return fmt.Errorf("flows.store: %w", err)
		}
		fs, err := flowstore.Open(s, flowstore.Options{MaxAge: d.cfg.Flows.MaxAge, MaxBytes: int64(d.cfg.Flows.MaxSizeMB) << 20})
		if err != nil {
			return fmt.Errorf("flows.store: %w", err)
		}
		d.flows = fs
	}
	if dir := d.cfg.Record.Dir; dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("record.dir: %w", err)
		}
		rec, err := record.New(dir, record.Options{SegmentBytes: int64(d.cfg.Record.SegmentMB) << 20,
			BudgetBytes: int64(d.cfg.Record.BudgetMB) << 20, PreAlert: d.cfg.Record.PreAlert})
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		d.pcaps = rec
	}
	d.openChanges()
	return nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}

func (d *Daemon) closeRNA() {
	if d.flows != nil {
		d.flows.Close()
	}
	if d.pcaps != nil {
		d.pcaps.Close()
	}
}

// recordMode is the VM's recording mode: its libvirt <metadata> first, then
// the config's default.
func (d *Daemon) recordMode(policy string) record.Mode {
	if m, err := record.ParseMode(policy); err == nil && policy != "" {
		return m
	}
	m, _ := record.ParseMode(d.cfg.Record.Mode)
	return m
}

// Frame runs the checks only a hypervisor can make on frames a VM sent and
// hands every frame to the recorder for the VMs on its two sides.
func (d *Daemon) Frame(fr *pipeline.Frame, p *decode.Packet, f *flow.Flow) {
	if fr.FromVM {
		d.inspectHypervisor(fr, p)
	}
	if d.pcaps == nil {
		return
	}
	var id uint64
	if f != nil {
		id = f.ID
	}
	src, dst := d.vms.Sides(p.SrcMAC, p.DstMAC, fr.Iface, fr.FromVM)
	for _, r := range []*vmctx.Ref{src, dst} {
		if r != nil {
			d.pcaps.Packet(r.VMName, fr.Iface, fr.Timestamp, id, fr.Data, fr.OrigLen)
		}
	}
}

// FlowEnd writes the flow's EVE record, with the VMs on each side, and
// keeps it in the flow store.
func (d *Daemon) FlowEnd(f *flow.Flow, reason flow.EndReason) {
	src, _ := d.vms.ByAddr(f.Key.Src)
	dst, _ := d.vms.ByAddr(f.Key.Dst)
	var extra []eve.Field
	if v := vmObjects(src, dst); v != nil {
		extra = append(extra, eve.Field{Key: "vm", Value: v})
	}
	_ = d.eveOut.WriteFlow(f, reason, extra...)
	d.noteChanges(f, src, dst)
	if d.flows == nil {
		return
	}
	r := flowstore.Record{FlowID: f.ID, Start: f.Start, End: f.Last, Proto: eve.ProtoName(f.Key.Proto),
		SrcIP: f.Key.Src, DstIP: f.Key.Dst, SrcPort: f.Key.SrcPort, DstPort: f.Key.DstPort,
		PktsToServer: f.Pkts[flow.ToServer], PktsToClient: f.Pkts[flow.ToClient],
		BytesToServer: f.Bytes[flow.ToServer], BytesToClient: f.Bytes[flow.ToClient],
		State: eve.FlowState(f), Reason: string(reason), AppProto: f.AppProto,
		CommunityID: eve.CommunityID(0, f.Key.Proto, f.Key.Src, f.Key.Dst, f.Key.SrcPort, f.Key.DstPort)}
	if src != nil {
		r.SrcVM, r.SrcVMUUID = src.VMName, src.VMUUID
	}
	if dst != nil {
		r.DstVM, r.DstVMUUID = dst.VMName, dst.VMUUID
	}
	r.Names = storeNames(f.Names)
	d.flows.Add(r)
}

// RecordNames tells the pipeline to have the detection engine keep each
// flow's application-layer names, which FlowEnd stores for `tapwatch vms
// show`: worth their (bounded) cost only when there is a store.
func (d *Daemon) RecordNames() bool { return d.flows != nil }

var _ pipeline.NameRecorder = (*Daemon)(nil)

// storeNames converts a flow's names for its record (nil when none).
func storeNames(n *flow.Names) flowstore.Names {
	var out flowstore.Names
	for _, x := range n.All() {
		if out == nil {
			out = flowstore.Names{}
		}
		k := x.Kind.String()
		out[k] = append(out[k], x.Value)
	}
	return out
}

// vmObjects is EVE's "vm" list: one object per side that is a VM here.
func vmObjects(src, dst *vmctx.Ref) []map[string]any {
	var out []map[string]any
	for _, s := range []struct {
		r    *vmctx.Ref
		role vmctx.Side
	}{{src, vmctx.Src}, {dst, vmctx.Dst}} {
		if s.r == nil {
			continue
		}
		out = append(out, map[string]any{
			"uuid": s.r.VMUUID, "name": s.r.VMName, "mac": net.HardwareAddr(s.r.MAC[:]).String(), "tap": s.r.Tap,
			"bridge": s.r.Bridge, "host": s.r.Host, "role": string(s.role),
		})
	}
	return out
}

// alertID names an alert for `tapwatch pcap --alert`: unique per daemon run.
func (d *Daemon) alertID() string {
	return fmt.Sprintf("%s-%x-%d", d.cfg.Host, d.started.Unix(), d.alertSeq.Add(1))
}
