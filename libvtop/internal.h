/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtop internals: shared between the library's files and the host tests
 * (which link libvtop.a or the sources directly). Nothing here is exported
 * from libvtop.so: every symbol is hidden unless marked VTOP_EXPORT.
 */
#ifndef LIBVTOP_INTERNAL_H
#define LIBVTOP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
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
 * Test hooks exist only in the host tests' build of the objects
 * (-DVTOP_TEST_HOOKS, selftests/host/Makefile), never in the installed
 * libvtop.so or libvtop.a.
 *
 * Every allocation of the library goes through vtop_calloc(); the host
 * tests install a hook to make chosen allocations fail.
 */
#ifdef VTOP_TEST_HOOKS
extern void *(*vtop__calloc_hook)(size_t nmemb, size_t size);
#define VTOP__CALLOC_HOOK	vtop__calloc_hook
#else
#define VTOP__CALLOC_HOOK	((void *(*)(size_t, size_t))0)
#endif

static inline void *vtop_calloc(size_t nmemb, size_t size)
{
	if (VTOP__CALLOC_HOOK)
		return VTOP__CALLOC_HOOK(nmemb, size);
	return calloc(nmemb, size);
}

/*
 * A zeroed block aligned to 4 KiB (a 4 KiB leaf table then sits in one
 * page: one TLB entry per leaf). Through the hook, like vtop_calloc().
 */
static inline void *vtop_calloc_page(size_t size)
{
	void *p;

	if (VTOP__CALLOC_HOOK)
		return VTOP__CALLOC_HOOK(1, size);
	if (posix_memalign(&p, 4096, size))
		return NULL;
	return memset(p, 0, size);
}

/* Record a message for vtop_last_error() and return @err (negative). */
int vtop__err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy an extensible struct that starts with a size_t size (see
 * struct vtop_env_opts): -EINVAL if smaller than @min, -E2BIG if bytes
 * beyond @known are not zero. @dst (of @known bytes) is zeroed first. */
int vtop__copy_sized(void *dst, size_t known, size_t min, const void *src);

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
int vtop__map_set_ranges(struct vtop_mem_map *map,
			const struct vtop_map_range *r, size_t n,
			uint64_t *n2m, uint64_t *n4k);

/*
 * The fast path of one range: if @r lies inside one 2 MiB slot whose
 * tables exist (its level-2 table, and its leaf unless @r takes the whole
 * slot), apply it, which allocates nothing, and return true; otherwise
 * change nothing and return false (vtop__map_set_ranges() then does it).
 * Takes no lock: the caller keeps every other writer of @map out (the
 * vtophys map: every writer holds vtop__ev_lock).
 */
bool vtop__map_set_one_excl(struct vtop_mem_map *map,
			    const struct vtop_map_range *r,
			    uint64_t *n2m, uint64_t *n4k);
/*
 * The same for a pin's segments (in order, each 4 KiB aligned, as
 * vtop__check_segments() checks them) that all lie in one 2 MiB slot:
 * true if applied (as vtop__map_fill_segs() would), false if nothing was
 * changed because a table would be needed.
 */
bool vtop__map_fill_slot_excl(struct vtop_mem_map *map,
			      const struct vtop_segment *segs, uint32_t nr,
			      uint64_t *n2m, uint64_t *n4k);

/*
 * Looking one entry up (its value, and log2 of its size: 12 or 21; an area
 * with no table counts as 21) is vtop__map_lookup() of vtop.h.
 */

/* Create / destroy a map's tables without touching registrations. */
struct vtop_mem_map *vtop__map_create(uint64_t default_translation,
				     const struct vtop_mem_map_ops *ops,
				     void *cb_ctx);
void vtop__map_destroy(struct vtop_mem_map *map);

/* Notification bookkeeping kept in the map, used by mem.c. */
struct vtop__map_link {
	struct vtop_mem_map *prev;
	struct vtop_mem_map *next;
};
struct vtop__map_link *vtop__map_link(struct vtop_mem_map *map);
const struct vtop_mem_map_ops *vtop__map_ops(const struct vtop_mem_map *map);
void *vtop__map_cb_ctx(const struct vtop_mem_map *map);

/* ---- backends ---------------------------------------------------------- */

