// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: invalidation events. Every pin watches its virtual range; when the
 * mapping of any part of it is torn down or replaced, the pin is marked
 * invalidated (once) and a record is queued for read(2); poll(2) announces
 * it and a read-only page mapped from the fd counts the invalidations.
 *
 * One mmu_interval_notifier per pin, embedded in struct vtop_region:
 *  - the kernel's own interval tree (per mm) finds the pins an invalidation
 *    touches, so vtop keeps no tree of its own and no mm-wide notifier per
 *    fd, and an invalidation of memory outside every pin costs one tree
 *    lookup that finds nothing;
 *  - mmu_interval_notifier_remove() waits for the callbacks running on the
 *    pin, so once it returns the region can be freed;
 *  - the API is the same on 6.1 and 6.12, exported to GPL modules.
 * The notifier is inserted before the pages are pinned, so that nothing
 * between the pinning and the commit of the pin goes unseen (vtop_pin.c).
 *
 * Locking. The callback runs inside invalidate_range_start, with mmap_lock
 * and/or the rmap locks held, possibly from the OOM reaper (not
 * blockable). It takes vf->ev_lock, a spinlock, and nothing else: never
 * vf->lock, which is held across GUP and user copies (a fault there would
 * re-enter the callback), never a sleeping lock, and it allocates nothing:
 * the record lives in the region (ev_node), so the queue is bounded by the
 * pin count, and further by max_queued_events. Nothing is copied to or
 * from user memory under ev_lock. Order: vf->lock, then ev_lock;
 * vf->read_lock, then ev_lock. mmu_interval_notifier_remove() is called
 * with no lock held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vtop.h"

unsigned int vtop_max_queued_events = 1024;
module_param_named(max_queued_events, vtop_max_queued_events, uint, 0644);
MODULE_PARM_DESC(max_queued_events,
		 "Event records queued per open file (default 1024); beyond it an invalidation is reported by one overflow record and VTOP_IOC_GET_INVALIDATED");

/*
 * The record reason for a notifier event, or 0 for one that leaves the same
 * pages mapped at the same addresses:
 *  - UNMAP (munmap, mremap away, the OOM reaper) and RELEASE (the end of
 *    the address space): the range maps nothing any more;
 *  - CLEAR: the page table entries are cleared (madvise, truncation and
 *    hole punching, COW, KSM, khugepaged, a THP split, migration);
 *  - PROTECTION_VMA (mprotect, NUMA hinting), PROTECTION_PAGE (the write
 *    protection fork() gives to the pages it shares with the child: a page
 *    that may be pinned is copied for the child instead, the parent keeps
 *    it), SOFT_DIRTY and EXCLUSIVE (device-exclusive access, the CPU gets
 *    the same page back on its next fault): nothing changes for a pin;
 *  - anything else (MIGRATE of migrate_vma, later additions): OTHER.
 */
static u32 vtop_event_reason(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
	case MMU_NOTIFY_RELEASE:
		return VTOP_EVENT_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return VTOP_EVENT_CLEAR;
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
	case MMU_NOTIFY_EXCLUSIVE:
		return 0;
	default:
		return VTOP_EVENT_OTHER;
	}
}

static struct vtop_event_page *vtop_ev_page(const struct vtop_file *vf)
{
	return page_address(vf->ev_page);
}

/*
 * Report the invalidation of @reg, live and marked: count it, put it on the
 * invalidated list, queue its record or count an overflow, and publish the
 * new seq last, with release semantics, so that a reader who sees it finds
 * the mark and the record. The caller wakes the readers.
 */
static void vtop_post(struct vtop_file *vf, struct vtop_region *reg)
{
	struct vtop_event_page *page = vtop_ev_page(vf);

	lockdep_assert_held(&vf->ev_lock);

	reg->ev_seq = ++vf->seq;
	list_add_tail(&reg->inv_node, &vf->inv_list);
	vf->nr_invalidated++;
	vf->invalidated_bytes += reg->length;
	atomic64_inc(&vtop_stats.events_total);
	atomic64_inc(&vtop_stats.invalidated_pins);
	atomic64_add(reg->length, &vtop_stats.invalidated_bytes);

	if (vf->nr_queued < READ_ONCE(vtop_max_queued_events)) {
		list_add_tail(&reg->ev_node, &vf->ev_queue);
		vf->nr_queued++;
	} else {
		vf->overflows++;
		vf->overflow_seq = vf->seq;
		WRITE_ONCE(page->overflows, vf->overflows);
		atomic64_inc(&vtop_stats.overflows_total);
	}
	/* Pairs with the reader's load-acquire of vtop_event_page.seq. */
	smp_store_release(&page->seq, vf->seq);
}

