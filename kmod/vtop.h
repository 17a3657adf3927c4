/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vtop: internal declarations shared by the module's source files.
 */
#ifndef _VTOP_INTERNAL_H
#define _VTOP_INTERNAL_H

#include <linux/atomic.h>
#include <linux/mm_types.h>
#include <linux/dma-direction.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

#include <uapi/linux/vtop.h>

struct pci_dev;

/* Module parameters (vtop_main.c), read with READ_ONCE(). */
extern unsigned int max_pins_per_fd;
extern unsigned long max_pin_bytes_per_fd;
extern bool attach_any_driver;

/**
 * struct vtop_file - state of one open file description of /dev/vtop
 * @mm:			address space of the opener (mmgrab()ed); the only
 *			one served, charged and uncharged
 * @id:			global file id, the upper 32 bits of every handle
 * @lock:		serialises changes to @pins, the counters and @pdev
 * @pins:		the pins by handle index (struct vtop_region.node),
 *			live and in flight; an index whose pin is still being
 *			made is reserved but not found by handle
 * @next_index:		where the search for the next free index starts
 * @nr_pins:		live pins
 * @pinned_bytes:	bytes of the live pins
 * @nr_inflight:	PIN calls past the limit check and not yet done
 * @inflight_bytes:	bytes of those calls
 * @pdev:		attached PCI device (a reference), or NULL; changes only
 *			while the fd has no pins, live or in flight
 */
struct vtop_file {
	struct mm_struct *mm;
	u32 id;
	struct mutex lock;	/* guards @pins, the counters and @pdev */
	struct rb_root pins;
	u32 next_index;
	u32 nr_pins;
	u64 pinned_bytes;
	u32 nr_inflight;
	u64 inflight_bytes;
	struct pci_dev *pdev;
};

/**
 * struct vtop_region - one pin
 * @vaddr:	user address of the first byte
 * @length:	bytes
 * @npages:	pages pinned, length >> PAGE_SHIFT
 * @pages:	the pinned pages (kvmalloc)
 * @segs:	the segments reported to user space (kvmalloc)
 * @nr_segs:	entries in @segs
 * @writable:	pinned with FOLL_WRITE; pages are dirtied on unpin
 * @dev:	device the pages are DMA-mapped for (the fd's attached
 *		device when the pin was made), or NULL in physical mode
 * @sgt:	the DMA mapping for @dev
 * @node:	in &vtop_file.pins, keyed by @index
 * @index:	handle index (the lower 32 bits of the handle)
 * @live:	committed: found by handle (false while being made)
 */
struct vtop_region {
	u64 vaddr;
	u64 length;
	unsigned long npages;
	struct page **pages;
	struct vtop_segment *segs;
	u32 nr_segs;
	bool writable;
	struct device *dev;
	struct sg_table sgt;
	struct rb_node node;
	u32 index;
	bool live;
};

/* vtop_pin.c */
int vtop_pin_batch(unsigned long start, int nr_pages, unsigned int gup_flags,
		   struct page **pages);
long vtop_ioctl_pin(struct vtop_file *vf, void __user *uarg);
long vtop_ioctl_unpin(struct vtop_file *vf, void __user *uarg);
long vtop_ioctl_get_segs(struct vtop_file *vf, void __user *uarg);
void vtop_release_all(struct vtop_file *vf);

/* vtop_dma.c */
int vtop_dma_map(struct vtop_region *reg);
void vtop_dma_unmap(struct vtop_region *reg);
long vtop_ioctl_attach(struct vtop_file *vf, void __user *uarg);
long vtop_ioctl_detach(struct vtop_file *vf, void __user *uarg);
void vtop_detach_release(struct vtop_file *vf);

/* vtop_main.c: copy in an argument struct under the size/flags rule. */
int vtop_copy_args(void *karg, size_t ksize, const void __user *uarg);

/* vtop_stats.c */
enum vtop_fail {
	VTOP_FAIL_EINVAL,
	VTOP_FAIL_EFAULT,
	VTOP_FAIL_ENOMEM_RLIMIT,
	VTOP_FAIL_ENOMEM_LIMIT,
	VTOP_FAIL_ENOSPC,
	VTOP_FAIL_ENOBUFS,
	VTOP_FAIL_EACCES,
	VTOP_FAIL_EPERM,
	VTOP_FAIL_OTHER,
	VTOP_FAIL_NR,
};

struct vtop_stats {
	atomic64_t live_pins;
	atomic64_t pinned_bytes;
	atomic64_t pins_total;
	atomic64_t unpins_total;
	atomic64_t fail[VTOP_FAIL_NR];
};

extern struct vtop_stats vtop_stats;

void vtop_stats_fail(enum vtop_fail cause);
void vtop_stats_fail_errno(long err);
void vtop_stats_init(void);
void vtop_stats_exit(void);

#endif /* _VTOP_INTERNAL_H */