struct vtop_pin_result {
	/* in: VTOP_PIN_* flags for the pin (VTOP_PIN_READONLY) */
	uint32_t flags;
	uint64_t handle;
	/*
	 * vtop_calloc()ed and freed by the caller, or, with @borrowed, the
	 * backend's own array, valid until its next call (under vtop__lock).
	 */
	struct vtop_segment *segs;
	uint32_t nr_segs;
	bool borrowed;
};

/*
 * One invalidation record as the library uses it (the backend steps over
 * records of any size the kernel writes and copies the fields it knows).
 */
struct vtop_ev_rec {
	uint32_t reason;
	uint64_t handle;
	uint64_t vaddr;
	uint64_t length;
	uint64_t seq;
};

struct vtop_backend_ops {
	const char *name;
	/* Pin [va, va + len); segments must cover it exactly, in order. */
	int (*pin)(void *ctx, uint64_t va, uint64_t len,
		   struct vtop_pin_result *res);
	int (*unpin)(void *ctx, uint64_t handle);
	/* VTOP_IOC_INFO, or NULL */
	int (*info)(void *ctx, struct vtop_info *info);
	/*
	 * Close the descriptors and free @ctx. Also what a fork() child does
	 * with the parent's backend: closing the inherited descriptor does
	 * not unpin anything (the parent holds the file too).
	 */
	void (*close)(void *ctx);
	/*
	 * Invalidation events; all NULL when the backend has none.
	 * event_page: the mapped struct vtop_event_page (its seq is read with
	 * acquire semantics). event_fd: pollable, EPOLLIN while records are
	 * queued. read_events: up to @max records without blocking; returns
	 * how many (0: none) or -errno. get_invalidated: every live
	 * invalidated pin; *@handles is vtop_calloc()ed (freed by the
	 * caller), *@seq the event page's seq the list is complete for.
	 */
	const struct vtop_event_page *(*event_page)(void *ctx);
	int (*event_fd)(void *ctx);
	int (*read_events)(void *ctx, struct vtop_ev_rec *rec, size_t max);
	int (*get_invalidated)(void *ctx, uint64_t **handles, uint32_t *nr,
			       uint64_t *seq);
};

/* Options as the library knows them, already size-checked. */
int vtop__backend_kmod_open(const struct vtop_env_opts *opts,
			   const struct vtop_backend_ops **ops, void **ctx,
			   uint32_t *mode);
int vtop__backend_pagemap_open(const struct vtop_env_opts *opts,
			      const struct vtop_backend_ops **ops, void **ctx,
			      uint32_t *mode);

/* env.c: insert the vtop module with libkmod. */
int vtop__load_module(const char *module_path);

/* env.c: parse "DDDD:BB:SS.F" or "BB:SS.F". */
int vtop__parse_pci(const char *s, uint32_t *domain, uint32_t *bdf);

/* ---- dev.c: devices attached besides the environment's (since 0.5) ---- */

/* At most this many devices attached with vtop_dev_attach() at once. */
#define VTOP_DEV_MAX	8

/*
 * One attached device: its own backend descriptor (attached with
 * VTOP_IOC_ATTACH) and its own translation map (DMA address - virtual
 * address per page, as the vtophys map). Every registration is pinned on
 * it too; the handle is the registration's dev_handle[slot].
 */
struct vtop_dev {
	const struct vtop_backend_ops *ops;
	void *ctx;		/* NULL in a fork() child: closed */
	struct vtop_mem_map *map;
	unsigned int slot;
	uint32_t pci_domain;
	uint32_t pci_bdf;
	char name[16];		/* canonical DDDD:BB:SS.F */
	/*
	 * Revocation (since 0.6): the descriptor's event page (NULL without
	 * events) and the seq up to which its records were read; @revoked
	 * is set (under vtop__ev_lock) when a VTOP_EVENT_REVOKED record or a
	 * pin's -ENODEV says the module revoked the descriptor, and @map is
	 * emptied then; @revoke_done (vtop__lock) once every pin on it was
	 * unpinned; @need_probe (vtop__ev_lock): records were lost
	 * (VTOP_EVENT_OVERFLOW), INFO or a probe pin tells whether it was
	 * revoked.
	 */
	const struct vtop_event_page *evpage;
	_Atomic uint64_t ev_seen;
	_Atomic bool revoked;
	bool revoke_done;
	bool need_probe;
};

/*
 * The attached devices by slot (NULL: free). Writers hold vtop__lock and
 * vtop__ev_lock; readers either.
 */
