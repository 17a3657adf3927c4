// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: PIN, UNPIN and GET_SEGS, the per-fd limits and pinned_vm accounting.
 *
 * Locking: vf->lock guards the handle table and the per-fd counters only. It
 * is never held across pin_user_pages_fast() or a copy to or from user
 * memory, so it never nests with mmap_lock in either order. vf->ev_lock
 * (vtop_events.c) nests inside it.
 *
 * Every pin is watched by an mmu_interval_notifier from before its pages
 * are pinned until it is unpinned (vtop_events.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/backing-dev.h>
#include <linux/capability.h>
#include <linux/error-injection.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mmap_lock.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/rbtree.h>

#include "vtop.h"

/*
 * Segments the counting pass keeps: a pin with no more needs no second
 * pass over its pages (256 bytes of stack).
 */
#define VTOP_SEGS_FIRST		8

/* Pages pinned per pin_user_pages_fast() call. */
#define VTOP_PIN_BATCH		512

/* Rounds of pinning PIN makes when invalidations keep hitting the range. */
#define VTOP_PIN_ROUNDS		8

/* Most pages unpinned per unpin_user_page_range_dirty_lock() call. */
#define VTOP_UNPIN_RUN_MAX	BIT(20)

/*
 * Pages a loop over the pages of a pin handles between two cond_resched()
 * calls: a 16 GiB pin has 4M pages, and PIN, the segment build and UNPIN
 * must not hold the CPU for all of them on a kernel without preemption.
 */
#define VTOP_RESCHED_PAGES	4096

/*
 * Count @nr more pages (or segments) of work in *@done and give the CPU
 * away once VTOP_RESCHED_PAGES have been done since the last time.
 */
static void vtop_resched(unsigned long *done, unsigned long nr)
{
	*done += nr;
	if (*done >= VTOP_RESCHED_PAGES) {
		*done = 0;
		cond_resched();
	}
}

/**
 * vtop_pin_batch() - pin one batch of pages
 * @start:	user address of the first page
 * @nr_pages:	pages to pin, at most VTOP_PIN_BATCH
 * @gup_flags:	FOLL_* flags
 * @pages:	out: the pinned pages
 *
 * A function of its own, and never inlined, so that fail_function can make
 * it fail (ALLOW_ERROR_INJECTION) and test the roll-back of a partial pin.
 *
 * Return: pages pinned (may be fewer than @nr_pages), or a negative errno.
 */
noinline int vtop_pin_batch(unsigned long start, int nr_pages,
			    unsigned int gup_flags, struct page **pages)
{
	return pin_user_pages_fast(start, nr_pages, gup_flags, pages);
}
ALLOW_ERROR_INJECTION(vtop_pin_batch, ERRNO);

/* Index of a handle made on this fd; false for a foreign or bogus one. */
static bool vtop_handle_index(const struct vtop_file *vf, u64 handle,
			      u32 *index)
{
	if (handle >> 32 != vf->id || !(u32)handle)
		return false;
	*index = (u32)handle;
	return true;
}

/*
 * The folio behind the last page looked at, as a pfn range, so that a walk
 * over the pages of a pin reads the struct pages of each folio once instead
 * of once per page: a page whose pfn lies in [start, end) belongs to that
 * folio and needs no lookup. page_to_pfn() reads no struct page (vmemmap).
 */
struct vtop_folio_cache {
	unsigned long start;
	unsigned long end;
	struct folio *folio;
};

static void vtop_folio_cache_init(struct vtop_folio_cache *fc)
{
	fc->start = 0;
	fc->end = 0;
	fc->folio = NULL;
}

static struct folio *vtop_folio_cached(struct vtop_folio_cache *fc,
				       struct page *page)
{
	unsigned long pfn = page_to_pfn(page);

	if (pfn - fc->start >= fc->end - fc->start) {
		fc->folio = page_folio(page);
		fc->start = folio_pfn(fc->folio);
		fc->end = fc->start + folio_nr_pages(fc->folio);
	}
	return fc->folio;
}

/*
 * Walks the DMA addresses of the pages of a device-mode pin, in order,
 * through the mapped entries (vtop_dma_map() checked that they cover the
 * pin exactly).
 */
struct vtop_addr_cursor {
	struct scatterlist *sg;	/* mapped entry of the next page */
	u64 off;		/* offset of the next page in it */
};

/*
 * DMA address of the next page; *@nr is set to how many pages from it on,
 * at most @max, are contiguous in DMA address space, and the cursor moves
 * past them.
 */
static u64 vtop_cursor_next(struct vtop_addr_cursor *c, unsigned long max,
			    unsigned long *nr)
{
	u64 addr;

	while (c->off >= sg_dma_len(c->sg)) {
		c->off -= sg_dma_len(c->sg);
		c->sg = sg_next(c->sg);
	}
	addr = sg_dma_address(c->sg) + c->off;
	*nr = min_t(u64, max, (sg_dma_len(c->sg) - c->off) >> PAGE_SHIFT);
	c->off += (u64)*nr << PAGE_SHIFT;
	return addr;
}

#ifdef VTOP_NEED_WRITABLE_FILE_CHECK
/*
 * Since 6.5 GUP refuses a writable long-term pin of a shared file mapping
 * whose pages need dirty tracking (the page cache of a disk file system):
 * the file system cannot write such pages back safely while a device may
 * change them. Older kernels pin them. Refuse them here too, so that every
 * kernel gives the same answer (-EFAULT). Anonymous, shmem and hugetlbfs
 * pages pass: shmem and hugetlbfs have no writeback. A folio passes or
 * fails as a whole.
 */
static bool vtop_folio_refused(struct folio *folio)
{
	struct address_space *mapping;

	if (folio_test_anon(folio) || folio_test_hugetlb(folio))
		return false;
	mapping = READ_ONCE(folio->mapping);
	return mapping && mapping->host && mapping_can_writeback(mapping);
}
#else
static bool vtop_folio_refused(struct folio *folio)
{
	return false;
}
#endif

/*
 * What the counting pass of vtop_build_segs() keeps for the build: the
 * first VTOP_SEGS_FIRST segments, and past them, when @want_starts, a
 * bitmap of the page indexes where a segment starts (@starts, allocated
 * when the first segment past those is found; NULL if that failed).
 */
struct vtop_seg_count {
	struct vtop_segment first[VTOP_SEGS_FIRST];
	unsigned long *starts;
	bool want_starts;
};

/*
 * A segment begins at page @i of @reg and is segment @n: keep its start
 * in @sc's bitmap, which the first segment past @sc->first allocates. An
 * allocation failure only loses the bitmap (a second pass builds the
 * segments then): it must not answer before the check or -ENOBUFS would.
 */
static void vtop_mark_start(const struct vtop_region *reg,
			    struct vtop_seg_count *sc, u32 n, unsigned long i)
{
	u32 k;

	if (!sc->want_starts)
		return;
	if (n == VTOP_SEGS_FIRST) {
		sc->starts = kvcalloc(BITS_TO_LONGS(reg->npages),
				      sizeof(unsigned long),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!sc->starts) {
			sc->want_starts = false;
			return;
		}
		for (k = 0; k < VTOP_SEGS_FIRST; k++)
			__set_bit((sc->first[k].vaddr - reg->vaddr) >>
				  PAGE_SHIFT, sc->starts);
	}
	__set_bit(i, sc->starts);
}

/*
 * Merge the pages of @reg into segments: a page joins the current segment
 * when its DMA address follows on and its page shift is the same. With
 * @sc (the counting pass) the first VTOP_SEGS_FIRST are kept in @sc and
 * the rest counted (and their starts marked, see struct vtop_seg_count);
 * with @segs (the build) all are stored there.
 *
 * The pages are taken in runs of consecutive pfns within one folio, which
 * share a page shift and are physically contiguous; in device mode a run
 * is cut further where the DMA addresses jump. So the struct pages are
 * read once per folio, and merging run by run gives the segments merging
 * page by page would.
 *
 * With @check (a writable pin in physical mode, in the counting pass) it
 * also makes the check of vtop_check_writable_file(), once per folio: that
 * costs no walk over the pages of its own.
 *
 * Return: the number of segments, or 0 when the check refuses a page.
 */
static u32 vtop_build_segs(const struct vtop_region *reg,
			   struct vtop_seg_count *sc,
			   struct vtop_segment *segs, bool check)
{
	struct vtop_addr_cursor c = { .sg = reg->dev ? reg->sgt.sgl : NULL };
	u32 cap = sc ? VTOP_SEGS_FIRST : U32_MAX;
	struct vtop_segment cur = { 0 };
	struct folio *checked = NULL;
	struct vtop_folio_cache fc;
	unsigned long i = 0, work = 0;
	u32 n = 0;

	if (sc)
		segs = sc->first;
	vtop_folio_cache_init(&fc);
	while (i < reg->npages) {
		struct page *page = reg->pages[i];
		unsigned long pfn = page_to_pfn(page);
		struct folio *folio = vtop_folio_cached(&fc, page);
		u32 shift = PAGE_SHIFT + folio_order(folio);
		unsigned long max = min(reg->npages - i, fc.end - pfn);
		unsigned long nr;
		u64 addr;

		if (check && folio != checked) {
			if (vtop_folio_refused(folio))
				return 0;
			checked = folio;
		}
		/* The pages of one folio: no pfn arithmetic per page. */
		for (nr = 1; nr < max; nr++)
			if (reg->pages[i + nr] != nth_page(page, nr))
				break;
		if (reg->dev)
			addr = vtop_cursor_next(&c, nr, &nr);
		else
			addr = PFN_PHYS(pfn);

		if (i && addr == cur.dma_addr + cur.len &&
		    shift == cur.page_shift) {
			cur.len += (u64)nr << PAGE_SHIFT;
		} else {
			if (i) {
				if (n < cap)
					segs[n] = cur;
				n++;
				if (n >= cap && sc)
					vtop_mark_start(reg, sc, n, i);
			}
			cur.vaddr = reg->vaddr + ((u64)i << PAGE_SHIFT);
			cur.dma_addr = addr;
			cur.len = (u64)nr << PAGE_SHIFT;
			cur.page_shift = shift;
		}
		i += nr;
		vtop_resched(&work, nr);
	}
	if (n < cap)
		segs[n] = cur;
	return n + 1;
}

/*
 * Build the @needed segments of @reg, a pin in physical mode, from the
 * bitmap of their first pages that the counting pass made: a segment is
 * the run of pages from one start to the next (consecutive pfns of one
 * page shift, as the counting pass found), so only its first struct page
 * is read, not every page of the pin again.
 */
static void vtop_build_from_starts(const struct vtop_region *reg,
				   const unsigned long *starts,
				   struct vtop_segment *segs, u32 needed)
{
	unsigned long s = 0, next, work = 0;
	u32 n;

	for (n = 0; n < needed; n++) {
		struct page *page = reg->pages[s];

		next = find_next_bit(starts, reg->npages, s + 1);
		segs[n].vaddr = reg->vaddr + ((u64)s << PAGE_SHIFT);
		segs[n].dma_addr = PFN_PHYS(page_to_pfn(page));
		segs[n].len = (u64)(next - s) << PAGE_SHIFT;
		segs[n].page_shift = PAGE_SHIFT +
				     folio_order(page_folio(page));
		segs[n].__reserved = 0;
		vtop_resched(&work, next - s);
		s = next;
	}
}

/*
 * Store the @needed segments of @reg, counted into @sc: one segment in the
 * region itself, up to VTOP_SEGS_FIRST copied, more built from the starts
 * @sc marked, or, without them, by a second pass over the pages.
 */
static int vtop_store_segs(struct vtop_region *reg, u32 needed,
			   const struct vtop_seg_count *sc)
{
	if (needed == 1) {
		reg->seg = sc->first[0];
		reg->segs = &reg->seg;
		reg->nr_segs = 1;
		return 0;
	}
	reg->segs = kvmalloc_array(needed, sizeof(*reg->segs),
				   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!reg->segs)
		return -ENOMEM;
	if (needed <= VTOP_SEGS_FIRST)
		memcpy(reg->segs, sc->first, needed * sizeof(*sc->first));
	else if (sc->starts)
		vtop_build_from_starts(reg, sc->starts, reg->segs, needed);
	else
		vtop_build_segs(reg, NULL, reg->segs, false);
	reg->nr_segs = needed;
	return 0;
}

static void vtop_free_segs(struct vtop_region *reg)
{
	if (reg->segs != &reg->seg)
		kvfree(reg->segs);
	reg->segs = NULL;
}

/*
 * Charge @npages to @mm's pinned_vm against RLIMIT_MEMLOCK, the way RDMA
 * memory registration does; CAP_IPC_LOCK bypasses the limit.
 */
static int vtop_charge(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	u64 pinned = atomic64_add_return(npages, &mm->pinned_vm);

	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

/* Would charging @npages to @mm exceed RLIMIT_MEMLOCK? Charges nothing. */
static bool vtop_over_memlock(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	u64 pinned = atomic64_read(&mm->pinned_vm);

	return (npages > limit || pinned > limit - npages) &&
	       !capable(CAP_IPC_LOCK);
}

static void vtop_uncharge(struct mm_struct *mm, unsigned long npages)
{
	atomic64_sub(npages, &mm->pinned_vm);
}

/*
 * The pin at handle index @index, live or in flight, or NULL. The pins sit
 * in an rbtree whose nodes are embedded in the regions: making and ending
 * a pin allocates and frees nothing for the table.
 */
static struct vtop_region *vtop_find(const struct vtop_file *vf, u32 index)
{
	struct rb_node *n = vf->pins.rb_node;

	lockdep_assert_held(&vf->lock);

	while (n) {
		struct vtop_region *reg = rb_entry(n, struct vtop_region, node);

		if (index < reg->index)
			n = n->rb_left;
		else if (index > reg->index)
			n = n->rb_right;
		else
			return reg;
	}
	return NULL;
}

/* The live pin at handle index @index, or NULL. */
static struct vtop_region *vtop_find_live(const struct vtop_file *vf,
					  u32 index)
{
	struct vtop_region *reg = vtop_find(vf, index);

	return reg && reg->live ? reg : NULL;
}

/* Add @reg, whose index is free, to the table. */
static void vtop_insert(struct vtop_file *vf, struct vtop_region *reg)
{
	struct rb_node **link = &vf->pins.rb_node, *parent = NULL;

	while (*link) {
		struct vtop_region *r = rb_entry(*link, struct vtop_region,
						 node);

		parent = *link;
		if (reg->index < r->index)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&reg->node, parent, link);
	rb_insert_color(&reg->node, &vf->pins);
}

/*
 * Check the per-fd limits for @reg, a new pin of @reg->length bytes, and
 * reserve its count, bytes and handle index: it enters the table, not yet
 * live. Set @reg->dev to the device to map it for, if any. Called with
 * vf->lock held.
 */
static int vtop_reserve(struct vtop_file *vf, struct vtop_region *reg,
			enum vtop_fail *cause)
{
	u64 max_bytes = READ_ONCE(vtop_max_pin_bytes_per_fd);
	u32 index;
	u64 bytes;

	lockdep_assert_held(&vf->lock);

	if ((u64)vf->nr_pins + vf->nr_inflight >= READ_ONCE(vtop_max_pins_per_fd))
		return -ENOSPC;
	if (max_bytes &&
	    (check_add_overflow(vf->pinned_bytes + vf->inflight_bytes,
				reg->length, &bytes) || bytes > max_bytes)) {
		*cause = VTOP_FAIL_ENOMEM_LIMIT;
		return -ENOMEM;
	}
	/*
	 * Cyclic, as xa_alloc_cyclic() would: the first free index from
	 * @next_index on, wrapping from U32_MAX to 1, so that a handle comes
	 * back only after 2^32 - 1 more pins. One exists: the limit above
	 * keeps fewer than U32_MAX pins in the table.
	 */
	index = max(vf->next_index, 1U);
	while (vtop_find(vf, index))
		index = index == U32_MAX ? 1 : index + 1;
	vf->next_index = index + 1;
	reg->index = index;
	reg->live = false;
	vtop_insert(vf, reg);

	vf->nr_inflight++;
	vf->inflight_bytes += reg->length;
	/* DETACH waits for no pin in flight: the device stays attached. */
	reg->dev = vf->pdev ? &vf->pdev->dev : NULL;
	return 0;
}

static void vtop_unreserve(struct vtop_file *vf, struct vtop_region *reg)
{
	mutex_lock(&vf->lock);
	rb_erase(&reg->node, &vf->pins);
	vf->nr_inflight--;
	vf->inflight_bytes -= reg->length;
	mutex_unlock(&vf->lock);
}

/*
 * Publish a finished pin at its reserved index. From here on an
 * invalidation of it is reported (one since its pages were pinned is
 * reported now). A pin for a device whose mapping a revocation took away
 * since vtop_dma_map() is not published: its IOVAs are gone (-ENODEV).
 */
static int vtop_commit(struct vtop_file *vf, struct vtop_region *reg)
{
	mutex_lock(&vf->lock);
	if (reg->dev && !vtop_dma_still_mapped(reg)) {
		mutex_unlock(&vf->lock);
		return -ENODEV;
	}
	vtop_region_go_live(reg);
	vf->nr_inflight--;
	vf->inflight_bytes -= reg->length;
	vf->nr_pins++;
	vf->pinned_bytes += reg->length;
	mutex_unlock(&vf->lock);

	atomic64_inc(&vtop_stats.live_pins);
	atomic64_add(reg->length, &vtop_stats.pinned_bytes);
	atomic64_inc(&vtop_stats.pins_total);
	return 0;
}

#ifdef VTOP_NEED_RO_UNSHARE
/*
 * Before 6.2 a read-only long-term pin does not unshare the pages of a
 * private (COW) mapping that are not anonymous: the shared zero page of
 * memory never written, or page cache pages of a MAP_PRIVATE file. The next
 * CPU write would then move that address to a new page the device never
 * sees. Unshare such pages the way 6.2 does, by pinning them again with a
 * forced write fault: that breaks COW into a private copy without changing
 * the data or the mapping's protection.
 */
static int vtop_unshare_ro(struct vtop_region *reg)
{
	struct mm_struct *mm = current->mm;
	struct vtop_folio_cache fc;
	unsigned long i;

	/*
	 * The cache stays right although pages are replaced below: a page
	 * still to be looked at is pinned, so the folio it belonged to when
	 * the cache was filled can neither be freed nor split.
	 */
	vtop_folio_cache_init(&fc);
	for (i = 0; i < reg->npages; i++) {
		unsigned long addr = reg->vaddr + ((u64)i << PAGE_SHIFT);
		struct vm_area_struct *vma;
		struct page *page;
		bool cow;
		int ret;

		if (folio_test_anon(vtop_folio_cached(&fc, reg->pages[i])))
			continue;
		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		cow = vma && is_cow_mapping(vma->vm_flags);
		mmap_read_unlock(mm);
		if (!cow)
			continue;
		ret = vtop_pin_batch(addr, 1,
				     FOLL_LONGTERM | FOLL_WRITE | FOLL_FORCE,
				     &page);
		if (ret != 1)
			return ret < 0 ? ret : -EFAULT;
		unpin_user_page(reg->pages[i]);
		reg->pages[i] = page;
		cond_resched();
	}
	return 0;
}
#endif

#ifdef VTOP_NEED_WRITABLE_FILE_CHECK
/*
 * The check on its own walk, for device mode: there it must answer before
 * the pages are DMA-mapped (a mapping that fails would answer first). In
 * physical mode the counting pass of vtop_build_segs() makes it, per run
 * of pages of one folio, at no walk of its own.
 */
static int vtop_check_writable_file(const struct vtop_region *reg)
{
	struct vtop_folio_cache fc;
	struct folio *last = NULL;
	unsigned long i, work = 0;

	vtop_folio_cache_init(&fc);
	for (i = 0; i < reg->npages; i++) {
		struct folio *folio = vtop_folio_cached(&fc, reg->pages[i]);

		vtop_resched(&work, 1);
		if (folio == last)
			continue;
		last = folio;
		if (vtop_folio_refused(folio))
			return -EFAULT;
	}
	return 0;
}
#else
static int vtop_check_writable_file(const struct vtop_region *reg)
{
	return 0;
}
#endif

/*
 * Unpin the @nr pages from @pages on, whose pfns are consecutive, marking
 * them dirty first when @dirty. unpin_user_page_range_dirty_lock() steps
 * through them with nth_page() and looks at each folio once, where
 * unpin_user_pages_dirty_lock() reads the struct page of every page.
 */
static void vtop_unpin_run(struct page **pages, unsigned long nr, bool dirty)
{
	while (nr) {
		/* It counts the pages of one folio in an unsigned int. */
		unsigned long step = min(nr, VTOP_UNPIN_RUN_MAX);

		unpin_user_page_range_dirty_lock(pages[0], step, dirty);
		pages += step;
		nr -= step;
		if (nr)
			cond_resched();
	}
}

/*
 * Unpin @npages pages of @pages, marking them dirty first when @dirty, one
 * run of consecutive pfns at a time. page_to_pfn() reads no struct page
 * (vmemmap). Only pages whose pfns are consecutive form a run.
 */
static void vtop_unpin_pages(struct page **pages, unsigned long npages,
			     bool dirty)
{
	unsigned long i = 0, work = 0;

	while (i < npages) {
		unsigned long pfn = page_to_pfn(pages[i]);
		unsigned long nr = 1;

		while (i + nr < npages && page_to_pfn(pages[i + nr]) == pfn + nr)
			nr++;
		vtop_unpin_run(pages + i, nr, dirty);
		i += nr;
		vtop_resched(&work, nr);
	}
}

/*
 * Unpin the pages of a finished pin, dirtied when it is writable. In
 * physical mode each segment is a run of consecutive pfns (its address is
 * the physical address of its first page, and it grew only by pages that
 * follow on), so the runs come from the segments without a look at every
 * page. In device mode segments follow IOVAs: find the runs page by page.
 */
static void vtop_region_unpin(const struct vtop_region *reg)
{
	unsigned long work = 0;
	u32 s;

	if (reg->dev) {
		vtop_unpin_pages(reg->pages, reg->npages, reg->writable);
		return;
	}
	for (s = 0; s < reg->nr_segs; s++) {
		const struct vtop_segment *seg = &reg->segs[s];

		vtop_unpin_run(reg->pages +
			       ((seg->vaddr - reg->vaddr) >> PAGE_SHIFT),
			       seg->len >> PAGE_SHIFT, reg->writable);
		vtop_resched(&work, seg->len >> PAGE_SHIFT);
	}
}

/* Pin every page of @reg in batches; on failure nothing stays pinned. */
static int vtop_pin_pages(struct vtop_region *reg)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	int ret;

	if (reg->writable)
		gup_flags |= FOLL_WRITE;

	while (done < reg->npages) {
		int nr = min_t(unsigned long, reg->npages - done,
			       VTOP_PIN_BATCH);

		if (done && fatal_signal_pending(current)) {
			ret = -EINTR;
			goto unpin;
		}
		ret = vtop_pin_batch(reg->vaddr + ((u64)done << PAGE_SHIFT),
				     nr, gup_flags, reg->pages + done);
		if (ret <= 0) {
			if (!ret)
				ret = -EFAULT;
			goto unpin;
		}
		done += ret;
		/* GUP-fast does not reschedule, and a batch is 512 pages. */
		cond_resched();
	}
#ifdef VTOP_NEED_RO_UNSHARE
	if (!reg->writable) {
		ret = vtop_unshare_ro(reg);
		if (ret)
			goto unpin;
	}
#endif
	/* In physical mode vtop_build_segs() checks, once per folio. */
	if (reg->writable && reg->dev) {
		ret = vtop_check_writable_file(reg);
		if (ret)
			goto unpin;
	}
	return 0;

unpin:
	vtop_unpin_pages(reg->pages, done, false);
	return ret;
}

/*
 * Pin the pages of @reg, watched already, so that they are the pages its
 * range maps after the pinning: an invalidation of the range while GUP ran
 * (another thread's munmap or madvise, or GUP's own COW break or
 * migration) may have left some pinned pages no longer mapped; then unpin
 * them all and pin again. The second round normally sees no invalidation
 * (COW is broken, the pages migrated); a range unmapped meanwhile makes it
 * fail (-EFAULT). Events that change no page (mprotect()) cost no round.
 * At most VTOP_PIN_ROUNDS rounds (-EAGAIN after), and a signal between two
 * rounds ends it (-ERESTARTSYS: nothing is held then, the call restarts or
 * fails with -EINTR). On failure nothing stays pinned.
 */
static int vtop_pin_watched(struct vtop_region *reg)
{
	unsigned long seq, gen;
	unsigned int round;
	int ret;

	for (round = 1; ; round++) {
		seq = vtop_region_read_begin(reg, &gen);
		ret = vtop_pin_pages(reg);
		if (ret)
			return ret;
		if (!vtop_region_read_retry(reg, seq, gen))
			return 0;
		vtop_unpin_pages(reg->pages, reg->npages, false);
		if (round == VTOP_PIN_ROUNDS)
			return -EAGAIN;
		if (signal_pending(current))
			return -ERESTARTSYS;
		cond_resched();
	}
}

static long vtop_do_pin(struct vtop_file *vf, void __user *uarg,
			enum vtop_fail *cause)
{
	struct vtop_seg_count sc = { .starts = NULL };
	struct vtop_pin arg;
	struct vtop_region *reg;
	u32 needed, copy;
	u64 end;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if ((arg.flags & ~(VTOP_PIN_READONLY | VTOP_PIN_PARTIAL)) ||
	    arg.__reserved)
		return -EINVAL;
	if (!arg.length || !PAGE_ALIGNED(arg.vaddr) ||
	    !PAGE_ALIGNED(arg.length) ||
	    check_add_overflow(arg.vaddr, arg.length, &end) || end > TASK_SIZE)
		return -EINVAL;

	reg = kzalloc(sizeof(*reg), GFP_KERNEL_ACCOUNT);
	if (!reg)
		return -ENOMEM;
	reg->vaddr = arg.vaddr;
	reg->length = arg.length;
	reg->npages = arg.length >> PAGE_SHIFT;
	reg->writable = !(arg.flags & VTOP_PIN_READONLY);
	vtop_region_events_init(vf, reg);

	mutex_lock(&vf->lock);
	ret = vtop_reserve(vf, reg, cause);
	mutex_unlock(&vf->lock);
	if (ret)
		goto free_reg;

	/*
	 * An attached fd that was revoked, or whose IOMMU domain went lazy,
	 * cannot map the pin: say so before pinning anything. The device
	 * stays attached while this PIN is reserved.
	 */
	if (reg->dev) {
		ret = vtop_dma_precheck(vf);
		if (ret)
			goto unreserve;
	}

	/*
	 * The bookkeeping of one pin (a page pointer per page, and at worst
	 * a segment per page) stays below INT_MAX bytes, what kvmalloc()
	 * allows: a longer range fails here, before anything is allocated
	 * or pinned, rather than after pinning it all. RLIMIT_MEMLOCK is
	 * still the first answer, but such a range is not charged even for
	 * a moment (CAP_IPC_LOCK would let a charge of any size through,
	 * and other pinners of the mm would see it).
	 */
	if (reg->npages > VTOP_PIN_MAX_PAGES) {
		if (vtop_over_memlock(vf->mm, reg->npages)) {
			*cause = VTOP_FAIL_ENOMEM_RLIMIT;
			ret = -ENOMEM;
		} else {
			*cause = VTOP_FAIL_OTHER;
			ret = -EOVERFLOW;
		}
		goto unreserve;
	}
	/*
	 * Charge before allocating anything in proportion to the range: a
	 * PIN over RLIMIT_MEMLOCK costs no memory, mapped range or not.
	 */
	ret = vtop_charge(vf->mm, reg->npages);
	if (ret) {
		*cause = VTOP_FAIL_ENOMEM_RLIMIT;
		goto unreserve;
	}
	/* Charged to the caller's memory cgroup, as the pins are. */
	reg->pages = kvmalloc_array(reg->npages, sizeof(*reg->pages),
				    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!reg->pages) {
		ret = -ENOMEM;
		goto uncharge;
	}

	/*
	 * Watch the range before pinning: no invalidation between the
	 * pinning and the commit goes unseen. PIN runs in the owner's
	 * context (current->mm == vf->mm), so the mm has users, as the
	 * insert needs.
	 */
	ret = vtop_region_watch(reg);
	if (ret)
		goto free_pages;

	ret = vtop_pin_watched(reg);
	if (ret)
		goto unwatch;

	if (reg->dev) {
		ret = vtop_dma_map(reg);
		if (ret)
			goto unpin;
	}

	/*
	 * Count the segments, keeping the first few, and mark where the
	 * rest start when they are wanted: in physical mode, for a PIN that
	 * takes them (not for an -ENOBUFS probe).
	 */
	sc.want_starts = !reg->dev && ((arg.flags & VTOP_PIN_PARTIAL) ||
				       arg.nr_segs > VTOP_SEGS_FIRST);
	needed = vtop_build_segs(reg, &sc, NULL, reg->writable && !reg->dev);
	if (!needed) {
		ret = -EFAULT;
		goto dma_unmap;
	}
	if (needed > arg.nr_segs && !(arg.flags & VTOP_PIN_PARTIAL)) {
		arg.nr_segs = needed;
		arg.handle = 0;
		ret = copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : -ENOBUFS;
		goto dma_unmap;
	}
	ret = vtop_store_segs(reg, needed, &sc);
	if (ret)
		goto dma_unmap;
	kvfree(sc.starts);
	sc.starts = NULL;

	/* With VTOP_PIN_PARTIAL, what fits; GET_SEGS gives the rest. */
	copy = min(needed, arg.nr_segs);
	if (copy && copy_to_user(u64_to_user_ptr(arg.segs), reg->segs,
				 (size_t)copy * sizeof(*reg->segs))) {
		ret = -EFAULT;
		goto free_segs;
	}
	arg.nr_segs = needed;
	arg.handle = vtop_handle(vf, reg->index);
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto free_segs;
	}

	ret = vtop_commit(vf, reg);
	if (ret)
		goto free_segs;
	return 0;

free_segs:
	vtop_free_segs(reg);
dma_unmap:
	kvfree(sc.starts);
	if (reg->dev)
		vtop_dma_unmap(reg);
unpin:
	vtop_unpin_pages(reg->pages, reg->npages, false);
unwatch:
	/* Never live: a callback until here only marked it. */
	vtop_region_unwatch(reg);
free_pages:
	kvfree(reg->pages);
uncharge:
	vtop_uncharge(vf->mm, reg->npages);
unreserve:
	vtop_unreserve(vf, reg);
free_reg:
	kfree(reg);
	return ret;
}

