/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtop internals: shared between the library's files and the host tests
 * (which link libvtop.a or the sources directly). Nothing here is exported
 * from libvtop.so: every symbol is hidden unless marked VTOP_EXPORT.
 */
#ifndef LIBVTOP_INTERNAL_H
#define LIBVTOP_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vtop.h"

#define VTOP_EXPORT __attribute__((visibility("default")))

#define VTOP_SHIFT_4K	12
#define VTOP_SHIFT_2M	21
#define VTOP_SHIFT_1G	30
#define VTOP_SIZE_4K	(1ULL << VTOP_SHIFT_4K)
#define VTOP_SIZE_2M	(1ULL << VTOP_SHIFT_2M)
#define VTOP_SIZE_1G	(1ULL << VTOP_SHIFT_1G)
#define VTOP_VA_LIMIT	(1ULL << VTOP_MEM_MAP_VA_BITS)

#define VTOP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- util.c ------------------------------------------------------------ */

/*
 * Every allocation of the library goes through vtop_calloc(); the host
 * tests install a hook to make chosen allocations fail.
 */
extern void *(*vtop__calloc_hook)(size_t nmemb, size_t size);

static inline void *vtop_calloc(size_t nmemb, size_t size)
{
	if (vtop__calloc_hook)
		return vtop__calloc_hook(nmemb, size);
	return calloc(nmemb, size);
}

/*
 * A zeroed block aligned to 4 KiB (a 4 KiB leaf table then sits in one
 * page: one TLB entry per leaf). Through the hook, like vtop_calloc().
 */
static inline void *vtop_calloc_page(size_t size)
{
	void *p;

	if (vtop__calloc_hook)
		return vtop__calloc_hook(1, size);
	if (posix_memalign(&p, 4096, size))
		return NULL;
	return memset(p, 0, size);
}

/* Record a message for vtop_last_error() and return @err (negative). */
int vtop_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy an extensible struct that starts with a size_t size (see
 * struct vtop_env_opts): -EINVAL if smaller than @min, -E2BIG if bytes
 * beyond @known are not zero. @dst (of @known bytes) is zeroed first. */
int vtop_copy_sized(void *dst, size_t known, size_t min, const void *src);

/* ---- map.c ------------------------------------------------------------- */

/*
 * One range of a batched set: the pages of [va, va + len) get @value;
 * 2 MiB-aligned 2 MiB stretches take one 2 MiB entry if @allow_2m.
 */
struct vtop_map_range {
	uint64_t va;
	uint64_t len;
	uint64_t value;
	bool allow_2m;
};

/*
 * Apply ranges (sorted by address, non-overlapping, 4 KiB aligned, below
 * 2^48) all or nothing: -ENOMEM leaves the map unchanged. Entries set as
 * 2 MiB / 4 KiB are counted into *@n2m / *@n4k when not NULL.
 */
int vtop_map_set_ranges(struct vtop_mem_map *map,
			const struct vtop_map_range *r, size_t n,
			uint64_t *n2m, uint64_t *n4k);

/*
 * Looking one entry up (its value, and log2 of its size: 12 or 21; an area
 * with no table counts as 21) is vtop__map_lookup() of vtop.h.
 */

/* Create / destroy a map's tables without touching registrations. */
struct vtop_mem_map *vtop_map_create(uint64_t default_translation,
				     const struct vtop_mem_map_ops *ops,
				     void *cb_ctx);
void vtop_map_destroy(struct vtop_mem_map *map);

/* Notification bookkeeping kept in the map, used by mem.c. */
struct vtop_map_link {
	struct vtop_mem_map *prev;
	struct vtop_mem_map *next;
};
struct vtop_map_link *vtop_map_link(struct vtop_mem_map *map);
const struct vtop_mem_map_ops *vtop_map_ops(const struct vtop_mem_map *map);
void *vtop_map_cb_ctx(const struct vtop_mem_map *map);

/* ---- backends ---------------------------------------------------------- */

struct vtop_pin_result {
	uint64_t handle;
	/*
	 * vtop_calloc()ed and freed by the caller, or, with @borrowed, the
	 * backend's own array, valid until its next call (under vtop__lock).
	 */
	struct vtop_segment *segs;
	uint32_t nr_segs;
	bool borrowed;
};

struct vtop_backend_ops {
	const char *name;
	/* Pin [va, va + len); segments must cover it exactly, in order. */
	int (*pin)(void *ctx, uint64_t va, uint64_t len,
		   struct vtop_pin_result *res);
	int (*unpin)(void *ctx, uint64_t handle);
	/* VTOP_IOC_INFO, or NULL */
	int (*info)(void *ctx, struct vtop_info *info);
	void (*close)(void *ctx);
};

/* Options as the library knows them, already size-checked. */
int vtop_backend_kmod_open(const struct vtop_env_opts *opts,
			   const struct vtop_backend_ops **ops, void **ctx,
			   uint32_t *mode);
int vtop_backend_pagemap_open(const struct vtop_env_opts *opts,
			      const struct vtop_backend_ops **ops, void **ctx,
			      uint32_t *mode);

/* env.c: insert the vtop module with libkmod. */
int vtop_load_module(const char *module_path);

/* env.c: parse "DDDD:BB:SS.F" or "BB:SS.F". */
int vtop_parse_pci(const char *s, uint32_t *domain, uint32_t *bdf);

/* ---- env.c / mem.c: global state --------------------------------------- */

extern pthread_mutex_t vtop__lock;

/* Set while a notify callback runs in this thread. */
extern _Thread_local bool vtop__in_callback;

struct vtop_env {
	bool ready;
	uint32_t backend;
	uint32_t mode;
	const struct vtop_backend_ops *ops;
	void *ctx;
};
extern struct vtop_env vtop__env;

/* With vtop__lock held: initialize with default options if needed. */
int vtop_env_ensure_locked(void);

/*
 * Test hook: initialize the environment with a given backend (the host
 * tests' fake). Returns -EALREADY if initialized. Not exported.
 */
int vtop__env_init_backend(const struct vtop_backend_ops *ops, void *ctx,
			   uint32_t mode);

/* mem.c, with vtop__lock held: unregister everything (env fini). */
void vtop_mem_unregister_all_locked(void);

/*
 * Test hook (not exported): check the registration tree's
 * links, order, balance, heights and totals. Returns the number of
 * registrations, or -1 if anything is wrong.
 */
long vtop__mem_check_regs(void);

/* vtophys.c */
extern struct vtop_mem_map *_Atomic vtop__vtophys_map;
int vtop_vtophys_map_init_locked(void);
void vtop_vtophys_map_fini_locked(void);
/* Fill the vtophys map from a pin's segments; all or nothing. */
int vtop_vtophys_fill(const struct vtop_segment *segs, uint32_t nr,
		      uint64_t *n2m, uint64_t *n4k);
void vtop_vtophys_clear(uint64_t va, uint64_t len);

#endif /* LIBVTOP_INTERNAL_H */
