// Package record owns per-VM packet recording for retrospective analysis:
// rolling pcapng segments under DIR/VM/, kept within one disk budget across
// all VMs (oldest segment deleted first), an index that finds segments by
// time, VM and flow, and export of what a query or an alert selects as one
// pcapng stream.
//
// A VM's mode decides what is kept: Off (nothing), Alerts (the last
// PreAlert window is held in memory and written only when an alert fires,
// followed by the alerting flow's packets for PostAlert), or All.
//
// Packet and Alert never block the detection hot path: they copy into
// batches of a bounded queue that one writer goroutine drains a batch at a
// time; a full queue drops and counts. The writer goroutine alone owns
// files, rings and alert windows. The package does not log; the daemon
// reads Stats.
package record
