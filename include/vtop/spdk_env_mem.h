/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtop's SPDK compatibility header (since 0.4): the memory part of
 * SPDK's env API (spdk/env.h) -- spdk_mem_register/unregister, spdk_mem_map_*,
 * spdk_vtophys, spdk_dma_* and spdk_malloc/zmalloc/free -- mapped onto
 * libvtop, so that SPDK-style memory code compiles unchanged:
 *
 *	#include <vtop/spdk_env_mem.h>	(instead of <spdk/env.h>)
 *	cc app.c $(pkg-config --cflags --libs libvtop)
 *
 * Everything here is static inline over libvtop's exported API; nothing
 * is exported under an spdk_ name, so a program may not mix this header
 * with SPDK itself. Differences from SPDK's env_dpdk:
 *  - the environment is initialized implicitly (kmod backend, /dev/vtop)
 *    or by vtop_env_init(); there is no spdk_env_init() here;
 *  - a failing REGISTER callback makes spdk_mem_register() fail and undo
 *    (SPDK logs it and goes on);
 *  - memory unmapped while registered reaches the map as UNREGISTER (the
 *    SPDK action set has no INVALIDATE);
 *  - spdk_dma_*: DMA-contiguous up to 2 MiB always (hugetlb), beyond that
 *    only when available (see vtop_dma_malloc()); @socket_id is ignored;
 *    spdk_dma_realloc() is not provided.
 * Errors are SPDK's: -EINVAL, -EBUSY, -ERANGE in SPDK's order (vtop.h).
 */
#ifndef VTOP_SPDK_ENV_MEM_H
#define VTOP_SPDK_ENV_MEM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vtop.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPDK_VTOPHYS_ERROR	VTOP_VTOPHYS_ERROR
#define SPDK_ENV_SOCKET_ID_ANY	(-1)
#define SPDK_ENV_NUMA_ID_ANY	(-1)
#define SPDK_MALLOC_DMA		0x01
#define SPDK_MALLOC_SHARE	0x02

enum spdk_mem_map_notify_action {
	SPDK_MEM_MAP_NOTIFY_REGISTER,
	SPDK_MEM_MAP_NOTIFY_UNREGISTER,
};

/*
 * An SPDK map: the libvtop map behind it, and the SPDK callbacks, which
 * receive this struct as their map argument.
 */
struct spdk_mem_map;

typedef int (*spdk_mem_map_notify_cb)(void *cb_ctx, struct spdk_mem_map *map,
				      enum spdk_mem_map_notify_action action,
				      void *vaddr, size_t size);
typedef int (*spdk_mem_map_contiguous_translations)(uint64_t addr1,
						    uint64_t addr2);

struct spdk_mem_map_ops {
	spdk_mem_map_notify_cb notify_cb;
	spdk_mem_map_contiguous_translations are_contiguous;
};

struct spdk_mem_map {
	struct vtop_mem_map *vmap;
	struct spdk_mem_map_ops ops;
	void *cb_ctx;
};

/* libvtop's notify_cb for an SPDK map: @ctx is the struct spdk_mem_map. */
static inline int vtop__spdk_notify(void *ctx, struct vtop_mem_map *vmap,
				    enum vtop_mem_map_notify_action action,
				    void *vaddr, size_t size)
{
	struct spdk_mem_map *m = (struct spdk_mem_map *)ctx;

	m->vmap = vmap;		/* also while vtop_mem_map_alloc() replays */
	return m->ops.notify_cb(m->cb_ctx, m,
				action == VTOP_MEM_MAP_NOTIFY_REGISTER ?
				SPDK_MEM_MAP_NOTIFY_REGISTER :
				SPDK_MEM_MAP_NOTIFY_UNREGISTER, vaddr, size);
}

