// Package keyword holds the rule options, one file per keyword (dsize.go,
// content.go, ...), each with a pure parse function and a pure match
// function, and the registry through which the rule compiler finds them.
// Adding a keyword touches its own file and its test, nothing else.
package keyword
