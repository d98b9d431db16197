// Package api is tapwatchd's control socket: a small JSON-over-HTTP API on a
// unix socket (/run/tapwatch/tapwatch.sock, root and group tapwatch only)
// that the tapwatch CLI and the libvirt hook use. The server side talks to
// the daemon through the Backend interface; the client side is what the CLI
// calls.
package api
