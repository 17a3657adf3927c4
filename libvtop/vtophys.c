// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The library's own map: virtual address -> DMA address of registered
 * memory.
 *
 * Every entry, 4 KiB or 2 MiB, holds the difference DMA address - virtual
 * address of its pages (mod 2^64). A page's DMA address is then its
 * virtual address plus the entry, whatever the entry's size, and two
 * entries are DMA-contiguous exactly when they hold the same difference.
 * Both addresses are page aligned, so a difference is never
 * VTOP_VTOPHYS_ERROR, the value of pages not registered.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

/*
 * Allocated by the first initialization and kept for the life of the
 * process, so that the pointer vtop_vtophys_map() returns survives
 * vtop_env_fini() and vtop_env_init(): every registration is cleared from
 * it when it ends, so after a fini it holds nothing.
 */
struct vtop_mem_map *_Atomic vtop__vtophys_map;

const struct vtop_event_page vtop__no_events_page = {
	.size = sizeof(struct vtop_event_page), .version = 1,
};

struct vtop_ev_state vtop__ev = { .page = &vtop__no_events_page };

static int vtophys_contiguous(uint64_t prev, uint64_t next)
{
	return next == prev;
}

struct vtop_mem_map *vtop__dma_map_create(void)
{
	static const struct vtop_mem_map_ops ops = {
		.are_contiguous = vtophys_contiguous,
	};

	return vtop__map_create(VTOP_VTOPHYS_ERROR, &ops, NULL);
}

int vtop__vtophys_map_init_locked(void)
{
	struct vtop_mem_map *map;

	if (atomic_load(&vtop__vtophys_map))
		return 0;
	map = vtop__dma_map_create();
	if (!map)
		return vtop__err(-ENOMEM, "out of memory for the vtophys map");
	atomic_store_explicit(&vtop__vtophys_map, map, memory_order_release);
	return 0;
}


int vtop__map_fill_segs(struct vtop_mem_map *map,
			const struct vtop_segment *segs, uint32_t nr,
			uint64_t *n2m, uint64_t *n4k)
{
	struct vtop_map_range small[16], *r = small;
	uint32_t k;
	int rc;

	/* Small pins (the common case per call) need no allocation. */
	if (nr > VTOP_ARRAY_SIZE(small)) {
		r = vtop_calloc(nr, sizeof(*r));
		if (!r)
			return vtop__err(-ENOMEM, "out of memory filling the vtophys map");
	} else if (nr > 1) {
		memset(small, 0, sizeof(small));
	} else {
		/* One segment (a small pin, one folio): one range. */
		struct vtop_map_range one = { 0 };

		if (nr) {
			one.va = segs[0].vaddr;
			one.len = segs[0].len;
			one.value = segs[0].dma_addr - segs[0].vaddr;
			one.allow_2m = segs[0].page_shift >= VTOP_SHIFT_2M;
		}
		return vtop__map_set_ranges(map, &one, nr, n2m, n4k);
	}
	for (k = 0; k < nr; k++) {
		r[k].va = segs[k].vaddr;
		r[k].len = segs[k].len;
		r[k].value = segs[k].dma_addr - segs[k].vaddr;
		r[k].allow_2m = segs[k].page_shift >= VTOP_SHIFT_2M;
	}
	rc = vtop__map_set_ranges(map, r, nr, n2m, n4k);
	if (r != small)
		free(r);
	return rc;
}

int vtop__vtophys_fill_slow(const struct vtop_segment *segs, uint32_t nr,
			   uint64_t *n2m, uint64_t *n4k)
{
	return vtop__map_fill_segs(atomic_load(&vtop__vtophys_map), segs, nr,
				   n2m, n4k);
}

void vtop__map_clear_range(struct vtop_mem_map *map, uint64_t va,
			   uint64_t len)
{
	struct vtop_map_range r = {
		.va = va, .len = len, .value = VTOP_VTOPHYS_ERROR,
		.allow_2m = true,
	};

	/*
	 * Clearing a registered range allocates nothing: its tables exist
	 * and every 2 MiB entry in it lies wholly inside it.
	 */
	vtop__map_set_ranges(map, &r, 1, NULL, NULL);
}

