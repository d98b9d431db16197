package inventory

import (
	"testing"

	"libvirt.org/go/libvirt"
)

// Migration arrives as ordinary started/stopped events with a "migrated" detail; the agent must
// see them as a VM arriving or leaving, not booting or dying.
func TestLifecycleKindSeparatesMigration(t *testing.T) {
	for _, c := range []struct {
		ev     libvirt.DomainEventType
		detail int
		kind   EventKind
		name   string
	}{
		{libvirt.DOMAIN_EVENT_STARTED, int(libvirt.DOMAIN_EVENT_STARTED_BOOTED), EventStarted, "booted"},
		{libvirt.DOMAIN_EVENT_STARTED, int(libvirt.DOMAIN_EVENT_STARTED_MIGRATED), EventMigratedIn, "migrated"},
		{libvirt.DOMAIN_EVENT_STOPPED, int(libvirt.DOMAIN_EVENT_STOPPED_DESTROYED), EventStopped, "destroyed"},
		{libvirt.DOMAIN_EVENT_STOPPED, int(libvirt.DOMAIN_EVENT_STOPPED_MIGRATED), EventMigratedOut, "migrated"},
		{libvirt.DOMAIN_EVENT_SUSPENDED, int(libvirt.DOMAIN_EVENT_SUSPENDED_MIGRATED), EventSuspended, "migrated"},
		{libvirt.DOMAIN_EVENT_RESUMED, int(libvirt.DOMAIN_EVENT_RESUMED_MIGRATED), EventResumed, "migrated"},
		{libvirt.DOMAIN_EVENT_UNDEFINED, int(libvirt.DOMAIN_EVENT_UNDEFINED_REMOVED), EventUndefined, "removed"},
	} {
		ev := &libvirt.DomainEventLifecycle{Event: c.ev, Detail: c.detail}
		if k := lifecycleKind(ev); k != c.kind {
			t.Errorf("%v: kind %s, want %s", ev, k, c.kind)
		}
		if d := lifecycleDetail(ev); d != c.name {
			t.Errorf("%v: detail %q, want %q", ev, d, c.name)
		}
	}
}
