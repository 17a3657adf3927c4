/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vtop: internal declarations shared by the module's source files.
 */
#ifndef _VTOP_INTERNAL_H
#define _VTOP_INTERNAL_H

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/dma-direction.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <uapi/linux/vtop.h>

struct file;
struct pci_dev;

/* Module parameters (vtop_main.c, vtop_events.c), read with READ_ONCE(). */
extern unsigned int vtop_max_pins_per_fd;
extern unsigned long vtop_max_pin_bytes_per_fd;
extern bool vtop_attach_any_driver;
extern unsigned int vtop_max_queued_events;

/*
 * VTOP_PIN_MAX_PAGES (uapi): a pin keeps a page pointer per page and, at
 * worst, a segment per page; each array must stay within kvmalloc()'s
 * INT_MAX bytes.
 */
static_assert(VTOP_PIN_MAX_PAGES *
	      (sizeof(struct page *) + sizeof(struct vtop_segment)) <= INT_MAX);

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
 * @ev_lock:		guards the event state below and vtop_region.live,
 *			.ev_reason, .ev_seq, .ev_node, .inv_node; the only lock
 *			the invalidation callback takes (vtop_events.c)
 * @ev_queue:		regions with a record queued for read(), oldest first
 *			(vtop_region.ev_node)
 * @inv_list:		live invalidated regions (vtop_region.inv_node)
 * @nr_queued:		entries in @ev_queue
 * @nr_invalidated:	entries in @inv_list
 * @invalidated_bytes:	bytes of the regions in @inv_list
 * @seq:		invalidations so far (vtop_event_page.seq)
 * @overflows:		invalidations that found the queue full
 * @overflows_reported:	@overflows when the last overflow record was read;
 *			an overflow record is pending while they differ
 * @overflow_seq:	@seq of the last invalidation that overflowed
 * @revoke_pending:	the fd's own VTOP_EVENT_REVOKED record (handle 0)
 *			is still to be read
 * @revoke_seq:		@seq of that record
 * @read_lock:		serialises read(); never taken by the callback
 * @wq:			readers and pollers wait here for a record
 * @ev_page:		the page mmap() maps (struct vtop_event_page)
 * @attach_node:	on the list of attached fds while @pdev is set
 *			(vtop_dma.c, under its vtop_attach_lock)
 * @dma_rwsem:		held for read while a mapping is made or undone, for
 *			write while the device's mappings are revoked
 * @dma_lock:		guards @mapped and @nr_mapped
 * @mapped:		regions mapped for @pdev (vtop_region.dma_node)
 * @nr_mapped:		entries in @mapped: DETACH waits for 0, so that no
 *			unmap runs after the device reference is dropped
 * @revoked:		the device was unbound or removed: its mappings are
 *			gone and PIN fails with -ENODEV. Set by the bus
 *			notifier under vtop_attach_lock and @dma_rwsem held
 *			for write; cleared by ATTACH and DETACH under
 *			vtop_attach_lock and @lock, while the fd has no
 *			mapping and no PIN in flight. Read under @dma_rwsem
 *			(PIN), vtop_attach_lock (the notifier, release) or
 *			@lock (INFO)
 * @mask_saved:		ATTACH widened the DMA mask; @saved_mask and
 *			@saved_coherent_mask are restored when the last fd
 *			attached to the device lets it go (vtop_attach_lock)
 * @saved_mask:		the device's DMA mask before ATTACH
 * @saved_coherent_mask: its coherent DMA mask before ATTACH
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

	spinlock_t ev_lock;	/* guards the event state, see above */
	struct list_head ev_queue;
	struct list_head inv_list;
	u32 nr_queued;
	u32 nr_invalidated;
	u64 invalidated_bytes;
	u64 seq;
	u64 overflows;
	u64 overflows_reported;
	u64 overflow_seq;
	bool revoke_pending;
	u64 revoke_seq;
	struct mutex read_lock;	/* serialises readers */
	wait_queue_head_t wq;
	struct page *ev_page;

	struct list_head attach_node;
	struct rw_semaphore dma_rwsem;
	spinlock_t dma_lock;	/* guards @mapped and @nr_mapped */
	struct list_head mapped;
	u32 nr_mapped;
	bool revoked;
	bool mask_saved;
	u64 saved_mask;
	u64 saved_coherent_mask;
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
 * @live:	committed: found by handle (false while being made and once
 *		UNPIN took it); written under both vf->lock and vf->ev_lock
 * @vf:		the file the pin belongs to
 * @notifier:	watches [@vaddr, @vaddr + @length) of vf->mm from before the
 *		pages are pinned until UNPIN or release (vtop_events.c)
 * @gen:	events that changed the pages of the range (a reason other
 *		than 0) since the notifier was inserted; PIN pins again only
 *		when it moved (under ev_lock)
 * @ev_reason:	VTOP_EVENT_* once invalidated, 0 before (under ev_lock)
 * @ev_seq:	vf->seq of its invalidation (under ev_lock)
 * @ev_node:	in vf->ev_queue while its record is queued
 * @inv_node:	in vf->inv_list while live and invalidated
 * @dma_node:	in vf->mapped while @sgt is mapped for @dev
 * @dma_mapped:	@sgt is mapped (under vf->dma_lock and vf->dma_rwsem)
 */
