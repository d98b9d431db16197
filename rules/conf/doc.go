// Package conf loads Suricata-style YAML configuration (suricata.yaml and
// the fragments suricata-verify tests ship), merges it over built-in
// defaults, applies --set overrides and exposes the values the detection
// core and the replay driver need: address and port variables, the
// classification file and a flattened dotted-key view of every setting.
//
// Values are kept as strings, as Suricata's own ConfNode tree does; typed
// accessors interpret them on demand so a fragment never fails to load
// because a value is spelled "yes" instead of "true".
package conf
