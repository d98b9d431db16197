// Package detect compiles parsed rules into an engine and runs it: per
// packet it tracks the flow, reassembles TCP, prefilters candidate rules
// and evaluates them fully, producing alerts and verdicts. The same engine
// serves pcap replay and live traffic.
//
// Compile orders rules as Suricata does (action order, flowbit setters
// before readers, priority) and builds, per protocol bucket, a
// multi-pattern matcher over each rule's fast pattern per buffer; the raw
// payload's is split further, as Suricata's signature group heads are, by
// flow direction, server port, named client port and home/outside ends
// (payload_prefilter.go); rules without a fast pattern are indexed by
// host network or port so a packet meets only those its header can
// satisfy. A Worker owns a flow table shard, stream
// sessions and scratch space: Process does not allocate per packet. What
// is kept per host (threshold counters, xbits) is the Engine's, shared by
// its Workers under a lock taken only by the rules that use it. Every flow gets its app-layer protocol detected by content
// (HTTP, TLS, DNS, SSH; any port), which alerts and flow records carry; the
// HTTP, TLS and DNS parsers then run only when some rule needs them
// (app_http.go, app_tls.go, app_dns.go) and hand transaction buffers to
// Worker.InspectTx; SSH's identification lines are always read
// (app_ssh.go). A Worker asked to (SetRecordNames) also keeps each flow's
// application-layer names in flow.Flow.Names (app_names.go). Check
// implements `tapwatch rules check`.
package detect
