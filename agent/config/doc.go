// Package config loads tapwatchd's configuration (/etc/tapwatch/tapwatch.yaml).
// Unknown keys and wrong types are refused with the file, line and key, so a
// typo never silently falls back to a default.
package config
