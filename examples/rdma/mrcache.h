/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An RDMA memory-region cache on libvtop's consumer maps.
 *
 * The cache is a libvtop map whose notify callback registers every region
 * libvtop registers with the verbs device (ibv_reg_mr() on REGISTER) and
 * deregisters it when libvtop unregisters or invalidates it (ibv_dereg_mr()
 * on UNREGISTER and INVALIDATE). The translation of every page of a region
 * is its struct ibv_mr pointer, so the data path finds the keys of any
 * registered buffer with an inline, lock-free lookup, and a buffer that
 * spans two registrations is described as two scatter/gather elements.
 *
 * The application registers memory with vtop_mem_register() only; the cache
 * follows. It must let libvtop process invalidation events (poll
 * vtop_env_get_event_fd() and call vtop_mem_process_events(), or use
 * VTOP_ENV_EVENT_THREAD), otherwise a buffer unmapped while registered keeps
 * its memory region, whose keys then reach the old pages.
 */
#ifndef VTOP_RDMA_MRCACHE_H
#define VTOP_RDMA_MRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>
#include <vtop.h>

/* Access flags of every memory region the cache registers. */
#define MRC_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

/**
 * struct mrc_stats - what a cache did
 * @nr_mrs:		memory regions alive now
 * @registered:		ibv_reg_mr() calls that succeeded
 * @reg_failed:		ibv_reg_mr() calls that failed
 * @last_reg_errno:	errno of the last failed ibv_reg_mr() (0: none)
 * @deregistered:	ibv_dereg_mr() calls for an UNREGISTER
 * @invalidated:	ibv_dereg_mr() calls for an INVALIDATE (updated atomically,
 *			with release order: another thread may watch it when
 *			libvtop's event thread runs the callbacks)
 * @dereg_failed:	ibv_dereg_mr() calls that failed
 */
struct mrc_stats {
	uint64_t nr_mrs;
	uint64_t registered;
	uint64_t reg_failed;
	int last_reg_errno;
	uint64_t deregistered;
	uint64_t invalidated;
	uint64_t dereg_failed;
};

struct mrc {
	struct vtop_mem_map *map;	/* page -> (uintptr_t)struct ibv_mr * */
	struct ibv_pd *pd;
	struct mrc_stats stats;
};

/**
 * mrc_create() - allocate a cache for a protection domain
 * @pd: the protection domain every memory region is registered in
 * @out: the cache
 *
 * Memory registered with libvtop before the call is registered with the
 * device now (libvtop replays REGISTER for every registration).
 *
 * Returns: 0 or -errno (an error of ibv_reg_mr() during the replay, in which
 * case the regions already registered were deregistered again).
 */
int mrc_create(struct ibv_pd *pd, struct mrc **out);

/**
 * mrc_destroy() - deregister every memory region and free the cache
 * @c: NULL or the cache
 *
 * The memory stays registered with libvtop. No work request may still use
 * one of the cache's keys.
 */
void mrc_destroy(struct mrc *c);

/**
 * mrc_lookup() - the memory region of the page holding @addr
 *
 * Inline and lock-free (two or three dependent loads). NULL when @addr is
 * not registered with libvtop.
 */
static inline struct ibv_mr *mrc_lookup(const struct mrc *c, const void *addr)
{
	return (struct ibv_mr *)(uintptr_t)
	       vtop_mem_map_lookup(c->map, (uint64_t)(uintptr_t)addr);
}

/**
 * mrc_sges() - scatter/gather elements for a local buffer
 * @c: the cache
 * @addr: start of the buffer
 * @len: its bytes, > 0
 * @sge: array of @max elements
 * @max: its capacity
 *
 * One element per memory region the buffer touches, in address order, each
 * with the region's lkey.
 *
 * Returns: the number of elements; -EINVAL if @len is 0 or a byte is not
 * registered; -E2BIG if more than @max elements are needed.
 */
int mrc_sges(const struct mrc *c, const void *addr, size_t len,
	     struct ibv_sge *sge, int max);

/**
 * mrc_rkey() - the rkey that lets a peer access a whole buffer
 *
 * Returns: 0 with *@rkey set; -EINVAL if a byte of [@addr, @addr + @len) is
 * not registered; -ERANGE if the buffer spans more than one memory region
 * (a remote access names one rkey).
 */
int mrc_rkey(const struct mrc *c, const void *addr, size_t len,
	     uint32_t *rkey);

#endif /* VTOP_RDMA_MRCACHE_H */