static inline struct spdk_mem_map *
spdk_mem_map_alloc(uint64_t default_translation,
		   const struct spdk_mem_map_ops *ops, void *cb_ctx)
{
	struct spdk_mem_map *m = (struct spdk_mem_map *)calloc(1, sizeof(*m));
	struct vtop_mem_map_ops vops;

	if (!m)
		return NULL;
	memset(&vops, 0, sizeof(vops));
	if (ops) {
		m->ops = *ops;
		vops.notify_cb = ops->notify_cb ? vtop__spdk_notify : NULL;
		vops.are_contiguous = ops->are_contiguous;
	}
	m->cb_ctx = cb_ctx;
	m->vmap = vtop_mem_map_alloc(default_translation, &vops, m);
	if (!m->vmap) {
		int err = errno;

		free(m);
		errno = err;
		return NULL;
	}
	return m;
}

static inline void spdk_mem_map_free(struct spdk_mem_map **pmap)
{
	if (!pmap || !*pmap)
		return;
	vtop_mem_map_free(&(*pmap)->vmap);
	free(*pmap);
	*pmap = NULL;
}

static inline int spdk_mem_map_set_translation(struct spdk_mem_map *map,
					       uint64_t vaddr, uint64_t size,
					       uint64_t translation)
{
	return map ? vtop_mem_map_set_translation(map->vmap, vaddr, size,
						  translation) : -EINVAL;
}

static inline int spdk_mem_map_clear_translation(struct spdk_mem_map *map,
						 uint64_t vaddr, uint64_t size)
{
	return map ? vtop_mem_map_clear_translation(map->vmap, vaddr, size) :
		     -EINVAL;
}

static inline uint64_t spdk_mem_map_translate(const struct spdk_mem_map *map,
					      uint64_t vaddr, uint64_t *size)
{
	return vtop_mem_map_translate(map->vmap, vaddr, size);
}

static inline int spdk_mem_register(void *vaddr, size_t len)
{
	return vtop_mem_register(vaddr, len);
}

static inline int spdk_mem_unregister(void *vaddr, size_t len)
{
	return vtop_mem_unregister(vaddr, len);
}

static inline uint64_t spdk_vtophys(const void *buf, uint64_t *size)
{
	return vtop_vtophys(buf, size);
}

static inline void *spdk_dma_malloc(size_t size, size_t align,
				    uint64_t *phys_addr)
{
	return vtop_dma_malloc(size, align, phys_addr);
}

static inline void *spdk_dma_zmalloc(size_t size, size_t align,
				     uint64_t *phys_addr)
{
	return vtop_dma_zmalloc(size, align, phys_addr);
}

static inline void *spdk_dma_malloc_socket(size_t size, size_t align,
					   uint64_t *phys_addr, int socket_id)
{
	(void)socket_id;
	return vtop_dma_malloc(size, align, phys_addr);
}

static inline void *spdk_dma_zmalloc_socket(size_t size, size_t align,
					    uint64_t *phys_addr, int socket_id)
{
	(void)socket_id;
	return vtop_dma_zmalloc(size, align, phys_addr);
}

static inline void spdk_dma_free(void *buf)
{
	(void)vtop_dma_free(buf);
}

/* SPDK_MALLOC_DMA or SPDK_MALLOC_SHARE: DMA memory; both are the same. */
static inline void *spdk_malloc(size_t size, size_t align, uint64_t *phys_addr,
				int socket_id, uint32_t flags)
{
	(void)socket_id;
	if (!(flags & (SPDK_MALLOC_DMA | SPDK_MALLOC_SHARE))) {
		errno = EINVAL;
		return NULL;
	}
	return vtop_dma_malloc(size, align, phys_addr);
}

static inline void *spdk_zmalloc(size_t size, size_t align, uint64_t *phys_addr,
				 int socket_id, uint32_t flags)
{
	(void)socket_id;
	if (!(flags & (SPDK_MALLOC_DMA | SPDK_MALLOC_SHARE))) {
		errno = EINVAL;
		return NULL;
	}
	return vtop_dma_zmalloc(size, align, phys_addr);
}

static inline void spdk_free(void *buf)
{
	(void)vtop_dma_free(buf);
}

#ifdef __cplusplus
}
#endif

#endif /* VTOP_SPDK_ENV_MEM_H */
