/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * vtop_floor: the benchmarks' floor module (tools/vm/testmod/vtop_floor.c).
 * Shared by the module and bench/register.c. Test-only: never installed.
 */
#ifndef VTOP_FLOOR_H
#define VTOP_FLOOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VTOP_FLOOR_DEVICE	"/dev/vtop_floor"

/* Extra work PIN does, each a copy of a step of vtop's VTOP_IOC_PIN. */
#define VTOP_FLOOR_WALK		0x01U	/* count segments (struct pages) */
#define VTOP_FLOOR_SEGS		0x02U	/* allocate and build segments */
#define VTOP_FLOOR_COPY		0x04U	/* copy the segments out */
#define VTOP_FLOOR_RUNS		0x08U	/* UNPIN: dirty runs, as vtop */
#define VTOP_FLOOR_TIME		0x10U	/* fill ns[] */
#define VTOP_FLOOR_ALL		0x1fU

/* Stages timed with VTOP_FLOOR_TIME: ns[] of PIN and UNPIN. */
enum {
	VTOP_FLOOR_NS_ALLOC,	/* page array */
	VTOP_FLOOR_NS_GUP,	/* pin_user_pages_fast() batches */
	VTOP_FLOOR_NS_WALK,	/* the counting pass over the struct pages */
	VTOP_FLOOR_NS_SEGS,	/* segment array and the building pass */
	VTOP_FLOOR_NS_COPY,	/* copy_to_user() of the segments */
	VTOP_FLOOR_NS_UNPIN,	/* unpin (UNPIN) */
	VTOP_FLOOR_NS_FREE,	/* kvfree() of the arrays (UNPIN) */
	VTOP_FLOOR_NS_NR = 8,
};

/*
 * struct vtop_floor_pin - pin [vaddr, vaddr + length) writable, long-term;
 * one pin per fd at a time. @segs/@nr_segs: user array of struct
 * vtop_segment-sized (32-byte) entries for VTOP_FLOOR_COPY; @nr_segs is
 * set to the count built (WALK or SEGS).
 */
struct vtop_floor_pin {
	__u64 vaddr;
	__u64 length;
	__u64 segs;
	__u32 nr_segs;
	__u32 flags;
	__u64 ns[VTOP_FLOOR_NS_NR];
};

/* struct vtop_floor_unpin - release the fd's pin. */
struct vtop_floor_unpin {
	__u32 flags;
	__u32 __pad;
	__u64 ns[VTOP_FLOOR_NS_NR];
};

#define VTOP_FLOOR_IOC_PIN	_IOWR(0xBA, 1, struct vtop_floor_pin)
#define VTOP_FLOOR_IOC_UNPIN	_IOWR(0xBA, 2, struct vtop_floor_unpin)

#endif /* VTOP_FLOOR_H */
