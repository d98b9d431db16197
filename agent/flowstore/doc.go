// Package flowstore owns the host's local flow store: an embedded SQLite
// database (WAL mode) of finished flow records with the VM on each side, kept
// within an age and a size limit, and the per-VM "what does this VM really
// do" view (services it answers on, peers it uses, and the names those
// flows revealed: TLS and SSH names, HTTP servers and user agents, DNS
// queries) computed from those records.
//
// Writes never block the caller: Add hands a record to a bounded queue that
// one writer goroutine drains in batched transactions; a full queue (a slow
// or full disk) drops the record and counts it in Stats. The package does not
// log; the daemon reads Stats and reports.
package flowstore
