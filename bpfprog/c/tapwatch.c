// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// tapwatch datapath: one TC program per hook point (VM tap ingress/egress,
// bridge uplink ingress/egress). The hook point is a compile-time constant of
// each entry point, so one object serves every attachment and the program
// never needs to be told where it runs.
//
// Compiled by bpf2go (see ../gen.go); this folder holds no Go files so that
// `go build` never sees the C.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tapwatch.h"

char __license[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); // overridden by the loader
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tw_counter_key);
	__type(value, struct tw_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tw_flow);
	__type(value, struct tw_flow_stats);
} bypass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tw_flow);
	__type(value, struct tw_flow_stats);
} block_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tw_host);
	__type(value, struct tw_flow_stats);
} block_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tw_mac);
	__type(value, __u32);
} monitored_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} zones SEC(".maps");

// Per-CPU because bpf_ringbuf_output needs the record contiguous in memory and
// the stack is far too small for a packet. TC programs do not nest on one CPU
// (ingress finishes before the bridge forwards), so one slot per CPU suffices.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_scratch);
} scratch SEC(".maps");

static __always_inline int mac_monitored(const __u8 *addr)
{
	struct tw_mac k = {};

	__builtin_memcpy(k.addr, addr, 6);
	return bpf_map_lookup_elem(&monitored_macs, &k) != NULL;
}

// already_seen applies the inspect-once rule: a packet is inspected at the
// sending VM's tap, else at the receiving VM's tap, else at the uplink. A
// frame whose MACs cannot be read is never skipped.
static __always_inline int already_seen(struct __sk_buff *skb, const __u8 hook)
{
	__u8 eth[12];

	if (hook == TW_HOOK_TAP_INGRESS)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)) < 0)
		return 0;
	const __u8 *dst = eth, *src = eth + 6;
	int group = dst[0] & 1;

	switch (hook) {
	case TW_HOOK_TAP_EGRESS:
		// Group frames are always inspected where they entered the bridge
		// (a tap's ingress, or an uplink's ingress, which never skips them).
		return group || mac_monitored(src);
	case TW_HOOK_UPLINK_INGRESS:
		// The VM's tap egress will see it, unless the source claims a
		// monitored MAC: that tap skips such frames, so inspect here.
		return !group && mac_monitored(dst) && !mac_monitored(src);
	case TW_HOOK_UPLINK_EGRESS:
		return mac_monitored(src);
	}
	return 0;
}

// parse_flow fills the flow key; returns 0 when the packet carries no
// IPv4/IPv6 header we can read (such packets are captured but never bypassed
// or blocked).
static __always_inline int parse_flow(struct __sk_buff *skb, struct tw_flow *f, __u16 *hflags)
{
	__u32 off = 12;
	__u16 proto;
	__u8 l4 = 0;
	__u32 l4off = 0;
	int ports = 1;

	if (bpf_skb_load_bytes(skb, off, &proto, 2) < 0)
		return 0;
	off += 2;
	if (skb->vlan_present)
		f->vlan = skb->vlan_tci & 0x0fff;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		__u16 tci;
		if (bpf_skb_load_bytes(skb, off, &tci, 2) < 0)
			return 0;
		if (bpf_skb_load_bytes(skb, off + 2, &proto, 2) < 0)
			return 0;
		// The outermost tag names the zone; an inner (QinQ) tag does not.
		if (!f->vlan)
			f->vlan = bpf_ntohs(tci) & 0x0fff;
		off += 4;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
			return 0;
		if (ip.ihl < 5)
			return 0;
		f->family = 4;
		f->proto = ip.protocol;
		__builtin_memcpy(f->src, &ip.saddr, 4);
		__builtin_memcpy(f->dst, &ip.daddr, 4);
		if (ip.frag_off & bpf_htons(0x3fff)) {
			// Later fragments carry no ports; keep all fragments of a
			// datagram in one portless flow so none is bypassed by mistake.
			*hflags |= TW_F_FRAGMENT;
			ports = 0;
		}
		l4 = ip.protocol;
		l4off = off + ip.ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
			return 0;
		f->family = 6;
		__builtin_memcpy(f->src, &ip6.saddr, 16);
		__builtin_memcpy(f->dst, &ip6.daddr, 16);
		l4 = ip6.nexthdr;
		l4off = off + sizeof(ip6);
#pragma unroll
		for (int i = 0; i < 4; i++) {
			__u8 ext[2];
			if (l4 != IPPROTO_HOPOPTS && l4 != IPPROTO_ROUTING &&
			    l4 != IPPROTO_DSTOPTS && l4 != IPPROTO_FRAGMENT)
				break;
			if (bpf_skb_load_bytes(skb, l4off, ext, 2) < 0) {
				ports = 0;
				break;
			}
			if (l4 == IPPROTO_FRAGMENT) {
				*hflags |= TW_F_FRAGMENT;
				ports = 0;
				l4 = ext[0];
				l4off += 8;
				continue;
			}
			l4 = ext[0];
			l4off += ((__u32)ext[1] + 1) * 8;
		}
		f->proto = l4;
	} else {
		return 0;
	}

	if (ports && (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP || l4 == IPPROTO_SCTP)) {
		__u16 p[2];
		if (bpf_skb_load_bytes(skb, l4off, p, sizeof(p)) == 0) {
			f->sport = bpf_ntohs(p[0]);
			f->dport = bpf_ntohs(p[1]);
		}
	}
	*hflags |= TW_F_FLOW;
	return 1;
}

