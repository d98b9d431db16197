// SPDX-License-Identifier: (MIT OR GPL-2.0)
// Layouts shared with Go (bpf2go generates the Go twins; reader.go decodes
// tw_hdr by offset and its test checks the two agree).
#pragma once

#include <linux/types.h>

#define TW_HOOK_TAP_INGRESS 1
#define TW_HOOK_TAP_EGRESS 2
#define TW_HOOK_UPLINK_INGRESS 3
#define TW_HOOK_UPLINK_EGRESS 4

#define TW_DIR_FROM_VM 1
#define TW_DIR_TO_VM 2

#define TW_MODE_IDS 0
#define TW_MODE_IPS 1

// tw_config.flags
#define TW_CFG_RESERVE 0x1

#define TW_F_TRUNCATED 0x1
#define TW_F_GSO 0x2
#define TW_F_VLAN_ACCEL 0x4
#define TW_F_FLOW 0x8
#define TW_F_FRAGMENT 0x10

// A per-CPU map value may not exceed 32 KiB; header + capture must fit.
#define TW_MAX_CAPTURE (32768 - 64)
#define TW_CAPTURE_MASK 0xffff

struct tw_config {
	__u32 snaplen;
	__u32 mode;
	__u32 wakeup_bytes;
	__u32 flags;
};

struct tw_hdr {
	__u64 mono_ns;
	__u64 tai_ns;
	__u32 ifindex;
	__u32 orig_len;
	__u32 cap_len;
	__u16 flags;
	__u16 vlan_tci;
	__u16 protocol;
	__u8 hook;
	__u8 dir;
	__u32 zone;
};

struct tw_scratch {
	struct tw_hdr hdr;
	__u8 data[TW_MAX_CAPTURE];
};

struct tw_counter_key {
	__u32 ifindex;
	__u32 hook;
};

struct tw_counters {
	__u64 seen;
	__u64 sent;
	__u64 skipped;
	__u64 bypassed;
	__u64 blocked;
	__u64 ring_full;
	__u64 too_big;
};

struct tw_flow {
	__u32 zone;
	__u16 vlan;
	__u8 proto;
	__u8 family;
	__u16 sport;
	__u16 dport;
	__u8 src[16];
	__u8 dst[16];
};

struct tw_flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct tw_host {
	__u32 zone;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct tw_mac {
	__u8 addr[6];
	__u16 pad;
};
