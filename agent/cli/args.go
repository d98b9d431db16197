package cli

import "flag"

// parseAroundName parses fs's flags before and after a leading NAME
// argument (vms show web --json), as users type them either way, and
// returns the name ("" without one) and any arguments left after it. ok
// is false when the flags do not parse (fs has reported why).
func parseAroundName(fs *flag.FlagSet, args []string) (name string, extra []string, ok bool) {
	if fs.Parse(args) != nil {
		return "", nil, false
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return "", nil, true
	}
	if fs.Parse(rest[1:]) != nil {
		return "", nil, false
	}
	return rest[0], fs.Args(), true
}