extern struct vtop_dev *vtop__devs[VTOP_DEV_MAX];
extern unsigned int vtop__nr_devs;

/* One registration's pins on every attached device. */
struct vtop_dev_pins {
	struct vtop_pin_result res[VTOP_DEV_MAX];
	bool pinned[VTOP_DEV_MAX];
};

/*
 * With vtop__lock: pin [va, va + len) on every attached device, with
 * VTOP_PIN_* @flags, and check the segments. All or nothing: on failure
 * nothing stays pinned and the error names the device.
 */
int vtop__dev_pin_all(uint64_t va, uint64_t len, uint32_t flags,
		      struct vtop_dev_pins *p);
/* With vtop__ev_lock too: fill every device's map; all or nothing. */
int vtop__dev_fill_all(const struct vtop_dev_pins *p, uint64_t va,
		       uint64_t len);
/* Free the segment arrays (the pins stay). */
void vtop__dev_pins_done(struct vtop_dev_pins *p);
/* Unpin what vtop__dev_pin_all() pinned (undo), then free the arrays. */
void vtop__dev_unpin_pins(struct vtop_dev_pins *p);
/* With vtop__ev_lock: clear [va, va + len) from every device's map. */
void vtop__dev_clear_all(uint64_t va, uint64_t len);
/* With vtop__lock: unpin a registration's handles on every device. */
int vtop__dev_unpin_handles(const uint64_t *handles, uint32_t mask,
			    uint64_t va, uint64_t len);
/*
 * With vtop__ev_lock: read @d's records if its event page's seq moved;
 * a VTOP_EVENT_REVOKED record marks it revoked (its map emptied). With
 * @kick (outside processing), what still needs processing keeps the event
 * fd readable. 0 or the backend's error.
 */
int vtop__dev_sync_locked(struct vtop_dev *d, bool kick);
/* With vtop__ev_lock: mark @d revoked and empty its map. */
void vtop__dev_mark_revoked_locked(struct vtop_dev *d);
/*
 * With vtop__lock: read every device's records, probe after an overflow,
 * and unpin every pin on a device newly revoked. Returns how many devices
 * were newly revoked.
 */
int vtop__dev_process_locked(void);
/* mem.c, with vtop__ev_lock: clear every registration from @d's map. */
void vtop__mem_dev_clear_map_locked(struct vtop_dev *d);
/* mem.c, with vtop__lock: unpin every registration's pin on @d. */
void vtop__mem_dev_unpin_all_locked(struct vtop_dev *d);
/* mem.c, with vtop__lock: the first registration pinned on @d, or none. */
int vtop__mem_dev_first_reg_locked(const struct vtop_dev *d, uint64_t *va,
				   uint32_t *pin_flags);
/* env.c: add / remove a device's descriptor to the environment's event fd. */
void vtop__env_watch_dev(struct vtop_dev *d, bool add);
/*
 * env.c: keep the event fd readable until the events are processed (a
 * device was found revoked outside processing); processing drains it.
 */
void vtop__env_kick(void);
void vtop__env_kick_drain(void);
/* Set after a kick, cleared by the drain: a kick may be waiting. */
extern _Atomic bool vtop__env_kicked;
/* Environment's own device revoked (its pins -ENODEV or REVOKED seen). */
extern _Atomic bool vtop__env_revoked;
/* With vtop__lock: detach every device (env fini); or, in a fork child, forget them. */
void vtop__dev_detach_all_locked(void);
/* Fork child: close every device's descriptor (the parent keeps its pins). */
void vtop__dev_fork_child(void);
/* Pin the check_segments() of mem.c: 0 or -EIO. */
int vtop__check_segments(const struct vtop_pin_result *res, uint64_t va,
			 uint64_t len, const char *backend);
/* vtophys.c: fill @map from segments; all or nothing. */
int vtop__map_fill_segs(struct vtop_mem_map *map,
			const struct vtop_segment *segs, uint32_t nr,
			uint64_t *n2m, uint64_t *n4k);
/* vtophys.c: clear [va, va + len) from a DMA map (allocates nothing). */
void vtop__map_clear_range(struct vtop_mem_map *map, uint64_t va,
			   uint64_t len);
/* vtophys.c: vtop_mem_get_segs() on @map. */
int vtop__get_segs(const struct vtop_mem_map *map, const void *vaddr,
		   size_t len, struct vtop_segment *segs, uint32_t *nr_segs);
