// Package replay implements `tapwatch replay`: it runs the detection core
// over pcap/pcapng files with Suricata's command-line conventions (-r, -S,
// -s, -c, -l, -k, --set, --simulate-ips) and writes Suricata-schema EVE
// JSON, so suricata-verify tests and analysts' habits carry over.
// Frames are spread over workers with the live pipeline's Sharder, so a
// replay and the agent shard flows alike.
package replay