static __always_inline void reverse_flow(const struct tw_flow *f, struct tw_flow *r)
{
	*r = *f;
	__builtin_memcpy(r->src, f->dst, 16);
	__builtin_memcpy(r->dst, f->src, 16);
	r->sport = f->dport;
	r->dport = f->sport;
}

static __always_inline struct tw_flow_stats *flow_lookup(void *map, const struct tw_flow *f)
{
	struct tw_flow_stats *st = bpf_map_lookup_elem(map, f);
	if (st)
		return st;
	struct tw_flow r;
	reverse_flow(f, &r);
	return bpf_map_lookup_elem(map, &r);
}

static __always_inline struct tw_flow_stats *host_blocked(const struct tw_flow *f)
{
	struct tw_host h = {.zone = f->zone, .family = f->family};
	struct tw_flow_stats *st;

	__builtin_memcpy(h.addr, f->src, 16);
	st = bpf_map_lookup_elem(&block_hosts, &h);
	if (st)
		return st;
	__builtin_memcpy(h.addr, f->dst, 16);
	return bpf_map_lookup_elem(&block_hosts, &h);
}

static __always_inline void account(struct tw_flow_stats *st, __u32 len)
{
	__sync_fetch_and_add(&st->packets, 1);
	__sync_fetch_and_add(&st->bytes, len);
}

static __always_inline struct tw_counters *counters_for(__u32 ifindex, __u8 hook)
{
	struct tw_counter_key k = {.ifindex = ifindex, .hook = hook};
	struct tw_counters *c = bpf_map_lookup_elem(&counters, &k);
	if (c)
		return c;
	struct tw_counters zero = {};
	bpf_map_update_elem(&counters, &k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&counters, &k);
}

// reserve_output is the alternative capture path (config flag
// TW_CFG_RESERVE): reserve header + a constant size class in the ring and
// load the packet straight into it, saving the copy through the scratch map
// at the price of ring space (a record takes its whole class). Kept so the
// two can be measured against each other (BenchmarkProgram).
static __always_inline long reserve_class(struct __sk_buff *skb, const struct tw_hdr *hdr, __u32 cap,
					  const __u32 class, __u64 wakeup_bytes)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + sizeof(*hdr) + class >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	__u8 *rec = bpf_ringbuf_reserve(&events, sizeof(*hdr) + class, 0);
	if (!rec)
		return -1;
	__builtin_memcpy(rec, hdr, sizeof(*hdr));
	if (cap > 0) {
		__u64 n = cap;
		asm volatile("" : "+r"(n));
		if (n > class)
			n = class;
		asm volatile("" : "+r"(n));
		if (n == 0)
			n = 1;
		if (bpf_skb_load_bytes(skb, 0, rec + sizeof(*hdr), n) < 0)
			((struct tw_hdr *)rec)->cap_len = 0;
	}
	bpf_ringbuf_submit(rec, flags);
	return 0;
}

static __always_inline long reserve_output(struct __sk_buff *skb, const struct tw_hdr *hdr, __u32 cap, __u64 wakeup_bytes)
{
	if (cap <= 128)
		return reserve_class(skb, hdr, cap, 128, wakeup_bytes);
	if (cap <= 512)
		return reserve_class(skb, hdr, cap, 512, wakeup_bytes);
	if (cap <= 2048)
		return reserve_class(skb, hdr, cap, 2048, wakeup_bytes);
	if (cap <= 8192)
		return reserve_class(skb, hdr, cap, 8192, wakeup_bytes);
	return reserve_class(skb, hdr, cap, TW_MAX_CAPTURE, wakeup_bytes);
}

