// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of the registration benchmark (bench/register.c): what pinning
 * costs when nothing but the kernel's GUP is done. /dev/vtop_floor pins a
 * range with pin_user_pages_fast(FOLL_LONGTERM | FOLL_WRITE) in batches of
 * 512 pages, as vtop.ko does, and unpins it with unpin_user_pages(): no
 * addresses, no accounting, no notifier, no handle table.
 *
 * Flags add, one by one, copies of the further steps of vtop's PIN and
 * UNPIN (the counting pass over the struct pages, the segment build, the
 * copy-out, the unpinning of dirty runs), and VTOP_FLOOR_TIME times every
 * step with ktime, so that the benchmark can split the cost per page.
 * Timing lives here, never in vtop.ko. Test-only: built and loaded by
 * bench/run.sh in the rig's guests.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vtop_floor.h"

#define FLOOR_BATCH	512

/* Segments the counting pass keeps (vtop's VTOP_SEGS_FIRST). */
#define FLOOR_SEGS_FIRST	8

/* The layout of struct vtop_segment. */
struct floor_seg {
	u64 vaddr;
	u64 dma_addr;
	u64 len;
	u32 page_shift;
	u32 reserved;
};

struct floor_file {
	struct mutex lock;	/* one ioctl at a time */
	struct page **pages;	/* the pin, or NULL */
	unsigned long npages;
	unsigned long vaddr;
	struct floor_seg *segs;	/* &seg when there is one */
	struct floor_seg seg;
	struct floor_seg first[FLOOR_SEGS_FIRST];	/* from the count */
	unsigned long *starts;	/* past those: where segments start */
	u32 nr_segs;
};

/* ns since *@t, added to @ns[@stage] when timing; *@t moves on. */
static void floor_tick(u64 *ns, int stage, u64 *t, bool timing)
{
	u64 now;

	if (!timing)
		return;
	now = ktime_get_ns();
	ns[stage] += now - *t;
	*t = now;
}

/*
 * As vtop_mark_start(): segment @n starts at page @i; past the first
 * FLOOR_SEGS_FIRST, its start goes into a bitmap (allocated then).
 */
static void floor_mark_start(struct floor_file *ff, u32 n, unsigned long i)
{
	u32 k;

	if (n == FLOOR_SEGS_FIRST) {
		ff->starts = kvcalloc(BITS_TO_LONGS(ff->npages),
				      sizeof(unsigned long), GFP_KERNEL);
		if (!ff->starts)
			return;
		for (k = 0; k < FLOOR_SEGS_FIRST; k++)
			__set_bit((ff->first[k].vaddr - ff->vaddr) >>
				  PAGE_SHIFT, ff->starts);
	}
	if (ff->starts)
		__set_bit(i, ff->starts);
}

/*
 * Segments of the pin: runs of consecutive pfns within one folio, merged
 * when physically contiguous with the same page shift (vtop's physical
 * mode). The first @cap are stored in @segs, the rest only counted; with
 * @mark, their starts are marked (floor_mark_start()).
 */
static u32 floor_build_segs(struct floor_file *ff, struct floor_seg *segs,
			    u32 cap, bool mark)
{
	struct floor_seg cur = { 0 };
	unsigned long i = 0, fstart = 0, fend = 0;
	struct folio *folio = NULL;
	u32 n = 0;

	while (i < ff->npages) {
		struct page *page = ff->pages[i];
		unsigned long pfn = page_to_pfn(page);
		unsigned long max, nr;
		u32 shift;
		u64 addr;

		if (pfn - fstart >= fend - fstart) {
			folio = page_folio(page);
			fstart = folio_pfn(folio);
			fend = fstart + folio_nr_pages(folio);
		}
		shift = PAGE_SHIFT + folio_order(folio);
		max = min(ff->npages - i, fend - pfn);
		for (nr = 1; nr < max; nr++)
			if (ff->pages[i + nr] != nth_page(page, nr))
				break;
		addr = PFN_PHYS(pfn);
		if (i && addr == cur.dma_addr + cur.len &&
		    shift == cur.page_shift) {
			cur.len += (u64)nr << PAGE_SHIFT;
		} else {
			if (i) {
				if (n < cap)
					segs[n] = cur;
				n++;
				if (n >= cap && mark)
					floor_mark_start(ff, n, i);
			}
			cur.vaddr = ff->vaddr + ((u64)i << PAGE_SHIFT);
			cur.dma_addr = addr;
			cur.len = (u64)nr << PAGE_SHIFT;
			cur.page_shift = shift;
		}
		i += nr;
	}
	if (n < cap)
		segs[n] = cur;
	return n + 1;
}