/* VTOP_IOC_PIN; counts its failures by cause. */
long vtop_ioctl_pin(struct vtop_file *vf, void __user *uarg)
{
	enum vtop_fail cause = VTOP_FAIL_NR;
	long ret;

	ret = vtop_do_pin(vf, uarg, &cause);
	if (ret < 0) {
		if (cause != VTOP_FAIL_NR)
			vtop_stats_fail(cause);
		else
			vtop_stats_fail_errno(ret);
	}
	return ret;
}

/*
 * Unpin, uncharge and free a region already removed from the table,
 * forgotten by the event code and no longer watched.
 */
static void vtop_region_destroy(struct vtop_file *vf, struct vtop_region *reg)
{
	/* The device must be done with the pages before they are unpinned. */
	if (reg->dev)
		vtop_dma_unmap(reg);
	vtop_region_unpin(reg);
	vtop_uncharge(vf->mm, reg->npages);

	atomic64_dec(&vtop_stats.live_pins);
	atomic64_sub(reg->length, &vtop_stats.pinned_bytes);
	atomic64_inc(&vtop_stats.unpins_total);

	vtop_free_segs(reg);
	kvfree(reg->pages);
	kfree(reg);
}

/* Look a handle up and remove it from the table, under one lock. */
static struct vtop_region *vtop_take(struct vtop_file *vf, u32 index)
{
	struct vtop_region *reg;