static __always_inline int tw_handle(struct __sk_buff *skb, const __u8 hook)
{
	__u32 zero = 0;
	struct tw_counters dummy = {};
	struct tw_counters *c;
	struct tw_config *cfg;
	struct tw_scratch *s;
	__u16 hflags = 0;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return TC_ACT_UNSPEC;
	c = counters_for(skb->ifindex, hook);
	if (!c)
		c = &dummy; // counters map full: still capture, never go blind
	c->seen++;

	if (already_seen(skb, hook)) {
		c->skipped++;
		return TC_ACT_UNSPEC;
	}

	struct tw_flow f = {};
	__u32 ifindex = skb->ifindex;
	__u32 *zone = bpf_map_lookup_elem(&zones, &ifindex);
	if (zone)
		f.zone = *zone;
	if (parse_flow(skb, &f, &hflags)) {
		struct tw_flow_stats *st;
		if (cfg->mode == TW_MODE_IPS) {
			st = flow_lookup(&block_flows, &f);
			if (!st)
				st = host_blocked(&f);
			if (st) {
				account(st, skb->len);
				c->blocked++;
				return TC_ACT_SHOT;
			}
		}
		st = flow_lookup(&bypass, &f);
		if (st) {
			account(st, skb->len);
			c->bypassed++;
			return TC_ACT_UNSPEC;
		}
	}

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return TC_ACT_UNSPEC;

	__u32 len = skb->len;
	__u32 snap = cfg->snaplen;
	if (snap > TW_MAX_CAPTURE)
		snap = TW_MAX_CAPTURE;
	__u32 cap = len < snap ? len : snap;
	if (cap < len) {
		hflags |= TW_F_TRUNCATED;
		c->too_big++;
	}
	if (skb->gso_segs > 1)
		hflags |= TW_F_GSO;
	if (skb->vlan_present)
		hflags |= TW_F_VLAN_ACCEL;

	struct tw_hdr *h = &s->hdr;
	h->mono_ns = bpf_ktime_get_ns();
	h->tai_ns = bpf_ktime_get_tai_ns();
	h->ifindex = skb->ifindex;
	h->orig_len = len;
	h->cap_len = cap;
	h->flags = hflags;
	h->vlan_tci = skb->vlan_present ? skb->vlan_tci : 0;
	h->protocol = bpf_ntohs(skb->protocol);
	h->hook = hook;
	h->dir = (hook == TW_HOOK_TAP_INGRESS || hook == TW_HOOK_UPLINK_EGRESS) ? TW_DIR_FROM_VM : TW_DIR_TO_VM;
	h->zone = f.zone;

	if (cfg->flags & TW_CFG_RESERVE) {
		if (reserve_output(skb, h, cap, cfg->wakeup_bytes) < 0) {
			c->ring_full++;
			return TC_ACT_UNSPEC;
		}
		c->sent++;
		return TC_ACT_UNSPEC;
	}

	// Restate the bounds on the very register passed to the helper: clang
	// otherwise folds them into one range check on a copy, and the verifier
	// then sees a possibly-zero or too-large size.
	if (cap > 0) {
		__u64 n = cap;
		asm volatile("" : "+r"(n));
		if (n > TW_MAX_CAPTURE)
			n = TW_MAX_CAPTURE;
		asm volatile("" : "+r"(n));
		if (n == 0)
			n = 1;
		if (bpf_skb_load_bytes(skb, 0, s->data, n) < 0)
			h->cap_len = cap = 0;
	}

	__u64 size = sizeof(struct tw_hdr) + (cap & TW_CAPTURE_MASK);
	if (size > sizeof(struct tw_scratch))
		size = sizeof(struct tw_scratch);
	// Batch wake-ups: a wake-up per record costs most of the packet rate;
	// the reader's deadline bounds the latency of records below the mark.
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= cfg->wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, s, size, flags) < 0) {
		c->ring_full++;
		return TC_ACT_UNSPEC;
	}
	c->sent++;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tw_tap_ingress(struct __sk_buff *skb) { return tw_handle(skb, TW_HOOK_TAP_INGRESS); }

SEC("tc")
int tw_tap_egress(struct __sk_buff *skb) { return tw_handle(skb, TW_HOOK_TAP_EGRESS); }

SEC("tc")
int tw_uplink_ingress(struct __sk_buff *skb) { return tw_handle(skb, TW_HOOK_UPLINK_INGRESS); }

SEC("tc")
int tw_uplink_egress(struct __sk_buff *skb) { return tw_handle(skb, TW_HOOK_UPLINK_EGRESS); }
