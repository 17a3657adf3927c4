// SPDX-License-Identifier: GPL-2.0-only
/*
 * An RDMA memory-region cache on libvtop's consumer maps (see mrcache.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "mrcache.h"

/* An ibv_sge's length is 32 bits: longer runs take several elements. */
#define MRC_SGE_MAX_LEN	(1U << 31)

static int mrc_register(struct mrc *c, struct vtop_mem_map *map, void *vaddr,
			size_t size)
{
	struct ibv_mr *mr;
	int ret;

	errno = 0;
	mr = ibv_reg_mr(c->pd, vaddr, size, MRC_ACCESS);
	if (!mr) {
		ret = errno ? errno : ENOMEM;
		c->stats.reg_failed++;
		c->stats.last_reg_errno = ret;
		return -ret;
	}
	ret = vtop_mem_map_set_translation(map, (uint64_t)(uintptr_t)vaddr,
					   size, (uint64_t)(uintptr_t)mr);
	if (ret) {
		/* The map is unchanged; the region was never visible. */
		ibv_dereg_mr(mr);
		return ret;
	}
	c->stats.registered++;
	c->stats.nr_mrs++;
	return 0;
}

static int mrc_deregister(struct mrc *c, struct vtop_mem_map *map,
			  void *vaddr, size_t size, int invalidate)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr;
	struct ibv_mr *mr;
	int ret;

	mr = (struct ibv_mr *)(uintptr_t)vtop_mem_map_translate(map, va, NULL);
	/* libvtop reports whole registrations: exactly one region each. */
	if (!mr || mr->addr != vaddr || mr->length != size)
		return -ENOENT;
	/* No lookup may find the region once it is being deregistered. */
	ret = vtop_mem_map_clear_translation(map, va, size);
	if (ret)
		return ret;
	c->stats.nr_mrs--;
	/* Read by other threads when libvtop's event thread runs this. */
	if (invalidate)
		__atomic_add_fetch(&c->stats.invalidated, 1, __ATOMIC_RELEASE);
	else
		c->stats.deregistered++;
	ret = ibv_dereg_mr(mr);
	if (ret) {
		c->stats.dereg_failed++;
		return ret > 0 ? -ret : ret;
	}
	return 0;
}

/* Runs with libvtop's registration lock held: no libvtop call but maps. */
static int mrc_notify(void *cb_ctx, struct vtop_mem_map *map,
		      enum vtop_mem_map_notify_action action, void *vaddr,
		      size_t size)
{
	struct mrc *c = cb_ctx;

	switch (action) {
	case VTOP_MEM_MAP_NOTIFY_REGISTER:
		return mrc_register(c, map, vaddr, size);
	case VTOP_MEM_MAP_NOTIFY_UNREGISTER:
		return mrc_deregister(c, map, vaddr, size, 0);
	case VTOP_MEM_MAP_NOTIFY_INVALIDATE:
		/* The pages are gone from the address space: so is the MR. */
		return mrc_deregister(c, map, vaddr, size, 1);
	}
	return -EINVAL;
}

/* Pages of one memory region continue each other; of two, never. */
static int mrc_same_mr(uint64_t mr1, uint64_t mr2)
{
	return mr1 == mr2;
}

int mrc_create(struct ibv_pd *pd, struct mrc **out)
{
	const struct vtop_mem_map_ops ops = {
		.notify_cb = mrc_notify,
		.are_contiguous = mrc_same_mr,
		.size = sizeof(ops),
	};
	struct mrc *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->pd = pd;
	/* Replays REGISTER for what libvtop holds already. */
	c->map = vtop_mem_map_alloc(0, &ops, c);
	if (!c->map) {
		int ret = -errno;

		free(c);
		return ret ? ret : -ENOMEM;
	}
	*out = c;
	return 0;
}

void mrc_destroy(struct mrc *c)
{
	if (!c)
		return;
	/* UNREGISTER for every registration: every region is deregistered. */
	vtop_mem_map_free(&c->map);
	free(c);
}

/* Bytes of @mr's range from @va on (@va is inside it: the map says so). */
static inline uint64_t mrc_rest(const struct ibv_mr *mr, uint64_t va)
{
	return (uint64_t)(uintptr_t)mr->addr + mr->length - va;
}

int mrc_sges(const struct mrc *c, const void *addr, size_t len,
	     struct ibv_sge *sge, int max)
{
	uint64_t va = (uint64_t)(uintptr_t)addr, run;
	struct ibv_mr *mr;
	int n = 0;

	if (!len)
		return -EINVAL;
	while (len) {
		/*
		 * The region knows its own end: one lookup per element, not
		 * one per page (vtop_mem_map_translate() with a size would
		 * extend the run page by page through mrc_same_mr()).
		 */
		mr = mrc_lookup(c, (const void *)(uintptr_t)va);
		if (!mr)
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		run = mrc_rest(mr, va);
		if (run > len)
			run = len;
		if (run > MRC_SGE_MAX_LEN)
			run = MRC_SGE_MAX_LEN;
		sge[n].addr = va;
		sge[n].length = (uint32_t)run;
		sge[n].lkey = mr->lkey;
		n++;
		va += run;
		len -= run;
	}
	return n;
}

int mrc_rkey(const struct mrc *c, const void *addr, size_t len,
	     uint32_t *rkey)
{
	uint64_t va = (uint64_t)(uintptr_t)addr, rest;
	struct ibv_mr *mr;

	if (!len)
		return -EINVAL;
	mr = mrc_lookup(c, addr);
	if (!mr)
		return -EINVAL;
	rest = mrc_rest(mr, va);
	if (rest < len)
		return mrc_lookup(c, (const void *)(uintptr_t)(va + rest)) ?
		       -ERANGE : -EINVAL;
	*rkey = mr->rkey;
	return 0;
}