static void vtop_wake_readers(struct vtop_file *vf)
{
	wake_up_interruptible_poll(&vf->wq, EPOLLIN | EPOLLRDNORM);
}

/*
 * Record the first invalidation of @reg with @reason, and queue its event
 * if the pin is live (a pin not yet live is only marked). Under
 * vf->ev_lock. Returns whether an event was queued (wake the readers).
 */
static bool vtop_mark_invalidated(struct vtop_file *vf,
				  struct vtop_region *reg, u32 reason)
{
	if (reg->ev_reason)
		return false;
	reg->ev_reason = reason;
	if (!reg->live)
		return false;
	vtop_post(vf, reg);
	return true;
}

/*
 * The invalidate callback. It never sleeps, so it does the same whether or
 * not mmu_notifier_range_blockable(range) holds, and always returns true.
 * mmu_interval_set_seq() is called under ev_lock, the lock PIN holds for
 * mmu_interval_read_retry(), for every event, ignored ones included (the
 * notifier core expects it); an event that changes the pages (reason != 0)
 * also bumps the region's generation, and only that makes PIN pin again:
 * an mprotect() during GUP costs PIN nothing.
 * A pin not yet committed is only marked; vtop_region_go_live() reports it.
 */
static bool vtop_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	struct vtop_region *reg = container_of(mni, struct vtop_region,
					       notifier);
	struct vtop_file *vf = reg->vf;
	u32 reason = vtop_event_reason(range->event);
	bool posted = false;

	spin_lock(&vf->ev_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (reason) {
		reg->gen++;
		posted = vtop_mark_invalidated(vf, reg, reason);
	}
	spin_unlock(&vf->ev_lock);

	if (posted)
		vtop_wake_readers(vf);
	return true;
}

static const struct mmu_interval_notifier_ops vtop_mn_ops = {
	.invalidate = vtop_invalidate,
};

/* Set up the event state of a new region of @vf, before it is watched. */
void vtop_region_events_init(struct vtop_file *vf, struct vtop_region *reg)
{
	reg->vf = vf;
	reg->ev_reason = 0;
	INIT_LIST_HEAD(&reg->ev_node);
	INIT_LIST_HEAD(&reg->inv_node);
}

/*
 * Start watching the range of @reg in vf->mm. Called by PIN, in the
 * owner's context (mm_users > 0, as the insert requires), with no lock
 * held: the first insert on an mm registers the mm's notifier
 * subscriptions (mm_take_all_locks()).
 *
 * Return: 0, or a negative errno (-ENOMEM, -EINTR) with nothing watched.
 */
int vtop_region_watch(struct vtop_region *reg)
{
	return mmu_interval_notifier_insert(&reg->notifier, reg->vf->mm,
					    reg->vaddr, reg->length,
					    &vtop_mn_ops);
}

/*
 * Stop watching: waits for a callback running on @reg to return. May sleep;
 * called with no lock held, after the region is no longer live (or never
 * was), so a last callback only marks it.
 */
void vtop_region_unwatch(struct vtop_region *reg)
{
	mmu_interval_notifier_remove(&reg->notifier);
}

/*
 * PIN brackets GUP with these: an invalidation between read_begin and
 * read_retry (maybe caused by GUP itself: breaking COW, migrating the page
 * out of a movable zone) means the pages may be stale; PIN then drops them
 * and pins again. read_begin waits for an invalidation of the range in
 * progress to finish. *@gen gets the region's generation, taken before the
 * notifier's seq: an invalidation whose callback runs after this bumps it.
 */
unsigned long vtop_region_read_begin(struct vtop_region *reg,
				     unsigned long *gen)
{
	struct vtop_file *vf = reg->vf;

	spin_lock(&vf->ev_lock);
	*gen = reg->gen;
	spin_unlock(&vf->ev_lock);
	return mmu_interval_read_begin(&reg->notifier);
}

/*
 * True when the pages pinned since vtop_region_read_begin() returned @seq
 * and @gen may be stale: the notifier saw an event since (read_retry) and
 * one of the events changed the pages (the generation moved). Events that
 * change no page (mprotect(), NUMA hinting, soft-dirty clearing) move only
 * the seq. On false, the pages are those mapped now: an earlier mark (an
 * invalidation that ended before read_begin) is cleared, and from here on
 * every invalidation marks the pin for good.
 */
