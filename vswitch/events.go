package vswitch

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// EventKind says what happened to a link.
type EventKind int

const (
	// PortAppeared: a tap appeared, or an uplink was first seen on a bridge.
	PortAppeared EventKind = iota + 1
	// PortMoved: the link's bridge changed (Port.Master; PrevMaster before).
	// Joining a bridge is a move from 0, leaving one a move to 0.
	PortMoved
	// PortUp / PortDown: administrative state or carrier changed.
	PortUp
	PortDown
	// PortRemoved: the link was deleted (or left the namespace).
	PortRemoved
)

func (k EventKind) String() string {
	switch k {
	case PortAppeared:
		return "appeared"
	case PortMoved:
		return "moved"
	case PortUp:
		return "up"
	case PortDown:
		return "down"
	case PortRemoved:
		return "removed"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is a change to a tap or a bridge port.
type Event struct {
	Kind       EventKind
	Port       Port
	PrevMaster int // for PortMoved
}

// WatchOptions configure Watch.
type WatchOptions struct {
	// Netns to watch (nil: the caller's).
	Netns *netns.NsHandle
	// Buffer is the channel capacity (default 256).
	Buffer int
	// Errors receives subscription errors (optional; dropped when full).
	Errors chan<- error
}

// Watch reports taps and bridge ports as they appear, move between
// bridges, go up or down and disappear. Links that exist when Watch starts
// are reported as PortAppeared first. The channel closes when ctx is done
// or the subscription fails.
// Equivalent: `ip monitor link`.
func Watch(ctx context.Context, opts WatchOptions) (<-chan Event, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	updates := make(chan netlink.LinkUpdate, 1024)
	done := make(chan struct{})
	sub := netlink.LinkSubscribeOptions{
		Namespace:    opts.Netns,
		ListExisting: true,
		ErrorCallback: func(err error) {
			if opts.Errors != nil {
				select {
				case opts.Errors <- fmt.Errorf("vswitch: link subscription: %w", err):
				default:
				}
			}
		},
	}
	if err := netlink.LinkSubscribeWithOptions(updates, done, sub); err != nil {
		return nil, fmt.Errorf("vswitch: subscribe to link events (ip monitor link): %w: need CAP_NET_ADMIN", err)
	}
	out := make(chan Event, opts.Buffer)
	go func() {
		defer close(out)
		defer close(done)
		w := tracker{seen: map[int]Port{}}
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				for _, ev := range w.update(u) {
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return out, nil
}

// tracker turns netlink's full-state link messages into changes.
type tracker struct {
	seen map[int]Port
}

func (w *tracker) update(u netlink.LinkUpdate) []Event {
	// Bridge-family messages describe port state inside the bridge; the
	// AF_UNSPEC ones carry the link itself.
	if u.IfInfomsg.Family == unix.AF_BRIDGE || u.Link == nil {
		return nil
	}
	p := PortOf(u.Link)
	old, known := w.seen[p.Index]
	if u.Header.Type == unix.RTM_DELLINK {
		if !known {
			return nil
		}
		delete(w.seen, p.Index)
		return []Event{{Kind: PortRemoved, Port: p}}
	}
	interesting := p.Kind == KindTap || (p.Master != 0 && p.Kind == KindUplink)
	if !known {
		if !interesting {
			return nil
		}
		w.seen[p.Index] = p
		return []Event{{Kind: PortAppeared, Port: p}}
	}
	w.seen[p.Index] = p
	var evs []Event
	if old.Master != p.Master {
		evs = append(evs, Event{Kind: PortMoved, Port: p, PrevMaster: old.Master})
	}
	if old.Up != p.Up {
		k := PortDown
		if p.Up {
			k = PortUp
		}
		evs = append(evs, Event{Kind: k, Port: p})
	}
	return evs
}
