package agent

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tapwatch/tapwatch/agent/output/eve"
	"github.com/tapwatch/tapwatch/agent/pipeline"
	"github.com/tapwatch/tapwatch/agent/vmctx"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
)

// findingInterval rate-limits hypervisor findings per VM and kind: a VM
// spoofing its MAC would otherwise raise one alert per frame.
const findingInterval = 10 * time.Second

// inspectHypervisor raises what only a hypervisor sees: a VM sending with a
// MAC or address libvirt did not give it.
func (d *Daemon) inspectHypervisor(fr *pipeline.Frame, p *decode.Packet) {
	for _, f := range d.vms.Inspect(fr.Iface, fr.Data) {
		key := fmt.Sprintf("%d/%s", f.SID, f.VM.VMName)
		d.findingsMu.Lock()
		last, seen := d.findingsLast[key]
		fresh := !seen || p.Timestamp.Sub(last) >= findingInterval
		if fresh {
			d.findingsLast[key] = p.Timestamp
		}
		d.findingsMu.Unlock()
		if !fresh {
			continue
		}
		a := &detect.Alert{Packet: p, Action: "allowed", RuleAction: detect.ActionAlert, GID: 1,
			SID: uint32(f.SID), Rev: 1, Msg: f.Msg, Category: "Potentially Bad Traffic", Severity: 2, TxID: -1}
		d.Alert(a, fr)
	}
}

// Alert writes an alert with the VMs on each side and hands it to followers.
func (d *Daemon) Alert(a *detect.Alert, fr *pipeline.Frame) {
	var src, dst *vmctx.Ref
	if a.Packet != nil {
		src, dst = d.vms.Sides(a.Packet.SrcMAC, a.Packet.DstMAC, fr.Iface, fr.FromVM)
	}
	vmObjs := vmObjects(src, dst)
	var names []string
	for _, r := range []*vmctx.Ref{src, dst} {
		if r == nil {
			continue
		}
		names = append(names, r.VMName)
		c, _ := d.alertsByVM.LoadOrStore(r.VMName, new(atomic.Uint64))
		c.(*atomic.Uint64).Add(1)
	}
	id := d.alertID()
	ts := fr.Timestamp
	if a.Packet != nil && !a.Packet.Timestamp.IsZero() {
		ts = a.Packet.Timestamp // alerts at flow end have no frame of their own
	}
	if d.pcaps != nil && a.Flow != nil {
		for _, n := range names {
			d.pcaps.Alert(n, id, a.Flow.ID, ts)
		}
	}
	d.alerts.Add(1)
	extra := make([]eve.Field, 0, 3)
	if vmObjs != nil {
		extra = append(extra, eve.Field{Key: "vm", Value: vmObjs})
	}
	extra = append(extra, eve.Field{Key: "in_iface", Value: fr.Iface}, eve.Field{Key: "alert_id", Value: id})
	// Followers (`tapwatch alerts -f`) get the line the file got.
	publish := func(line []byte) { d.hub.publish(line, names) }
	if err := d.eveOut.WriteAlertFunc(a, publish, extra...); err != nil {
		d.log.Warn("write eve alert", "error", err)
	}
}