struct vtop_region {
	u64 vaddr;
	u64 length;
	unsigned long npages;
	struct page **pages;
	struct vtop_segment *segs;	/* &seg when there is one */
	struct vtop_segment seg;
	u32 nr_segs;
	bool writable;
	struct device *dev;
	struct sg_table sgt;
	struct rb_node node;
	u32 index;
	bool live;
	struct vtop_file *vf;
	struct mmu_interval_notifier notifier;
	unsigned long gen;
	u32 ev_reason;
	u64 ev_seq;
	struct list_head ev_node;
	struct list_head inv_node;
	struct list_head dma_node;
	bool dma_mapped;
};

/* The handle of the pin at @index of @vf: never 0, unique per fd. */
static inline u64 vtop_handle(const struct vtop_file *vf, u32 index)
{
	return (u64)vf->id << 32 | index;
}

/* vtop_pin.c */
int vtop_pin_batch(unsigned long start, int nr_pages, unsigned int gup_flags,
		   struct page **pages);
long vtop_ioctl_pin(struct vtop_file *vf, void __user *uarg);
long vtop_ioctl_unpin(struct vtop_file *vf, void __user *uarg);
long vtop_ioctl_get_segs(struct vtop_file *vf, void __user *uarg);
void vtop_release_all(struct vtop_file *vf);

/* vtop_events.c */
int vtop_events_open(struct vtop_file *vf);
void vtop_events_release(struct vtop_file *vf);
void vtop_region_events_init(struct vtop_file *vf, struct vtop_region *reg);
int vtop_region_watch(struct vtop_region *reg);
void vtop_region_unwatch(struct vtop_region *reg);
unsigned long vtop_region_read_begin(struct vtop_region *reg,
				     unsigned long *gen);
bool vtop_region_read_retry(struct vtop_region *reg, unsigned long seq,
			    unsigned long gen);
void vtop_region_go_live(struct vtop_region *reg);
void vtop_region_forget(struct vtop_region *reg);
void vtop_region_revoked(struct vtop_region *reg);
void vtop_events_fd_revoked(struct vtop_file *vf);
void vtop_events_info(struct vtop_file *vf, struct vtop_info *info);
long vtop_ioctl_get_invalidated(struct vtop_file *vf, void __user *uarg);
ssize_t vtop_read(struct file *file, char __user *buf, size_t count,
		  loff_t *ppos);
__poll_t vtop_poll(struct file *file, struct poll_table_struct *wait);
int vtop_mmap(struct file *file, struct vm_area_struct *vma);

/* vtop_dma.c */
int vtop_dma_map(struct vtop_region *reg);
void vtop_dma_unmap(struct vtop_region *reg);
int vtop_dma_precheck(struct vtop_file *vf);
bool vtop_dma_still_mapped(struct vtop_region *reg);
void vtop_dma_release_quiesce(struct vtop_file *vf);
long vtop_ioctl_attach(struct vtop_file *vf, void __user *uarg);
long vtop_ioctl_detach(struct vtop_file *vf, void __user *uarg);
void vtop_detach_release(struct vtop_file *vf);
void vtop_dma_open(struct vtop_file *vf);
int vtop_dma_init(void);
void vtop_dma_exit(void);

/* vtop_main.c: copy in an argument struct under the size/flags rule. */
int vtop_copy_args(void *karg, size_t ksize, const void __user *uarg);
bool vtop_is_vtop_file(const struct file *file);

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
	atomic64_t events_total;
	atomic64_t overflows_total;
	atomic64_t invalidated_pins;
	atomic64_t invalidated_bytes;
};

extern struct vtop_stats vtop_stats;

void vtop_stats_fail(enum vtop_fail cause);
void vtop_stats_fail_errno(long err);
void vtop_stats_init(void);
void vtop_stats_exit(void);

#endif /* _VTOP_INTERNAL_H */
