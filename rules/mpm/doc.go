// Package mpm is the multi-pattern matcher that prefilters rules: it finds,
// in one pass over a buffer, which of many fast patterns occur.
package mpm