/* As vtop_build_from_starts(): the segments from the marked starts. */
static void floor_build_from_starts(const struct floor_file *ff,
				    struct floor_seg *segs, u32 needed)
{
	unsigned long s = 0, next;
	u32 n;

	for (n = 0; n < needed; n++) {
		struct page *page = ff->pages[s];

		next = find_next_bit(ff->starts, ff->npages, s + 1);
		segs[n].vaddr = ff->vaddr + ((u64)s << PAGE_SHIFT);
		segs[n].dma_addr = PFN_PHYS(page_to_pfn(page));
		segs[n].len = (u64)(next - s) << PAGE_SHIFT;
		segs[n].page_shift = PAGE_SHIFT +
				     folio_order(page_folio(page));
		segs[n].reserved = 0;
		s = next;
	}
}

static void floor_unpin_runs(struct page **pages, unsigned long npages)
{
	unsigned long i = 0;

	while (i < npages) {
		unsigned long pfn = page_to_pfn(pages[i]);
		unsigned long nr = 1;

		while (i + nr < npages && page_to_pfn(pages[i + nr]) == pfn + nr)
			nr++;
		unpin_user_page_range_dirty_lock(pages[i], nr, true);
		i += nr;
	}
}

static void floor_release_pin(struct floor_file *ff, u32 flags, u64 *ns)
{
	bool timing = flags & VTOP_FLOOR_TIME;
	u64 t = timing ? ktime_get_ns() : 0;

	if (flags & VTOP_FLOOR_RUNS)
		floor_unpin_runs(ff->pages, ff->npages);
	else
		unpin_user_pages(ff->pages, ff->npages);
	floor_tick(ns, VTOP_FLOOR_NS_UNPIN, &t, timing);
	if (ff->segs != &ff->seg)
		kvfree(ff->segs);
	kvfree(ff->pages);
	kvfree(ff->starts);
	floor_tick(ns, VTOP_FLOOR_NS_FREE, &t, timing);
	ff->segs = NULL;
	ff->pages = NULL;
	ff->starts = NULL;
	ff->npages = 0;
	ff->nr_segs = 0;
}

static long floor_pin(struct floor_file *ff, struct vtop_floor_pin *arg)
{
	bool timing = arg->flags & VTOP_FLOOR_TIME;
	unsigned long done = 0, npages;
	u64 t, *ns = arg->ns;
	long ret;

	if (arg->flags & ~VTOP_FLOOR_ALL)
		return -EINVAL;
	if (!arg->length || !PAGE_ALIGNED(arg->vaddr) ||
	    !PAGE_ALIGNED(arg->length) || arg->length > SZ_1G ||
	    arg->vaddr + arg->length < arg->vaddr)
		return -EINVAL;
	if (ff->pages)
		return -EBUSY;
	memset(ns, 0, sizeof(arg->ns));
	npages = arg->length >> PAGE_SHIFT;
	t = timing ? ktime_get_ns() : 0;

	ff->pages = kvmalloc_array(npages, sizeof(*ff->pages), GFP_KERNEL);
	if (!ff->pages)
		return -ENOMEM;
	ff->vaddr = arg->vaddr;
	floor_tick(ns, VTOP_FLOOR_NS_ALLOC, &t, timing);

	while (done < npages) {
		int nr = min_t(unsigned long, npages - done, FLOOR_BATCH);

		ret = pin_user_pages_fast(arg->vaddr + (done << PAGE_SHIFT), nr,
					  FOLL_LONGTERM | FOLL_WRITE,
					  ff->pages + done);
		if (ret <= 0) {
			if (done)
				unpin_user_pages(ff->pages, done);
			kvfree(ff->pages);
			ff->pages = NULL;
			return ret ? ret : -EFAULT;
		}
		done += ret;
		cond_resched();
	}
	ff->npages = npages;
	floor_tick(ns, VTOP_FLOOR_NS_GUP, &t, timing);

	if (arg->flags & VTOP_FLOOR_WALK) {
		ff->nr_segs = floor_build_segs(ff, ff->first,
					       FLOOR_SEGS_FIRST, true);
		floor_tick(ns, VTOP_FLOOR_NS_WALK, &t, timing);
	}
	if (arg->flags & VTOP_FLOOR_SEGS) {
		/* As vtop: one in place, a few copied, more built again. */
		u32 n = ff->nr_segs ? ff->nr_segs : npages;

		if (ff->nr_segs == 1) {
			ff->seg = ff->first[0];
			ff->segs = &ff->seg;
		} else {
			ff->segs = kvmalloc_array(n, sizeof(*ff->segs),
						  GFP_KERNEL);
			if (!ff->segs) {
				ret = -ENOMEM;
				goto unpin;
			}
			if (ff->nr_segs && n <= FLOOR_SEGS_FIRST)
				memcpy(ff->segs, ff->first,
				       n * sizeof(*ff->segs));
			else if (ff->starts)
				floor_build_from_starts(ff, ff->segs, n);
			else
				ff->nr_segs = floor_build_segs(ff, ff->segs,
							       n, false);
		}
		kvfree(ff->starts);
		ff->starts = NULL;
		floor_tick(ns, VTOP_FLOOR_NS_SEGS, &t, timing);
	}
	if (arg->flags & VTOP_FLOOR_COPY) {
		if (!ff->segs || arg->nr_segs < ff->nr_segs) {
			ret = -ENOBUFS;
			goto unpin;
		}
		if (copy_to_user(u64_to_user_ptr(arg->segs), ff->segs,
				 (size_t)ff->nr_segs * sizeof(*ff->segs))) {
			ret = -EFAULT;
			goto unpin;
		}
		floor_tick(ns, VTOP_FLOOR_NS_COPY, &t, timing);
	}
	arg->nr_segs = ff->nr_segs;
	return 0;

unpin:
	floor_release_pin(ff, 0, ns);
	return ret;
}