	lockdep_assert_held(&vf->lock);

	/* A reserved index (a PIN still in progress) is not found. */
	reg = vtop_find_live(vf, index);
	if (!reg)
		return NULL;
	rb_erase(&reg->node, &vf->pins);
	vf->nr_pins--;
	vf->pinned_bytes -= reg->length;
	/* Not live any more; its queued record goes. */
	vtop_region_forget(reg);
	return reg;
}

long vtop_ioctl_unpin(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_unpin arg;
	struct vtop_region *reg;
	u32 index;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;
	if (!vtop_handle_index(vf, arg.handle, &index))
		return -ENOENT;

	mutex_lock(&vf->lock);
	reg = vtop_take(vf, index);
	mutex_unlock(&vf->lock);
	if (!reg)
		return -ENOENT;

	/* With no lock held: this waits for a callback running on it. */
	vtop_region_unwatch(reg);
	vtop_region_destroy(vf, reg);
	return 0;
}

/* Index of the first segment of @reg that ends after byte @offset. */
static u32 vtop_first_seg(const struct vtop_region *reg, u64 offset)
{
	u32 lo = 0, hi = reg->nr_segs;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct vtop_segment *s = &reg->segs[mid];

		if (s->vaddr - reg->vaddr + s->len <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Copy the first @cap segments of [offset, end) of @reg, clipped, into @out
 * (or none with @out NULL). Return how many the sub-range has: the
 * segments cover the pin in order, so that is a difference of two indexes
 * and costs no walk, whatever the sub-range (a caller paging through a pin
 * with offset and length 0 asks for the count of the whole rest).
 */
static u32 vtop_clip_segs(const struct vtop_region *reg, u64 offset, u64 end,
			  struct vtop_segment *out, u32 cap)
{
	u32 first = vtop_first_seg(reg, offset);
	u32 n = vtop_first_seg(reg, end - 1) - first + 1;
	unsigned long work = 0;
	u32 i;

	for (i = 0; out && i < min(n, cap); i++) {
		const struct vtop_segment *s = &reg->segs[first + i];
		u64 s_off = s->vaddr - reg->vaddr;
		u64 lo = max(s_off, offset);
		u64 hi = min(s_off + s->len, end);

		out[i].vaddr = reg->vaddr + lo;
		out[i].dma_addr = s->dma_addr + (lo - s_off);
		out[i].len = hi - lo;
		out[i].page_shift = s->page_shift;
		out[i].__reserved = 0;
		/* Under vf->lock, a mutex: sleeping is allowed. */
		vtop_resched(&work, 1);
	}
	return n;
}

long vtop_ioctl_get_segs(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_get_segs arg;
	struct vtop_segment *out = NULL;
	struct vtop_region *reg;
	u32 index, needed, copy = 0;
	u64 length, end;
	int ret;

	ret = vtop_copy_args(&arg, sizeof(arg), uarg);
	if (ret)
		return ret;
	if ((arg.flags & ~VTOP_GET_SEGS_PARTIAL) || arg.__reserved)
		return -EINVAL;
	if (!vtop_handle_index(vf, arg.handle, &index))
		return -ENOENT;
	if (!PAGE_ALIGNED(arg.offset) || !PAGE_ALIGNED(arg.length))
		return -EINVAL;

	mutex_lock(&vf->lock);
	reg = vtop_find_live(vf, index);
	if (!reg) {
		ret = -ENOENT;
		goto unlock;
	}
	/* A revoked pin's IOVAs are gone: never hand them out again. */
	if (reg->dev && !vtop_dma_still_mapped(reg)) {
		ret = -ENODEV;
		goto unlock;
	}
	if (arg.offset >= reg->length) {
		ret = -EINVAL;
		goto unlock;
	}
	length = arg.length ? arg.length : reg->length - arg.offset;
	if (check_add_overflow(arg.offset, length, &end) ||
	    end > reg->length) {
		ret = -EINVAL;
		goto unlock;
	}
	needed = vtop_clip_segs(reg, arg.offset, end, NULL, 0);
	if (needed <= arg.nr_segs)
		copy = needed;
	else if (arg.flags & VTOP_GET_SEGS_PARTIAL)
		copy = arg.nr_segs;
	if (copy) {
		/* Copied out after the lock is dropped. */
		out = kvmalloc_array(copy, sizeof(*out),
				     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!out) {
			ret = -ENOMEM;
			goto unlock;
		}
		vtop_clip_segs(reg, arg.offset, end, out, copy);
	}
	mutex_unlock(&vf->lock);

	if (out && copy_to_user(u64_to_user_ptr(arg.segs), out,
				(size_t)copy * sizeof(*out))) {
		ret = -EFAULT;
		goto free_out;
	}
	ret = needed <= arg.nr_segs || (arg.flags & VTOP_GET_SEGS_PARTIAL) ?
	      0 : -ENOBUFS;
	arg.nr_segs = needed;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
free_out:
	kvfree(out);
	return ret;

unlock:
	mutex_unlock(&vf->lock);
	return ret;
}

/*
 * Release every pin of a file being closed. No ioctl, read or fault runs on
 * it any more; invalidation callbacks may, until each pin's notifier is
 * removed. Release may run in any task, after the owner's mm has exited
 * (vf->mm is still grabbed, as each notifier grabs it).
 */
void vtop_release_all(struct vtop_file *vf)
{
	struct rb_node *n;

	/*
	 * Stop every callback first: then the pins are unpinned with no
	 * event state changing underneath.
	 */
	mutex_lock(&vf->lock);
	for (n = rb_first(&vf->pins); n; n = rb_next(n))
		vtop_region_forget(rb_entry(n, struct vtop_region, node));
	mutex_unlock(&vf->lock);
	for (n = rb_first(&vf->pins); n; n = rb_next(n)) {
		vtop_region_unwatch(rb_entry(n, struct vtop_region, node));
		cond_resched();
	}

	/* No PIN is in flight on a file being released: all are live. */
	while ((n = rb_first(&vf->pins))) {
		struct vtop_region *reg = rb_entry(n, struct vtop_region, node);

		rb_erase(n, &vf->pins);
		vf->nr_pins--;
		vf->pinned_bytes -= reg->length;
		vtop_region_destroy(vf, reg);
		cond_resched();
	}
}