bool vtop_region_read_retry(struct vtop_region *reg, unsigned long seq,
			    unsigned long gen)
{
	struct vtop_file *vf = reg->vf;
	bool retry;

	spin_lock(&vf->ev_lock);
	retry = mmu_interval_read_retry(&reg->notifier, seq) &&
		reg->gen != gen;
	if (!retry)
		reg->ev_reason = 0;
	spin_unlock(&vf->ev_lock);
	return retry;
}

/*
 * Commit: make @reg live (found by handle, reported when invalidated). An
 * invalidation that marked it since its pages were pinned is reported now.
 * Called with vf->lock held.
 */
void vtop_region_go_live(struct vtop_region *reg)
{
	struct vtop_file *vf = reg->vf;
	bool posted = false;

	lockdep_assert_held(&vf->lock);

	spin_lock(&vf->ev_lock);
	reg->live = true;
	if (reg->ev_reason) {
		vtop_post(vf, reg);
		posted = true;
	}
	spin_unlock(&vf->ev_lock);

	if (posted)
		vtop_wake_readers(vf);
}

/*
 * UNPIN or release took @reg: it is no longer live; its queued record (if
 * any) is removed and it leaves the invalidated list. A callback until
 * vtop_region_unwatch() only marks it. Called with vf->lock held.
 */
void vtop_region_forget(struct vtop_region *reg)
{
	struct vtop_file *vf = reg->vf;

	spin_lock(&vf->ev_lock);
	reg->live = false;
	if (!list_empty(&reg->ev_node)) {
		list_del_init(&reg->ev_node);
		vf->nr_queued--;
	}
	if (!list_empty(&reg->inv_node)) {
		list_del_init(&reg->inv_node);
		vf->nr_invalidated--;
		vf->invalidated_bytes -= reg->length;
		atomic64_dec(&vtop_stats.invalidated_pins);
		atomic64_sub(reg->length, &vtop_stats.invalidated_bytes);
	}
	spin_unlock(&vf->ev_lock);
}

/*
 * The device @reg was mapped for is going away and the mapping was
 * revoked: report it as an invalidation with VTOP_EVENT_REVOKED, unless it
 * was invalidated already (a pin not yet live is only marked; one UNPIN
 * took is not reported). Any context.
 */
void vtop_region_revoked(struct vtop_region *reg)
{
	struct vtop_file *vf = reg->vf;
	bool posted;

	spin_lock(&vf->ev_lock);
	posted = vtop_mark_invalidated(vf, reg, VTOP_EVENT_REVOKED);
	spin_unlock(&vf->ev_lock);

	if (posted)
		vtop_wake_readers(vf);
}

/*
 * The attached fd @vf was revoked (vtop_dma.c): queue its own
 * VTOP_EVENT_REVOKED record, handle 0, once per revocation, whether or not
 * it has pins and whether or not they were invalidated before (those get
 * no record of their own). It bumps the seq like an invalidation, so that
 * a reader of the event page sees it; it is no pin's invalidation, so the
 * pin counters (and GET_INVALIDATED) do not change.
 */
void vtop_events_fd_revoked(struct vtop_file *vf)
{
	struct vtop_event_page *page = vtop_ev_page(vf);

	spin_lock(&vf->ev_lock);
	vf->revoke_pending = true;
	vf->revoke_seq = ++vf->seq;
	/* Pairs with the reader's load-acquire of vtop_event_page.seq. */
	smp_store_release(&page->seq, vf->seq);
	spin_unlock(&vf->ev_lock);
	vtop_wake_readers(vf);
}

/* The event state of a new file: 0, or -ENOMEM. */
int vtop_events_open(struct vtop_file *vf)
{
	struct vtop_event_page *page;

	spin_lock_init(&vf->ev_lock);
	INIT_LIST_HEAD(&vf->ev_queue);
	INIT_LIST_HEAD(&vf->inv_list);
	mutex_init(&vf->read_lock);
	init_waitqueue_head(&vf->wq);

	/* A page of its own: mmap() maps it into user space. */
	vf->ev_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vf->ev_page) {
		mutex_destroy(&vf->read_lock);
		return -ENOMEM;
	}
	page = vtop_ev_page(vf);
	page->size = sizeof(*page);
	page->version = 1;
	return 0;
}

/*
 * Called at release, after every region was forgotten and unwatched. A
 * mapping of the event page holds a reference to the file, so release
 * comes after the last one is gone and nothing maps the page any more.
 */
void vtop_events_release(struct vtop_file *vf)
{
	WARN_ON_ONCE(!list_empty(&vf->ev_queue) ||
		     !list_empty(&vf->inv_list));
	__free_page(vf->ev_page);
	mutex_destroy(&vf->read_lock);
}

