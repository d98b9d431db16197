// Package pipeline carries live frames from the datapath's ring buffer to
// the detection core: it hashes each frame's flow symmetrically, hands it to
// the worker that owns that flow (one goroutine per core, each with its own
// detect.Worker and flow-table shard), and reports alerts with the frame that
// raised them. Flow keys carry the frame's zone, so tenants with overlapping
// addresses never share a flow.
package pipeline
