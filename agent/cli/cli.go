package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env carries what a command may touch, so commands are testable without a process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Socket is the control socket path (flag --socket or TAPWATCH_SOCKET).
	Socket string
	// Config is the daemon's config path, read by the hook for its policy.
	Config string
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, env *Env, args []string) int
}

// App is the set of subcommands.
type App struct {
	cmds map[string]Command
}

// New returns an App with cmds.
func New(cmds ...Command) *App {
	a := &App{cmds: map[string]Command{}}
	for _, c := range cmds {
		a.cmds[c.Name] = c
	}
	return a
}

// Main runs the subcommand named by args[0] and returns the exit code.
func (a *App) Main(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("tapwatch", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVar(&env.Socket, "socket", env.Socket, "tapwatchd control socket")
	fs.StringVar(&env.Config, "config", env.Config, "tapwatchd config file (for the hook's policy)")
	fs.Usage = func() { a.usage(env.Stderr) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		a.usage(env.Stderr)
		return 2
	}
	c, ok := a.cmds[rest[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "tapwatch: unknown command %q\n", rest[0])
		a.usage(env.Stderr)
		return 2
	}
	return c.Run(ctx, env, rest[1:])
}

func (a *App) usage(w io.Writer) {
	names := make([]string, 0, len(a.cmds))
	for n := range a.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: tapwatch [--socket PATH] COMMAND [ARGS]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-8s %s\n", n, a.cmds[n].Summary)
	}
	io.WriteString(w, b.String())
}
