// Package stream tracks TCP connections and reassembles each direction's
// byte stream in order, for stream-level rules and the app-layer parsers.
package stream