/* vtophys.c: a new DMA map (as the vtophys map), or NULL. */
struct vtop_mem_map *vtop__dma_map_create(void);
/*
 * mem.c, with vtop__lock: pin every registration on @d (not yet
 * published) into its handles at @d->slot and fill @d->map; all or
 * nothing. Then publish @d in vtop__devs (with vtop__ev_lock).
 */
int vtop__mem_attach_dev_locked(struct vtop_dev *d);
/* mem.c, with vtop__lock: unpublish @d and unpin it from every registration. */
void vtop__mem_detach_dev_locked(struct vtop_dev *d, bool unpin);
/* dev.c: vtop_last_error() without "libvtop: " and " (strerror(@err))". */
void vtop__last_error_copy(char *buf, size_t size, int err);
/* env.c: the device node the environment opened (for a device's descriptor). */
const char *vtop__env_device_path(void);
/* env.c: the environment's own PCI device, or NULL. */
const char *vtop__env_pci_device(void);

#ifdef VTOP_TEST_HOOKS
/*
 * Test hook: open a device's backend (instead of the kmod backend) for
 * vtop_dev_attach(); NULL: the kmod backend (the fake environment then
 * refuses with -EOPNOTSUPP).
 */
extern int (*vtop__dev_open_hook)(const char *bdf,
				  const struct vtop_backend_ops **ops,
				  void **ctx);
#endif

/* ---- env.c / mem.c: global state --------------------------------------- */

/*
 * Locks, always taken in this order (the atfork prepare handler takes them
 * all in it):
 *   dma_lock	the DMA allocator (dma.c); held while it registers
 *   vtop__lock	registrations, the maps' notification list, the
 *		environment; held while callbacks run
 *   vtop__ev_lock	the registrations' invalidated marks and the tree's
 *		structure (writers hold both locks, readers either), the
 *		vtophys map's contents, the processed event seq; never held
 *		across a callback or a pin, so vtop_vtophys() may take it
 *   vtop__maps_lock	the list of every map (for fork)
 *   map->lock	one map's writers (any number of them, in list order)
 */
extern pthread_mutex_t vtop__lock;
extern pthread_mutex_t vtop__ev_lock;

/*
 * Set while a notify callback runs in this thread. Read on every call:
 * initial-exec, so that reading it is one load, not a __tls_get_addr()
 * call. The cost: libvtop.so is marked DF_STATIC_TLS, and a dlopen() of
 * it takes the library's whole TLS block, not just this byte, from
 * glibc's static TLS surplus (about 1.6 KiB by default, shared with every
 * other such library; once it is used up, dlopen() fails with "cannot
 * allocate memory in static TLS block"). So the block is kept to a few
 * bytes: no large thread-local array (util.c's messages are on the heap);
 * symbols_test.sh dlopen()s the library with the smallest surplus.
 */
extern _Thread_local bool vtop__in_callback
	__attribute__((tls_model("initial-exec")));

struct vtop_env {
	bool ready;
	bool implicit;		/* initialized by a call other than init */
	bool inherited;		/* this process is a fork() child */
	uint32_t backend;
	uint32_t mode;
	uint32_t flags;		/* VTOP_ENV_* in force */
	const struct vtop_backend_ops *ops;
	void *ctx;
	bool events;		/* the backend has invalidation events */
};
extern struct vtop_env vtop__env;

/*
 * The fast path's "anything new?" check: one acquire load of the event
 * page's seq (or of a never-changing one when there are no events) against
 * the last seq whose invalidations were marked. Kept in one cache line.
 */
struct vtop_ev_state {
	const struct vtop_event_page *_Atomic page;
	_Atomic uint64_t seen;
	_Atomic bool inherited;
} __attribute__((aligned(64)));
extern struct vtop_ev_state vtop__ev;

/* A page whose seq never changes: vtop__ev.page without events. */
extern const struct vtop_event_page vtop__no_events_page;

static inline bool vtop_ev_pending(void)
{
	const struct vtop_event_page *pg =
		atomic_load_explicit(&vtop__ev.page, memory_order_relaxed);

	return __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE) !=
	       atomic_load_explicit(&vtop__ev.seen, memory_order_relaxed);
}