/* The event counters of INFO. */
void vtop_events_info(struct vtop_file *vf, struct vtop_info *info)
{
	spin_lock(&vf->ev_lock);
	info->nr_invalidated = vf->nr_invalidated;
	info->nr_queued_events = vf->nr_queued;
	info->invalidated_bytes = vf->invalidated_bytes;
	spin_unlock(&vf->ev_lock);
}

static bool vtop_overflow_pending(const struct vtop_file *vf)
{
	return vf->overflows != vf->overflows_reported;
}

static bool vtop_ev_ready(struct vtop_file *vf)
{
	bool ready;

	spin_lock(&vf->ev_lock);
	ready = vf->nr_queued || vtop_overflow_pending(vf) ||
		vf->revoke_pending;
	spin_unlock(&vf->ev_lock);
	return ready;
}

long vtop_ioctl_get_invalidated(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_get_invalidated arg;
	struct vtop_region *reg;
	u64 *handles = NULL;
	u32 n, room = 0, needed;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.__reserved)
		return -EINVAL;

	/*
	 * The list is taken in one go under ev_lock, with the seq it goes
	 * with; the array for it is allocated before, outside the lock, for
	 * as many handles as there are now. Invalidations may add more
	 * meanwhile: then allocate again. When the caller's array is too
	 * small the answer is -ENOBUFS and the count: nothing is allocated.
	 */
	for (;;) {
		spin_lock(&vf->ev_lock);
		needed = vf->nr_invalidated;
		if (needed <= room || needed > arg.nr_handles)
			break;
		spin_unlock(&vf->ev_lock);

		kvfree(handles);
		room = needed;
		handles = kvmalloc_array(room, sizeof(*handles),
					 GFP_KERNEL | __GFP_NOWARN);
		if (!handles)
			return -ENOMEM;
	}
	n = 0;
	if (needed <= arg.nr_handles) {
		list_for_each_entry(reg, &vf->inv_list, inv_node)
			handles[n++] = vtop_handle(vf, reg->index);
	}
	arg.seq = vf->seq;
	spin_unlock(&vf->ev_lock);

	if (needed > arg.nr_handles) {
		ret = -ENOBUFS;
	} else if (n && copy_to_user(u64_to_user_ptr(arg.handles), handles,
				     (size_t)n * sizeof(*handles))) {
		ret = -EFAULT;
		goto out;
	}
	arg.nr_handles = needed;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
out:
	kvfree(handles);
	return ret;
}

static void vtop_fill_event(struct vtop_event *ev, const struct vtop_file *vf,
			    const struct vtop_region *reg)
{
	memset(ev, 0, sizeof(*ev));
	ev->size = sizeof(*ev);
	ev->reason = reg->ev_reason;
	ev->handle = vtop_handle(vf, reg->index);
	ev->vaddr = reg->vaddr;
	ev->length = reg->length;
	ev->seq = reg->ev_seq;
}

/*
 * Copy up to @max records to @buf: the queued ones, oldest first, then the
 * fd's revocation record and then the overflow record, each when pending
 * and every record before it fits.
 * Called with vf->read_lock held, so no other reader dequeues meanwhile;
 * UNPIN may still remove a queued record, and the callback add some.
 *
 * Records are copied to a kernel buffer under ev_lock, to user memory
 * after it is dropped (a fault there may run the callback), and dequeued
 * only then: a failed copy consumes nothing. The queue is in seq order, so
 * what was copied is what is at its head up to the last copied seq, less
 * whatever UNPIN removed meanwhile.
 *
 * Return: bytes copied, 0 when nothing is ready, or -EFAULT / -ENOMEM.
 */