static long floor_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	struct floor_file *ff = file->private_data;
	void __user *up = (void __user *)uarg;
	long ret;

	switch (cmd) {
	case VTOP_FLOOR_IOC_PIN: {
		struct vtop_floor_pin arg;

		if (copy_from_user(&arg, up, sizeof(arg)))
			return -EFAULT;
		mutex_lock(&ff->lock);
		ret = floor_pin(ff, &arg);
		mutex_unlock(&ff->lock);
		if (!ret && copy_to_user(up, &arg, sizeof(arg)))
			ret = -EFAULT;
		return ret;
	}
	case VTOP_FLOOR_IOC_UNPIN: {
		struct vtop_floor_unpin arg;

		if (copy_from_user(&arg, up, sizeof(arg)))
			return -EFAULT;
		if (arg.flags & ~(VTOP_FLOOR_RUNS | VTOP_FLOOR_TIME) ||
		    arg.__pad)
			return -EINVAL;
		memset(arg.ns, 0, sizeof(arg.ns));
		mutex_lock(&ff->lock);
		if (ff->pages) {
			floor_release_pin(ff, arg.flags, arg.ns);
			ret = 0;
		} else {
			ret = -ENOENT;
		}
		mutex_unlock(&ff->lock);
		if (!ret && copy_to_user(up, &arg, sizeof(arg)))
			ret = -EFAULT;
		return ret;
	}
	default:
		return -ENOTTY;
	}
}

static int floor_open(struct inode *inode, struct file *file)
{
	struct floor_file *ff = kzalloc(sizeof(*ff), GFP_KERNEL);

	if (!ff)
		return -ENOMEM;
	mutex_init(&ff->lock);
	file->private_data = ff;
	return 0;
}

static int floor_release(struct inode *inode, struct file *file)
{
	struct floor_file *ff = file->private_data;

	if (ff->pages)
		floor_release_pin(ff, 0, NULL);
	mutex_destroy(&ff->lock);
	kfree(ff);
	return 0;
}

static const struct file_operations floor_fops = {
	.owner = THIS_MODULE,
	.open = floor_open,
	.release = floor_release,
	.unlocked_ioctl = floor_ioctl,
};

static struct miscdevice floor_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vtop_floor",
	.fops = &floor_fops,
	.mode = 0600,
};

module_misc_device(floor_dev);
MODULE_DESCRIPTION("vtop benchmark floor: bare long-term GUP and unpin");
MODULE_LICENSE("GPL");