void vtop__vtophys_clear_slow(uint64_t va, uint64_t len)
{
	vtop__map_clear_range(atomic_load(&vtop__vtophys_map), va, len);
}

static inline uint64_t entry_addr(uint64_t e, uint64_t va)
{
	return va + e;
}

VTOP_EXPORT
uint64_t vtop_vtophys(const void *buf, uint64_t *size)
{
	const struct vtop_mem_map *map;
	uint64_t va = (uintptr_t)buf, e;

	map = atomic_load_explicit(&vtop__vtophys_map, memory_order_acquire);
	if (!map)
		return VTOP_VTOPHYS_ERROR;
	if (__builtin_expect(vtop_ev_pending(), 0) && vtop__ev_sync())
		return VTOP_VTOPHYS_ERROR;
	if (!size)
		return vtop_vtophys_lookup(map, buf);
	e = vtop_mem_map_translate(map, va, size);
	if (e == VTOP_VTOPHYS_ERROR)
		return VTOP_VTOPHYS_ERROR;
	return entry_addr(e, va);
}

VTOP_EXPORT
const struct vtop_mem_map *vtop_vtophys_map(void)
{
	const struct vtop_mem_map *map;
	int rc;

	/* A callback runs under vtop__lock with the environment up. */
	if (vtop__in_callback)
		return atomic_load(&vtop__vtophys_map);
	pthread_mutex_lock(&vtop__lock);
	rc = vtop__env_check_child("vtop_vtophys_map");
	if (!rc)
		rc = vtop__env_ensure_locked();
	map = rc ? NULL : atomic_load(&vtop__vtophys_map);
	pthread_mutex_unlock(&vtop__lock);
	if (rc)
		errno = -rc;
	return map;
}

int vtop__get_segs(const struct vtop_mem_map *map, const void *vaddr,
		   size_t len, struct vtop_segment *segs, uint32_t *nr_segs)
{
	uint64_t va = (uintptr_t)vaddr, end, e, dma, chunk;
	struct vtop_segment cur = { 0 };
	uint32_t cap, n = 0;
	unsigned int shift;

	if (!nr_segs || (!segs && *nr_segs))
		return vtop__err(-EINVAL, "get_segs: NULL argument");
	if (!len || va >= VTOP_VA_LIMIT || len > VTOP_VA_LIMIT - va)
		return vtop__err(-EINVAL, "get_segs: bad range 0x%llx+0x%zx",
				(unsigned long long)va, len);
	if (!map)
		return vtop__err(-EINVAL, "get_segs: nothing is registered");
	if (__builtin_expect(vtop_ev_pending(), 0)) {
		int rc = vtop__ev_sync();

		if (rc)
			return rc;
	}
	cap = *nr_segs;
	end = va + len;
	while (va < end) {
		e = vtop__map_lookup(map, va, &shift);
		if (e == VTOP_VTOPHYS_ERROR)
			return vtop__err(-EINVAL, "get_segs: 0x%llx is not registered",
					(unsigned long long)va);
		dma = entry_addr(e, va);
		chunk = (1ULL << shift) - (va & ((1ULL << shift) - 1));
		if (chunk > end - va)
			chunk = end - va;
		if (cur.len && cur.dma_addr + cur.len == dma) {
			cur.len += chunk;
			if (shift < cur.page_shift)
				cur.page_shift = shift;
		} else {
			if (cur.len && n++ < cap)
				segs[n - 1] = cur;
			cur = (struct vtop_segment){
				.vaddr = va, .dma_addr = dma, .len = chunk,
				.page_shift = shift,
			};
		}
		va += chunk;
	}
	if (n++ < cap)
		segs[n - 1] = cur;
	*nr_segs = n;
	if (n > cap)
		return vtop__err(-ENOBUFS, "get_segs: %u segments needed, room for %u",
				n, cap);
	return 0;
}

VTOP_EXPORT
int vtop_mem_get_segs(const void *vaddr, size_t len,
		      struct vtop_segment *segs, uint32_t *nr_segs)
{
	return vtop__get_segs(atomic_load_explicit(&vtop__vtophys_map,
						   memory_order_acquire),
			      vaddr, len, segs, nr_segs);
}