static ssize_t vtop_read_some(struct vtop_file *vf, char __user *buf,
			      size_t max)
{
	struct vtop_event *evs;
	struct vtop_region *reg, *tmp;
	u64 last_seq = 0, ovf = 0, rev_seq = 0;
	bool took_ovf = false, took_rev = false;
	size_t n, i = 0, nq;

	spin_lock(&vf->ev_lock);
	n = vf->nr_queued + vtop_overflow_pending(vf) + vf->revoke_pending;
	spin_unlock(&vf->ev_lock);
	n = min(n, max);
	if (!n)
		return 0;

	evs = kvmalloc_array(n, sizeof(*evs), GFP_KERNEL | __GFP_NOWARN);
	if (!evs)
		return -ENOMEM;

	spin_lock(&vf->ev_lock);
	list_for_each_entry(reg, &vf->ev_queue, ev_node) {
		if (i == n)
			break;
		vtop_fill_event(&evs[i++], vf, reg);
	}
	nq = i;
	if (nq)
		last_seq = evs[nq - 1].seq;
	if (i < n && nq == vf->nr_queued && vf->revoke_pending) {
		rev_seq = vf->revoke_seq;
		memset(&evs[i], 0, sizeof(evs[i]));
		evs[i].size = sizeof(evs[i]);
		evs[i].reason = VTOP_EVENT_REVOKED;
		evs[i].seq = rev_seq;
		i++;
		took_rev = true;
	}
	if (i < n && nq == vf->nr_queued &&
	    (took_rev || !vf->revoke_pending) && vtop_overflow_pending(vf)) {
		ovf = vf->overflows;
		memset(&evs[i], 0, sizeof(evs[i]));
		evs[i].size = sizeof(evs[i]);
		evs[i].reason = VTOP_EVENT_OVERFLOW;
		evs[i].seq = vf->overflow_seq;
		i++;
		took_ovf = true;
	}
	spin_unlock(&vf->ev_lock);

	if (i && copy_to_user(buf, evs, i * sizeof(*evs))) {
		kvfree(evs);
		return -EFAULT;
	}
	kvfree(evs);

	spin_lock(&vf->ev_lock);
	if (nq) {
		list_for_each_entry_safe(reg, tmp, &vf->ev_queue, ev_node) {
			if (reg->ev_seq > last_seq)
				break;
			list_del_init(&reg->ev_node);
			vf->nr_queued--;
		}
	}
	/* A revocation since the copy stays pending for the next read. */
	if (took_rev && vf->revoke_seq == rev_seq)
		vf->revoke_pending = false;
	/* An overflow since the copy stays pending for the next read. */
	if (took_ovf)
		vf->overflows_reported = ovf;
	spin_unlock(&vf->ev_lock);

	return i * sizeof(*evs);
}

ssize_t vtop_read(struct file *file, char __user *buf, size_t count,
		  loff_t *ppos)
{
	struct vtop_file *vf = file->private_data;
	size_t max = count / sizeof(struct vtop_event);
	ssize_t ret;

	/* An fd serves the address space that opened it, and no other. */
	if (current->mm != vf->mm) {
		vtop_stats_fail(VTOP_FAIL_EACCES);
		return -EACCES;
	}
	if (!max)
		return -EINVAL;

	for (;;) {
		/*
		 * read_lock is held across the copy to user memory, which
		 * may fault for long: an O_NONBLOCK reader never waits for
		 * another one.
		 */
		if (file->f_flags & O_NONBLOCK) {
			if (!mutex_trylock(&vf->read_lock))
				return -EAGAIN;
		} else if (mutex_lock_interruptible(&vf->read_lock)) {
			return -ERESTARTSYS;
		}
		ret = vtop_read_some(vf, buf, max);
		mutex_unlock(&vf->read_lock);
		if (ret)
			return ret;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		/* Waits without read_lock: another reader may take the
		 * record first, then this one waits again.
		 */
		ret = wait_event_interruptible(vf->wq, vtop_ev_ready(vf));
		if (ret)
			return ret;
	}
}

__poll_t vtop_poll(struct file *file, struct poll_table_struct *wait)
{
	struct vtop_file *vf = file->private_data;

	/* Nothing to read for another address space: say so. */
	if (current->mm != vf->mm)
		return EPOLLERR;
	poll_wait(file, &vf->wq, wait);
	return vtop_ev_ready(vf) ? EPOLLIN | EPOLLRDNORM : 0;
}

#ifdef VTOP_NEED_VM_FLAGS_MOD
/* Before 6.3 the flags of a VMA being mapped are written directly. */
static void vm_flags_mod(struct vm_area_struct *vma, unsigned long set,
			 unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

int vtop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vtop_file *vf = file->private_data;

	if (current->mm != vf->mm) {
		vtop_stats_fail(VTOP_FAIL_EACCES);
		return -EACCES;
	}
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EPERM;
	/* Never writable or executable (mprotect), not dumped. */
	vm_flags_mod(vma, VM_DONTDUMP, VM_MAYWRITE | VM_MAYEXEC);
	/*
	 * Mapped by pfn: the mapping is VM_IO | VM_PFNMAP | VM_DONTEXPAND
	 * (never grown by mremap), so GUP refuses it (a PIN of it fails with
	 * -EFAULT, vmsplice() takes no reference to it) and the page is no
	 * page cache page anyone else may hold. A fork()ed child's copy of
	 * the mapping maps the same page, read-only. The mapping holds a
	 * reference to the file, so the page outlives it.
	 */
	return remap_pfn_range(vma, vma->vm_start, page_to_pfn(vf->ev_page),
			       PAGE_SIZE, vma->vm_page_prot);
}