/*
 * Slow path of the check: mark the registrations the kernel invalidated
 * and clear them from the vtophys map (no callback runs; they run when
 * the events are processed). Takes vtop__ev_lock. 0, -ECHILD in a fork
 * child, or the backend's error.
 */
int vtop__ev_sync(void);

/* With vtop__lock held: initialize with default options if needed. */
int vtop__env_ensure_locked(void);

/* With vtop__lock held: -ECHILD (and a message) in a fork child. */
int vtop__env_check_child(const char *what);

#ifdef VTOP_TEST_HOOKS
/*
 * Test hook: initialize the environment with a given backend (the host
 * tests' fake) and VTOP_ENV_* @flags. Returns -EALREADY if initialized.
 * Not exported.
 */
int vtop__env_init_backend(const struct vtop_backend_ops *ops, void *ctx,
			   uint32_t mode);
int vtop__env_init_backend_flags(const struct vtop_backend_ops *ops,
				 void *ctx, uint32_t mode, uint32_t flags);
#endif /* VTOP_TEST_HOOKS */
/* In vtop__env_init_backend_flags(): record the initialization as implicit. */
#define VTOP__ENV_IMPLICIT	(1U << 31)

/* mem.c, with vtop__lock held: unregister everything (env fini). */
void vtop__mem_unregister_all_locked(void);
/* mem.c, fork child: forget every registration, no callback, no unpin. */
void vtop__mem_forget_all(void);
/* mem.c, with vtop__lock held: process events; count or -errno. */
int vtop__mem_process_locked(void);
/* mem.c, with vtop__lock held: registrations live now. */
size_t vtop__mem_nr_regs_locked(void);
/* mem.c: a new backend's event page starts at @seq. */
void vtop__mem_ev_reset(uint64_t seq);
/* mem.c, fork child: empty the vtophys map. */
void vtop__mem_fork_child(void);

/*
 * Test hook (not exported): check the registration tree's
 * links, order, balance, heights and totals. Returns the number of
 * registrations, or -1 if anything is wrong.
 */
#ifdef VTOP_TEST_HOOKS
long vtop__mem_check_regs(void);
#endif

/* dma.c: the allocator's lock, for the atfork handlers (taken first). */
void vtop__dma_lock(void);
void vtop__dma_unlock(void);

/* map.c: every map, for the atfork handlers. */
void vtop__maps_lock_all(void);
void vtop__maps_unlock_all(void);
/* map.c: does this map get VTOP_MEM_MAP_NOTIFY_INVALIDATE? */
bool vtop__map_wants_invalidate(const struct vtop_mem_map *map);

/*
 * vtophys.c: the map is allocated once and never freed. Its only writer
 * is the library, always with vtop__ev_lock held (or in a fork() child
 * before it has threads): the fast path below needs no map->lock.
 */
extern struct vtop_mem_map *_Atomic vtop__vtophys_map;
int vtop__vtophys_map_init_locked(void);
/* vtophys.c: the general cases of the two below. */
int vtop__vtophys_fill_slow(const struct vtop_segment *segs, uint32_t nr,
			   uint64_t *n2m, uint64_t *n4k);
void vtop__vtophys_clear_slow(uint64_t va, uint64_t len);

/*
 * With vtop__ev_lock: fill the vtophys map from a pin's segments; all or
 * nothing. Segments in one ready 2 MiB slot (a small registration) take
 * the fast path.
 */
static inline int vtop__vtophys_fill(const struct vtop_segment *segs,
				     uint32_t nr, uint64_t *n2m,
				     uint64_t *n4k)
{
	if (vtop__map_fill_slot_excl(atomic_load_explicit(&vtop__vtophys_map,
							  memory_order_relaxed),
				     segs, nr, n2m, n4k))
		return 0;
	return vtop__vtophys_fill_slow(segs, nr, n2m, n4k);
}

/* With vtop__ev_lock: clear a registered range (allocates nothing). */
static inline void vtop__vtophys_clear(uint64_t va, uint64_t len)
{
	const struct vtop_map_range r = {
		.va = va, .len = len, .value = VTOP_VTOPHYS_ERROR,
		.allow_2m = true,
	};

	if (!vtop__map_set_one_excl(atomic_load_explicit(&vtop__vtophys_map,
							 memory_order_relaxed),
				    &r, NULL, NULL))
		vtop__vtophys_clear_slow(va, len);
}


#endif /* LIBVTOP_INTERNAL_H */
