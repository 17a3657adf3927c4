/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtop: process-wide DMA memory registration and translation maps.
 *
 * Memory is made usable for DMA with vtop_mem_register(): the library pins
 * it through a backend (the vtop kernel module by default), records the
 * DMA address of every page in its own translation map (vtop_vtophys()) and
 * tells every consumer map (vtop_mem_map_alloc() with a notify_cb) about the
 * new region. A consumer (an NVMe queue, an RDMA memory-region table, a DMA
 * engine) keeps its own per-page values in its map and looks them up with
 * vtop_mem_map_translate(), which takes no lock.
 *
 * Every function that can fail returns a negative errno value (or, where it
 * returns a pointer, NULL with errno set); vtop_last_error() then describes
 * the failure in words.
 *
 * Thread safety: registration, unregistration, event processing, map
 * allocation and freeing and environment set-up are serialized by one
 * process-wide mutex (the registration lock). Notification callbacks run
 * with that mutex held, so they must not call vtop_env_*,
 * vtop_mem_register/unregister, vtop_mem_process_events,
 * vtop_mem_map_alloc/free, vtop_dev_attach/detach or vtop_mem_get_stats (those return -EDEADLK, or
 * do nothing, when called from a callback); they may translate,
 * vtop_vtophys() and set or clear translations in any map.
 * vtop_mem_map_translate() and the inline lookups are lock-free and may run
 * at any time in any thread; vtop_vtophys() and vtop_mem_get_segs() are
 * lock-free too except right after an invalidation (below), when the first
 * caller takes a short internal lock that is never held across a callback
 * or a pin.
 *
 * Invalidation events (since 0.3, kmod backend, module with
 * VTOP_FEATURE_EVENTS): when registered memory stops being mapped at its
 * address (munmap(), mremap() away, madvise(MADV_DONTNEED/MADV_FREE/
 * MADV_REMOVE), truncation of a shared file or memfd, and some spurious
 * cases such as a THP split: see include/uapi/linux/vtop.h), the kernel
 * reports it on the library's descriptor. The library then (1) stops
 * vtop_vtophys() and vtop_mem_get_segs() from answering for that memory, at
 * the first call that sees the event page's sequence number move (one
 * acquire load per call), and (2) when the events are processed -- in
 * vtop_mem_process_events(), at the start of every vtop_mem_register() and
 * vtop_mem_unregister(), or in the library's event thread
 * (VTOP_ENV_EVENT_THREAD) -- tells every consumer map
 * (VTOP_MEM_MAP_NOTIFY_INVALIDATE, or UNREGISTER for maps that did not ask
 * for it), unpins the pages and frees the address range for a new
 * registration. A registration is invalidated as a whole, once, even when
 * only one of its pages was unmapped; the pages still mapped must be
 * registered again. The pagemap backend pins nothing and has no events:
 * memory unmapped while registered with it keeps its stale translations
 * until unregistered (it is for hugetlb memory an application keeps).
 *
 * fork(): the library's pthread_atfork() handlers take its locks in a fixed
 * order before the fork and release them after it, so a fork never leaves
 * a lock held in the child (also while another thread registers memory or
 * runs a callback). In the child the inherited environment is marked as
 * inherited: its /dev/vtop descriptor and event page are closed (the
 * parent's pins stay the parent's and end with it), the vtophys map is
 * emptied (the inline lookups return VTOP_VTOPHYS_ERROR too),
 * vtop_vtophys() returns VTOP_VTOPHYS_ERROR, and register, unregister,
 * vtop_mem_process_events, vtop_env_get_info, vtop_env_get_event_fd,
 * vtop_mem_get_segs and vtop_env_init return -ECHILD; no callback runs on
 * the state inherited from the parent. Consumer maps keep their contents.
 * vtop_env_fini() in the child forgets the inherited registrations
 * (without callbacks or unpinning), and a following vtop_env_init() gives
 * the child its own environment. Handlers do not run for a raw clone() or
 * vfork() without exec. VTOP_ENV_DONTFORK keeps registered memory out of
 * children altogether (MADV_DONTFORK).
 */
#ifndef VTOP_H
#define VTOP_H

#include <stddef.h>
#include <stdint.h>

/* The kernel ABI travels with the library (installed next to this file). */
#include "uapi/linux/vtop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Address bits a map covers: translations exist below 2^48 only. */
#define VTOP_MEM_MAP_VA_BITS	48

/* ---------------------------------------------------------------------------
 * Environment
 */

/** Backends, in struct vtop_env_opts.backend. */
enum vtop_backend {
	/* Pin through the vtop kernel module (/dev/vtop). Default. */
	VTOP_BACKEND_KMOD = 0,
	/*
	 * Read /proc/self/pagemap (needs CAP_SYS_ADMIN). Pins nothing, so it
	 * accepts hugetlb-backed memory only. Physical addresses only.
	 */
	VTOP_BACKEND_PAGEMAP = 1,
};

/* struct vtop_env_opts.flags */
/* kmod backend: if the device is missing, load the module with libkmod. */
#define VTOP_ENV_LOAD_MODULE	(1U << 0)
/*
 * kmod backend (since 0.3): start a library thread that waits on the event
 * descriptor and processes invalidations as they come (callbacks then run
 * in that thread). -EOPNOTSUPP without events (the pagemap backend, a
 * module without VTOP_FEATURE_EVENTS).
 */
#define VTOP_ENV_EVENT_THREAD	(1U << 1)
/*
 * Since 0.3: madvise(MADV_DONTFORK) every registered range before pinning
 * it, as ibv_fork_init() does for RDMA (a child created by fork() then has
 * no mapping there at all), and MADV_DOFORK when it is unregistered (not
 * when it is invalidated: the range is no longer the registered memory).
 * A range the kernel refuses (hugetlb memory not aligned to its page size)
 * fails the registration with that error. Overrides MADV_DOFORK/DONTFORK
 * the application set on the same pages. It also spares THP and private
 * hugetlb registrations the invalidation a fork() causes in the parent
 * (the kernel splits a pinned THP and invalidates a private hugetlb
 * mapping when it copies them for the child): without it, such a
 * registration gets INVALIDATE after every fork() (system(), popen()...).
 */
#define VTOP_ENV_DONTFORK	(1U << 2)

/**
 * struct vtop_env_opts - options for vtop_env_init()
 * @size:	sizeof(struct vtop_env_opts) as the caller knows it; smaller
 *		than the first version: -EINVAL; larger than this library
 *		knows: the extra bytes must be zero (-E2BIG otherwise)
 * @backend:	enum vtop_backend
 * @flags:	VTOP_ENV_* flags; unknown bits: -EINVAL
 * @device_path: kmod backend: the device node; NULL means "/dev/vtop"
 * @module_path: kmod backend with VTOP_ENV_LOAD_MODULE: insert this .ko
 *		file instead of looking "vtop" up in the module index; NULL
 *		means look it up (modprobe-style)
 * @pci_device:	kmod backend: NULL for CPU physical addresses, or the PCI
 *		address "DDDD:BB:SS.F" (or "BB:SS.F", domain 0) of the one
 *		device the memory is for; every address the library returns
 *		is then that device's IOVA (VTOP_IOC_ATTACH)
 *
 * Initialize with VTOP_ENV_OPTS_INIT (or zero it and set @size).
 *
 * Since: 0.1
 */
struct vtop_env_opts {
	size_t size;
	uint32_t backend;
	uint32_t flags;
	const char *device_path;
	const char *module_path;
	const char *pci_device;
};

#define VTOP_ENV_OPTS_INIT { .size = sizeof(struct vtop_env_opts) }

/**
 * vtop_env_init() - choose the backend and open it
 * @opts: options, or NULL for the defaults (kmod backend, /dev/vtop, no
 *	  module loading, physical addresses)
 *
 * Done implicitly by the first vtop_mem_register(), vtop_env_get_info(),
 * vtop_env_get_event_fd() or vtop_vtophys_map() (the implicit
 * initialization), with the options of the last successful vtop_env_init()
 * of the process (copied, strings included; they survive vtop_env_fini()),
 * or the defaults if there was none. vtop_env_init(NULL) explicitly chooses
 * (and from then on remembers) the defaults.
 *
 * After an implicit initialization, vtop_env_init() adopts @opts if
 * nothing is registered (the backend is reopened with them; maps, and the
 * pointer vtop_vtophys_map() returned, stay valid); if something is
 * registered or a device is attached (vtop_dev_attach()), it returns 0
 * when @opts equal the options in force and -EBUSY otherwise. Options are never replaced silently.
 *
 * Returns: 0; -EALREADY if already initialized by vtop_env_init(); -EBUSY
 * (above); -ECHILD in a fork() child that has not called vtop_env_fini();
 * -EINVAL for bad options;
 * -ENOENT if the device is missing (and could not, or might not, be
 * loaded); -EPERM or -EACCES if the caller may not open it; -EOPNOTSUPP
 * if the module or backend lacks a feature the options ask for (such as
 * attaching to a PCI device); -EPROTO for an ABI mismatch; other errors
 * from the backend. vtop_last_error() says what to do about it.
 *
 * Since: 0.1
 */
int vtop_env_init(const struct vtop_env_opts *opts);

/**
 * vtop_env_fini() - unregister everything and close the backend
 *
 * Pending invalidation events are processed, every remaining registration
 * is unregistered (maps are notified as by vtop_mem_unregister()), the
 * event thread is stopped, the backend is closed, and vtop_env_init() may
 * be called again. Maps stay allocated, and so does the vtophys map
 * (vtop_vtophys_map() returns the same pointer for the life of the
 * process). The options are remembered for a later implicit
 * initialization. Errors of callbacks and unpins are counted in
 * struct vtop_mem_stats. In a fork() child, the inherited registrations
 * are forgotten without callbacks or unpinning. No thread may call
 * vtop_vtophys() or vtop_mem_get_segs() concurrently.
 *
 * Since: 0.1
 */
void vtop_env_fini(void);

/**
 * vtop_env_get_info() - VTOP_IOC_INFO on the library's device descriptor
 * @info: @info->size must be set to sizeof(struct vtop_info) by the caller
 *
 * Reports the module's view of the library's pins (nr_pins, pinned_bytes,
 * mode, attached device...). Initializes the environment if needed.
 *
 * Returns: 0; -EOPNOTSUPP when the backend is not kmod; -ECHILD in a fork()
 * child; an error from vtop_env_init() or from the ioctl.
 *
 * Since: 0.1
 */
int vtop_env_get_info(struct vtop_info *info);

/**
 * vtop_env_get_event_fd() - a descriptor to wait on for invalidations
 *
 * For an application's own event loop: add the descriptor to poll(),
 * epoll or io_uring for reading (EPOLLIN); when it is readable, call
 * vtop_mem_process_events(). Do not read from it, close it or change its
 * flags. It stays valid until vtop_env_fini(). Initializes the environment
 * if needed. Since 0.6 it is an epoll instance watching the environment's
 * descriptor and every attached device's (vtop_dev_attach()), so it is
 * also readable when a device is revoked; it is the same descriptor for
 * the whole life of the environment, devices attached or not.
 *
 * Latency: the kernel queues the event during the munmap() (or other
 * operation) itself, so the descriptor is readable when that call returns;
 * a thread blocked on it is woken within the scheduler's wake-up latency
 * (typically tens of microseconds on an idle CPU, more under load), and
 * the callbacks run once vtop_mem_process_events() gets the registration
 * lock (after any register, unregister or callback in progress). Until
 * then vtop_vtophys() and vtop_mem_get_segs() already refuse the memory;
 * the inline lookups and consumer maps do not.
 *
 * Returns: the descriptor (>= 0); -EOPNOTSUPP when the backend has no
 * events (pagemap; a module without VTOP_FEATURE_EVENTS); -ECHILD in a
 * fork() child; an error from the implicit initialization.
 *
 * Since: 0.3
 */
int vtop_env_get_event_fd(void);

/* ---------------------------------------------------------------------------
 * Maps
 */

enum vtop_mem_map_notify_action {
	VTOP_MEM_MAP_NOTIFY_REGISTER,
	VTOP_MEM_MAP_NOTIFY_UNREGISTER,
	/*
	 * Since 0.3, to maps whose ops have a size (others get UNREGISTER
	 * instead): the registration's memory was unmapped or replaced
	 * without being unregistered. Its pages are no longer what the
	 * range maps: stop all DMA to them and drop every value derived
	 * from them. vtop_vtophys() no longer translates the range when
	 * this runs; the pages are unpinned after every map was told.
	 */
	VTOP_MEM_MAP_NOTIFY_INVALIDATE,
};

struct vtop_mem_map;

/*
 * Called once per registration with its whole range: REGISTER, then
 * exactly one of UNREGISTER or INVALIDATE. Returns 0 or -errno (a positive
 * value counts as its negation). A failed REGISTER fails the registration
 * or the map allocation; a failed UNREGISTER or INVALIDATE cannot stop it:
 * it is counted (struct vtop_mem_stats.notify_errors), and
 * vtop_mem_unregister() returns it.
 */
typedef int (*vtop_mem_map_notify_cb)(void *cb_ctx, struct vtop_mem_map *map,
				      enum vtop_mem_map_notify_action action,
				      void *vaddr, size_t size);

/* Non-zero when a page translating to @addr2 continues one translating to
 * @addr1 (the page before it). Sizes unknown: see the _sz form below. */
typedef int (*vtop_mem_map_contiguous_cb)(uint64_t addr1, uint64_t addr2);

/*
 * Since 0.4: non-zero when the entry holding @value2 continues the entry
 * holding @value1, which lies just before it in the address space. @size1
 * and @size2 are the whole entries' sizes, 4096 or 2 MiB (1 << 21),
 * whatever part of the first one the lookup started in. The rule for a
 * value that is an address (as SPDK's vtophys values are): the entry maps
 * [value, value + size), the byte at va is value + (va & (size - 1)), and
 * the next entry continues it when value2 == value1 + size1. A stride
 * callback written for 2 MiB entries only (value2 - value1 == 2 MiB)
 * under-reports the run wherever a 4 KiB entry takes part.
 */
typedef int (*vtop_mem_map_contiguous_sz_cb)(uint64_t value1, uint64_t size1,
					     uint64_t value2, uint64_t size2);

/**
 * struct vtop_mem_map_ops - a map's callbacks
 * @notify_cb:	 NULL, or the registration notifications
 * @are_contiguous: NULL, or how vtop_mem_map_translate() extends a run
 * @size:	 since 0.3: sizeof(struct vtop_mem_map_ops) as the caller
 *		 knows it, or 0. With a size the map receives
 *		 VTOP_MEM_MAP_NOTIFY_INVALIDATE; with 0 (code written for
 *		 0.1/0.2, and binaries built against them) it receives
 *		 UNREGISTER for invalidations. A size below the 0.3 struct:
 *		 -EINVAL; larger: the extra bytes must be zero (-E2BIG).
 *
 * @are_contiguous_sz: since 0.4, NULL or how vtop_mem_map_translate()
 *		 extends a run, told both entries' sizes (see
 *		 vtop_mem_map_contiguous_sz_cb). Setting both it and
 *		 @are_contiguous is -EINVAL. A library older than 0.4 refuses
 *		 it (-E2BIG: bytes beyond the size it knows are not zero)
 *		 rather than ignore it.
 *
 * @size follows the 0.1 fields (not first, as in other sized structs) so
 * that 0.1 sources keep compiling and meaning what they meant.
 */
struct vtop_mem_map_ops {
	vtop_mem_map_notify_cb notify_cb;
	vtop_mem_map_contiguous_cb are_contiguous;
	size_t size;
	vtop_mem_map_contiguous_sz_cb are_contiguous_sz;
};

/**
 * vtop_mem_map_alloc() - create a translation map
 * @default_translation: the value of every page never set
 * @ops: NULL, or callbacks; without notify_cb the map is a plain table
 * @cb_ctx: passed to notify_cb
 *
 * With a notify_cb the map receives REGISTER for every existing
 * registration, one call per original registration in address order, before
 * this function returns, and from then on every REGISTER and UNREGISTER.
 * If a replayed REGISTER fails, the registrations already replayed get
 * UNREGISTER (in reverse order), the map is freed and NULL is returned with
 * errno set to the callback's error.
 *
 * Returns: the map, or NULL with errno set (ENOMEM, EINVAL or E2BIG for
 * a bad @ops->size, EDEADLK from a callback, ECHILD for a map with a
 * notify_cb in a fork() child, or the callback's error).
 *
 * Since: 0.1 (0.3: @ops->size; programs built against 0.1/0.2 keep the
 * old entry point, vtop_mem_map_alloc@LIBVTOP_0.1)
 */
struct vtop_mem_map *vtop_mem_map_alloc(uint64_t default_translation,
					const struct vtop_mem_map_ops *ops,
					void *cb_ctx);

/**
 * vtop_mem_map_free() - free a map
 * @pmap: NULL, or a pointer to a map pointer (which may be NULL); set to NULL
 *
 * A map with a notify_cb first receives UNREGISTER for every registration,
 * in address order (not in a fork() child). No thread may use the map any
 * more.
 *
 * Since: 0.1
 */
void vtop_mem_map_free(struct vtop_mem_map **pmap);

/**
 * vtop_mem_map_set_translation() - give every page of a range one value
 * @map: the map
 * @vaddr: start, a multiple of 4 KiB
 * @size: bytes, a multiple of 4 KiB; 0 does nothing
 * @translation: the value
 *
 * Each 2 MiB-aligned, 2 MiB-long stretch takes one 2 MiB entry; other
 * pages take 4 KiB entries. Writers to one map are serialized; readers
 * (vtop_mem_map_translate()) never block and see either the old or the new
 * value of each page.
 *
 * Returns: 0; -EINVAL for misalignment or a range reaching 2^48;
 * -ENOMEM with the map unchanged.
 *
 * Since: 0.1
 */
int vtop_mem_map_set_translation(struct vtop_mem_map *map, uint64_t vaddr,
				 uint64_t size, uint64_t translation);

/**
 * vtop_mem_map_clear_translation() - set a range back to the default
 *
 * As vtop_mem_map_set_translation() with the map's default translation.
 *
 * Since: 0.1
 */
int vtop_mem_map_clear_translation(struct vtop_mem_map *map, uint64_t vaddr,
				   uint64_t size);

/**
 * vtop_mem_map_translate() - look a page up
 * @map: the map
 * @vaddr: any address
 * @size: NULL, or in: bytes asked for; out: the bytes from @vaddr over which
 *	  the translation continues, at most the request
 *
 * Returns the value stored for the page holding @vaddr (not offset by the
 * position of @vaddr in the page), or the default translation for pages
 * never set and for addresses at or above 2^48 (then *@size is left as
 * it is: the whole request is untranslatable).
 *
 * The run reported in *@size is the rest of the entry holding @vaddr
 * (4 KiB or 2 MiB; an area whose tables were never allocated counts as
 * 2 MiB entries), extended entry by entry while the map has an
 * are_contiguous callback and are_contiguous(previous, next) holds (or
 * are_contiguous_sz(previous, its size, next, its size)). A run
 * starting at the default translation is not extended, and a page holding
 * the default never continues a run.
 *
 * Lock-free; safe against concurrent set/clear in other threads. A
 * consumer map holds what its callbacks stored: it changes for an
 * invalidation only when the events are processed. On the map
 * vtop_vtophys_map() returns, it checks for events first, as
 * vtop_vtophys() does.
 *
 * Since: 0.1
 */
uint64_t vtop_mem_map_translate(const struct vtop_mem_map *map, uint64_t vaddr,
				uint64_t *size);

/*
 * Inline lookups. The data path translates an address per I/O, so the
 * one-page lookups below are inlined into the caller: two dependent loads
 * for a 2 MiB entry and three for a 4 KiB entry, no call and no lock. They
 * read the first part of every map, whose layout is part of libvtop's ABI
 * (it changes only with the soname). The vtop__ names are that layout:
 * don't use them directly.
 *
 *   l1[VA bits 47..30] -> 512 slots (VA bits 29..21); a slot holds one
 *   2 MiB entry, or, when bit 0 of .leaf is set, points to 512 4 KiB
 *   entries (VA bits 20..12). Tables are freed only with the map.
 *
 * An l1 entry is the byte offset of its level-2 table from the map's own
 * table .empty, whose slots all hold the default translation: 0 (never
 * set) then reads .empty, so the lookup has no NULL test.
 */
#define VTOP__MAP_L1_ENTRIES	(1U << (VTOP_MEM_MAP_VA_BITS - 30))
#define VTOP__MAP_LEAF_ACTIVE	1ULL

struct vtop__map_slot {
	uint64_t leaf;		/* (uintptr_t)uint64_t[512] | LEAF_ACTIVE */
	uint64_t value;		/* the 2 MiB entry when no leaf is active */
};

struct vtop__map_head {
	uint64_t default_translation;
	uint64_t reserved[7];
	uint64_t l1[VTOP__MAP_L1_ENTRIES];	/* offsets from .empty */
	struct vtop__map_slot empty[512];
};

/*
 * The layout above, as a versioned symbol of the library (node
 * LIBVTOP_0.4): every object that includes this header references it, so
 * a program whose inline lookups read this layout binds to a library that
 * declares it, and refuses to load ("version `LIBVTOP_0.4' not found")
 * against an older one. A new layout gets a new name (and soname).
 */
extern const unsigned int vtop__map_layout_1;
static const unsigned int *const vtop__map_layout_ref
	__attribute__((used, unused)) = &vtop__map_layout_1;

/*
 * The lookup's rare cases as branches the compiler lays out of line and
 * never turns into a conditional move: __builtin_expect alone leaves GCC
 * at 90%, where it still prefers cmov (one more instruction on the path
 * every lookup takes).
 */
#if defined(__has_builtin)
#if __has_builtin(__builtin_expect_with_probability)
#define VTOP__USUALLY(x)	__builtin_expect_with_probability(!!(x), 1, 1.0)
#endif
#endif
#ifndef VTOP__USUALLY
#define VTOP__USUALLY(x)	__builtin_expect(!!(x), 1)
#endif

/*
 * The entry for @vaddr and log2 of its size (21 or 12).
 *
 * Written for few instructions per lookup (bench/translate.c compares it
 * with a bare two-level array): the level-1 index is computed once and
 * compared with the table's size (the same test as @vaddr >= 2^VA_BITS),
 * that rare case is out of line, and the slot's byte offset is added to
 * the level-2 offset as an integer. The sums are done in uintptr_t: a
 * level-2 table may lie below .empty (its offset is then a wrapped
 * "negative" number), and on a 32-bit consumer the sum wraps to 32 bits.
 */
static inline uint64_t vtop__map_lookup(const struct vtop_mem_map *map,
					uint64_t vaddr, unsigned int *shift)
{
	const struct vtop__map_head *h = (const struct vtop__map_head *)
					 (const void *)map;
	const uint64_t *l1 = h->l1, *leaf_word, *value, *leaf;
	uint64_t i1 = vaddr >> 30, lp;
	uintptr_t off;

	*shift = 21;
	if (!VTOP__USUALLY(i1 < VTOP__MAP_L1_ENTRIES))
		return h->default_translation;
	/* The slot's offset from .empty[0], as an integer (see above). */
	off = (uintptr_t)(__atomic_load_n(l1 + i1, __ATOMIC_ACQUIRE) +
			  ((vaddr >> 21) & 511) *
			  sizeof(struct vtop__map_slot));
	/*
	 * Both words of the slot as .empty[0]'s words + off, not as one
	 * slot pointer: each address is then used once and the compiler
	 * folds the add into the load.
	 */
	leaf_word = (const uint64_t *)((uintptr_t)&h->empty[0].leaf + off);
	value = (const uint64_t *)((uintptr_t)&h->empty[0].value + off);
	lp = __atomic_load_n(leaf_word, __ATOMIC_ACQUIRE);
	/*
	 * No hint here: with the 2 MiB entry as the likely side, GCC moves
	 * the leaf out of line and a 4 KiB lookup takes two jumps (4 KiB
	 * sequential lookups measured 30% slower); unhinted, each side
	 * takes one.
	 */
	if (!(lp & VTOP__MAP_LEAF_ACTIVE))
		return __atomic_load_n(value, __ATOMIC_ACQUIRE);
	*shift = 12;
	leaf = (const uint64_t *)(uintptr_t)(lp & ~VTOP__MAP_LEAF_ACTIVE);
	return __atomic_load_n(&leaf[(vaddr >> 12) & 511], __ATOMIC_ACQUIRE);
}

/**
 * vtop_mem_map_lookup() - look a page up, inlined
 * @map: the map
 * @vaddr: any address
 *
 * The same value as vtop_mem_map_translate(@map, @vaddr, NULL), without a
 * call: for the data path. Lock-free; safe against concurrent set/clear.
 * It checks for nothing: see vtop_vtophys_lookup() for what a value read
 * from a consumer map is worth after an invalidation.
 *
 * Since: 0.2
 */
static inline uint64_t vtop_mem_map_lookup(const struct vtop_mem_map *map,
					   uint64_t vaddr)
{
	unsigned int shift;

	return vtop__map_lookup(map, vaddr, &shift);
}

/* ---------------------------------------------------------------------------
 * Registration
 */

/**
 * vtop_mem_register() - make memory usable for DMA
 * @vaddr: start, a multiple of 4 KiB
 * @len: bytes, a multiple of 4 KiB; 0 does nothing
 *
 * Processes pending invalidation events first (so memory unmapped and
 * mapped again at the same address registers anew), then pins the range
 * through the backend (one pin per call, so a registration is one pin),
 * records it as one registration, fills the vtop_vtophys() map and
 * notifies every map with a notify_cb, in map creation order. If a
 * callback fails, the maps already notified get UNREGISTER (in reverse
 * order), the pages are unpinned, nothing stays registered and the
 * callback's error is returned. If the memory is invalidated while being
 * registered, the maps get REGISTER and then, when the event is
 * processed, INVALIDATE. With devices attached (vtop_dev_attach(), since
 * 0.5) the range is pinned and mapped for each of them too, all or
 * nothing: a device's failure undoes the rest and is returned, naming the
 * device in vtop_last_error().
 *
 * Returns: 0; -EINVAL for misalignment or a range reaching 2^48; -EBUSY if
 * any page is registered already; -ENOMEM; backend errors (kmod: -EFAULT
 * for unmapped or read-only memory -- read-only memory registers with
 * vtop_mem_register_ex(VTOP_MEM_REGISTER_READONLY) -- -ENOMEM over RLIMIT_MEMLOCK, -ENOSPC
 * over the pin limit...); madvise()'s error with VTOP_ENV_DONTFORK;
 * -ECHILD in a fork() child; -EDEADLK from a callback; a callback's error;
 * an error reading the events (nothing is registered then).
 *
 * Since: 0.1
 */
int vtop_mem_register(void *vaddr, size_t len);

/* vtop_mem_register_ex() flags */
/*
 * The device only reads the memory (DMA to the device): the pages are
 * pinned without FOLL_WRITE (VTOP_PIN_READONLY; the IOVA is mapped
 * DMA_TO_DEVICE), so read-only mappings -- a PROT_READ file mapping, a
 * read-only shared memfd -- can be registered, and private pages are not
 * copied (no COW break). The device must not write to them.
 */
#define VTOP_MEM_REGISTER_READONLY	(1U << 0)
/*
 * madvise(MADV_DONTFORK) the range before pinning it and MADV_DOFORK when
 * it is unregistered: VTOP_ENV_DONTFORK for this registration alone.
 */
#define VTOP_MEM_REGISTER_DONTFORK	(1U << 1)

/**
 * vtop_mem_register_ex() - vtop_mem_register() with flags
 * @vaddr: start, a multiple of 4 KiB
 * @len: bytes, a multiple of 4 KiB; 0 does nothing
 * @flags: VTOP_MEM_REGISTER_* flags
 *
 * As vtop_mem_register(@vaddr, @len), which is this call with @flags 0.
 *
 * Returns: as vtop_mem_register(); -EINVAL for unknown @flags (checked
 * first); with VTOP_MEM_REGISTER_READONLY, -EINVAL from a module without
 * VTOP_FEATURE_READONLY; with VTOP_MEM_REGISTER_DONTFORK, madvise()'s
 * error (hugetlb memory not aligned to its page size).
 *
 * Since: 0.4
 */
int vtop_mem_register_ex(void *vaddr, size_t len, uint32_t flags);

/**
 * vtop_mem_unregister() - end registrations
 * @vaddr: start, a multiple of 4 KiB
 * @len: bytes, a multiple of 4 KiB; 0 does nothing
 *
 * Processes pending invalidation events first. The range must then consist
 * of whole registrations (one or several). For each of them, in address
 * order, every map gets UNREGISTER in reverse creation order, then the
 * pages are unpinned. No DMA may still be in flight. Memory that was
 * invalidated (unmapped while registered) is no longer registered:
 * unregistering it is -EINVAL; unregister before unmapping.
 *
 * Returns: 0; -EINVAL for misalignment; then, in SPDK's order
 * (spdk_mem_unregister()): -ERANGE if the first page is registered but
 * is not the start of its registration; -EINVAL if any page of the range
 * is not registered; -ERANGE if the range ends inside a registration; -ECHILD in a fork() child (nothing is done, no callback
 * runs); -EDEADLK from a callback; an error reading the events (nothing
 * is unregistered then). After the checks the range is always
 * unregistered; if an UNREGISTER callback or an unpin failed, the first
 * such error is returned nevertheless (and counted in
 * struct vtop_mem_stats).
 *
 * Since: 0.1
 */
int vtop_mem_unregister(void *vaddr, size_t len);

#define VTOP_VTOPHYS_ERROR	UINT64_MAX

/**
 * vtop_vtophys() - DMA address of registered memory
 * @buf: any address
 * @size: NULL, or in: bytes asked for; out: bytes from @buf that are
 *	  contiguous in DMA address space (across 4 KiB and 2 MiB pages
 *	  alike), at most the request
 *
 * Returns the CPU physical address (or, attached to a PCI device, the
 * device's IOVA) of @buf, or VTOP_VTOPHYS_ERROR if @buf is not registered,
 * was invalidated (even if the event was not processed yet), or in a
 * fork() child.
 *
 * Before answering it compares the event page's sequence number (one
 * acquire load) with the last one the library saw; if it moved, it marks
 * the invalidated registrations and clears them from the vtophys map
 * first (a short lock; the callbacks wait for the events to be processed).
 * So an invalidation the kernel reported before the call is never served;
 * one that happens during or after the call can be (it is a snapshot, as
 * any translation is). If the events cannot be read it returns
 * VTOP_VTOPHYS_ERROR. Lock-free otherwise.
 *
 * Since: 0.1
 */
uint64_t vtop_vtophys(const void *buf, uint64_t *size);

/**
 * vtop_vtophys_map() - the map behind vtop_vtophys(), for vtop_vtophys_lookup()
 *
 * Initializes the environment if needed (an implicit initialization: a
 * later vtop_env_init() with other options still takes effect, see
 * there). The pointer is the same for every call for the life of the
 * process, across vtop_env_fini() and vtop_env_init() (since 0.3; in 0.2
 * until vtop_env_fini()), so a data path can fetch it once.
 *
 * Returns the map, or NULL with errno set when the environment cannot be
 * initialized (ECHILD in a fork() child). May be called from a notify
 * callback.
 *
 * Since: 0.2
 */
const struct vtop_mem_map *vtop_vtophys_map(void);

/**
 * vtop_vtophys_lookup() - vtop_vtophys() inlined
 * @vtophys_map: what vtop_vtophys_map() returned
 * @buf: any address
 *
 * The same as vtop_vtophys(@buf, NULL), without a call and without its
 * check for events: two or three dependent loads, nothing else. What it
 * promises: the value the vtophys map holds now, which is valid until the
 * next invalidation of @buf's registration is *processed or marked*, i.e.
 * an invalidation is reflected only after some thread ran
 * vtop_mem_process_events(), vtop_mem_register/unregister, the event
 * thread, or an exported translation (vtop_vtophys(), vtop_mem_get_segs())
 * that saw the event page move. A data path that uses it must therefore
 * make sure events are processed -- poll vtop_env_get_event_fd() and call
 * vtop_mem_process_events(), or use VTOP_ENV_EVENT_THREAD -- and must
 * stop DMA to a range when its consumer map is told INVALIDATE. An
 * application that never unmaps registered memory needs none of this.
 * Returns VTOP_VTOPHYS_ERROR in a fork() child (the child's map is
 * emptied).
 *
 * Since: 0.2
 */
static inline uint64_t vtop_vtophys_lookup(const struct vtop_mem_map *vtophys_map,
					   const void *buf)
{
	uint64_t va = (uintptr_t)buf, e;
	unsigned int shift;

	/* An entry is DMA address - virtual address, for pages of any size. */
	e = vtop__map_lookup(vtophys_map, va, &shift);
	if (VTOP__USUALLY(e != VTOP_VTOPHYS_ERROR))
		return va + e;
	return e;
}

/**
 * vtop_mem_get_segs() - DMA segments of registered memory
 * @vaddr: any address
 * @len: bytes, > 0
 * @segs: array of *@nr_segs entries (may be NULL when *@nr_segs is 0)
 * @nr_segs: in: capacity; out: segments written, or needed on -ENOBUFS
 *
 * Describes [@vaddr, @vaddr + @len) as maximal DMA-contiguous segments
 * (vaddr, dma_addr, len are byte-exact; page_shift is 21 if every page of
 * the segment sits in a 2 MiB entry, else 12). Checks for events first,
 * as vtop_vtophys() does. Lock-free otherwise, so it may be called from a
 * notification callback.
 *
 * Returns: 0; -EINVAL if @len is 0 or any byte is not registered (or was
 * invalidated); -ENOBUFS with *@nr_segs set to the number needed;
 * -ECHILD in a fork() child; an error reading the events.
 *
 * Since: 0.1
 */
int vtop_mem_get_segs(const void *vaddr, size_t len,
		      struct vtop_segment *segs, uint32_t *nr_segs);

/**
 * struct vtop_mem_stats - vtop_mem_get_stats() output
 * @size:		set by the caller to sizeof(struct vtop_mem_stats)
 * @backend:		enum vtop_backend in use (valid when @initialized)
 * @mode:		VTOP_MODE_PHYS or VTOP_MODE_IOVA
 * @initialized:	1 if the environment is initialized
 * @nr_maps:		maps with a notify_cb
 * @nr_registrations:	live registrations
 * @registered_bytes:	bytes in them
 * @entries_2m:		2 MiB entries in the vtop_vtophys() map in use
 * @entries_4k:		4 KiB entries in it in use
 *
 * Since 0.3 (cumulative over the life of the process, fini included):
 * @inherited:		1 in a fork() child until vtop_env_fini()
 * @flags:		VTOP_ENV_* in force
 * @invalidations:	registrations ended by an invalidation event
 * @unpin_errors:	unpins the backend refused (the registration was
 *			forgotten anyway)
 * @notify_errors:	UNREGISTER and INVALIDATE callbacks that failed
 * @event_overflows:	overflow records (VTOP_IOC_GET_INVALIDATED used)
 *
 * Since: 0.1
 */
struct vtop_mem_stats {
	size_t size;
	uint32_t backend;
	uint32_t mode;
	uint32_t initialized;
	uint32_t nr_maps;
	uint64_t nr_registrations;
	uint64_t registered_bytes;
	uint64_t entries_2m;
	uint64_t entries_4k;
	uint32_t inherited;
	uint32_t flags;
	uint64_t invalidations;
	uint64_t unpin_errors;
	uint64_t notify_errors;
	uint64_t event_overflows;
};

/**
 * vtop_mem_get_stats() - registration statistics
 * @stats: @stats->size set by the caller; min(@stats->size, the size this
 *	   library knows) bytes are written, any further ones zeroed
 *
 * Returns: 0; -EINVAL if @stats->size is smaller than the first version
 * (0.1, which ends after @entries_4k); -EDEADLK from a callback.
 *
 * Since: 0.1
 */
int vtop_mem_get_stats(struct vtop_mem_stats *stats);

/**
 * vtop_mem_process_events() - turn invalidation events into notifications
 *
 * Reads every queued invalidation event (and, after an overflow, the
 * kernel's list of invalidated pins) and, for each invalidated
 * registration, in the order the kernel reported them: removes it from
 * the vtophys map (if not done already), tells every map with a
 * notify_cb in reverse creation order (VTOP_MEM_MAP_NOTIFY_INVALIDATE, or
 * UNREGISTER for maps without ops->size), unpins its pages and frees its
 * range for a new registration. Each registration is reported once.
 * Never blocks waiting for events. Call it when vtop_env_get_event_fd()
 * is readable; vtop_mem_register() and vtop_mem_unregister() call it too.
 *
 * Returns: the number of registrations invalidated (0 when none, also
 * when the environment is not initialized or has no events); -ECHILD in a
 * fork() child; -EDEADLK from a callback; an error reading the events.
 * Unpin and callback errors are counted in struct vtop_mem_stats.
 *
 * Since: 0.3
 */
int vtop_mem_process_events(void);

/* ---------------------------------------------------------------------------
 * DMA memory (since 0.4)
 */

/**
 * vtop_dma_malloc() - allocate registered, DMA-contiguous memory
 * @size: bytes, > 0
 * @align: 0, or a power of two up to 2 MiB: the buffer's alignment (also
 *	   of its DMA address: the offset within a page is the same)
 * @dma_addr: NULL, or where to store the DMA address of the buffer
 *	   (what vtop_vtophys() returns for it)
 *
 * The buffer is registered (pinned: vtop_mem_register() is done for it,
 * so every consumer map is told) and DMA-contiguous over all of @size:
 * one DMA address describes it, as SPDK's spdk_dma_malloc() promises.
 * Objects up to 4 KiB (queue entries, PRP lists, completion queues) come
 * from slabs -- a 2 MiB hugetlb page, or 64 KiB of ordinary pages when no
 * hugetlb page is free, registered once and cut into objects of one
 * power-of-two size class, aligned to it, so that no object crosses a
 * 4 KiB boundary. Larger buffers get their own registration: hugetlb
 * pages when one is free (a buffer up to 2 MiB then always succeeds;
 * above 2 MiB only if the huge pages are neighbours in DMA space), else
 * ordinary pages, which are contiguous beyond 4 KiB only by chance: the
 * allocation then fails with ENOMEM rather than hand out a buffer that is
 * not contiguous (reserve hugetlb pages, vm.nr_hugepages). Alignment above
 * 4 KiB needs hugetlb pages (EINVAL otherwise). The pagemap backend needs
 * hugetlb pages for every allocation.
 *
 * Thread-safe (one allocator mutex). Not from a notify callback
 * (EDEADLK). The memory is the process's: after fork() the child must not
 * use it for DMA. vtop_env_fini() unregisters it with everything else:
 * free DMA memory before it; memory kept across vtop_env_fini() and
 * vtop_env_init() is registered again by the next allocation from its
 * slab only.
 *
 * Returns: the buffer, or NULL with errno set: EINVAL (bad @size or
 * @align), ENOMEM (no memory, or no contiguous memory), or the error of
 * the registration (ENOENT without the module, ECHILD in a fork() child,
 * EDEADLK...); vtop_last_error() says more.
 *
 * Since: 0.4
 */
void *vtop_dma_malloc(size_t size, size_t align, uint64_t *dma_addr);

/**
 * vtop_dma_zmalloc() - vtop_dma_malloc(), zeroed
 *
 * Since: 0.4
 */
void *vtop_dma_zmalloc(size_t size, size_t align, uint64_t *dma_addr);

/**
 * vtop_dma_free() - free memory from vtop_dma_malloc()/vtop_dma_zmalloc()
 * @buf: the pointer they returned, or NULL (nothing is done)
 *
 * No DMA may be in flight to it. A buffer with its own registration is
 * unregistered and unmapped; a slab object returns to its slab (a slab
 * left empty is unregistered and unmapped, except the last of its class).
 *
 * Returns: 0; -EINVAL if @buf is not a live allocation of this allocator
 * (a pointer from elsewhere, into the middle of a buffer, or freed
 * already): nothing is changed.
 *
 * Since: 0.4
 */
int vtop_dma_free(void *buf);

/* ---------------------------------------------------------------------------
 * Several devices (since 0.5)
 *
 * The environment's descriptor gives the default translation (vtop_vtophys()
 * and the vtophys map): CPU physical addresses, or the IOVAs of the one
 * device of struct vtop_env_opts.pci_device. A process that drives several
 * devices behind an IOMMU (two NVMe controllers, each in its own IOMMU
 * domain) needs each device's own IOVAs: vtop_dev_attach() opens one more
 * descriptor of the device node per device, attaches it (VTOP_IOC_ATTACH)
 * and keeps a translation map for it. From then on every registration is
 * pinned and mapped on the environment's descriptor and on every attached
 * device's, all or nothing: if any of them fails, the others are undone and
 * the registration fails with that error (nothing pinned, nothing counted,
 * no map told). Unregistering, an invalidation (processed or only marked)
 * and vtop_env_fini() end it on every device. Physical mode is unchanged:
 * with no device attached, nothing here costs anything.
 *
 * RLIMIT_MEMLOCK: the module charges each descriptor's pins separately
 * (like two RDMA registrations of the same pages), so registering L bytes
 * with N devices attached charges (N + 1) * L to the process's
 * RLIMIT_MEMLOCK (nothing with CAP_IPC_LOCK), and the module's per-file
 * limits (max_pins, max_pin_bytes) apply to each descriptor.
 *
 * Contiguity: vtop_dma_malloc() guarantees DMA-contiguity for the default
 * translation only. An IOMMU maps a pin's pages to one IOVA range, so a
 * device's translation of such a buffer is normally contiguous as well;
 * check the size vtop_vtophys_dev() reports.
 *
 * Invalidation is watched on the environment's descriptor (all descriptors
 * pin the same pages, so the kernel invalidates them together).
 *
 * Revocation (since 0.6): when a device's driver is unbound or the device
 * is removed, the module unmaps everything it mapped for it, reports
 * VTOP_EVENT_REVOKED on its descriptor and fails its later pins with
 * -ENODEV (vtop(4)). The library reads every attached device's records:
 * at the first vtop_vtophys_dev(), vtop_dev_get_segs() or
 * vtop_dev_is_revoked() for it that sees its event page move, and whenever
 * events are processed (vtop_mem_process_events(), the start of register
 * and unregister, the event thread). The device is then revoked: its
 * translation is emptied at once (vtop_vtophys_dev() returns
 * VTOP_VTOPHYS_ERROR, vtop_dev_get_segs() -ENODEV, its map translates
 * nothing), and when the events are processed its pins are unpinned.
 * Registration goes on for the environment and the other devices and
 * skips a revoked device (a pin of it failing with -ENODEV also revokes
 * it, and the registration succeeds without it). The consumer maps are not
 * told: their notifications are per registration, for all devices, and
 * the memory stays registered; vtop_dev_is_revoked() tells. The event
 * descriptor of vtop_env_get_event_fd() becomes readable when a device is
 * revoked, as for any other event. vtop_dev_detach() of a revoked device
 * succeeds (nothing left to unpin, or its pins unpinned without touching
 * the device); the same PCI address can then be attached again once the
 * device is back. Records lost to an overflow are resolved with INFO's
 * VTOP_STATUS_REVOKED (a module with VTOP_FEATURE_STATUS), else with a
 * probe pin of 4 KiB of memory registered on the device. A module that
 * reports REVOKED only for live pins (before VTOP_FEATURE_STATUS) says
 * nothing about a device with no pin until the next registration's pin
 * fails with -ENODEV.
 *
 * The environment's own device (struct vtop_env_opts.pci_device) is
 * revoked the same way in the module; every registration then ends as an
 * invalidation (VTOP_MEM_MAP_NOTIFY_INVALIDATE to the consumer maps, its
 * pins on every device released), vtop_vtophys() returns
 * VTOP_VTOPHYS_ERROR, vtop_dev_is_revoked(NULL) returns 1, and later
 * registrations fail with -ENODEV: the default translation is gone, so
 * call vtop_env_fini() and vtop_env_init() once the device is back.
 *
 * fork(): a child gets the devices as it gets the environment: their
 * descriptors are closed, their maps emptied; vtop_vtophys_dev() returns
 * VTOP_VTOPHYS_ERROR, vtop_dev_attach() -ECHILD; vtop_dev_detach() and
 * vtop_env_fini() free them without unpinning anything.
 */

/* An attached device (opaque). */
struct vtop_dev;

/**
 * vtop_dev_attach() - translate for one more PCI device
 * @pci_device: "DDDD:BB:SS.F" or "BB:SS.F" (domain 0), bound to
 *		uio_pci_generic, with a strict IOMMU domain (see vtop(4),
 *		VTOP_IOC_ATTACH)
 * @out: where the device is stored (NULL on failure)
 *
 * Initializes the environment if needed (implicitly, as
 * vtop_mem_register() does), processes pending invalidation events, opens
 * a new descriptor of the environment's device node and attaches it to
 * @pci_device. Memory registered already is then pinned and mapped for the
 * device, every registration, all or nothing: if one fails (RLIMIT_MEMLOCK,
 * or memory unmapped but not yet reported), everything done for the device
 * is undone, the descriptor is closed and the error returned. Then every
 * later registration is mapped for it too. Its addresses come from
 * vtop_vtophys_dev(), vtop_dev_get_segs() and vtop_dev_vtophys_map(); the
 * consumer maps' notifications are unchanged (one per registration, for
 * all devices).
 *
 * Returns: 0; -EINVAL for a NULL @out or a malformed @pci_device (nothing
 * is initialized then); -EEXIST if @pci_device is the environment's own
 * device (struct vtop_env_opts.pci_device: use vtop_vtophys()) or attached
 * already; -ENOSPC with 8 devices attached; -EOPNOTSUPP with the pagemap
 * backend (or a module without VTOP_FEATURE_ATTACH, or a lazy IOMMU
 * domain); -ENODEV (no such device), -EPERM (not bound to
 * uio_pci_generic) and the other errors of VTOP_IOC_ATTACH; the pin errors
 * of vtop_mem_register() when mapping registered memory (-ENOMEM over
 * RLIMIT_MEMLOCK, -EFAULT...); -ENOMEM; -ECHILD in a fork() child;
 * -EDEADLK from a callback; an error reading the events.
 *
 * Since: 0.5
 */
int vtop_dev_attach(const char *pci_device, struct vtop_dev **out);

/**
 * vtop_dev_detach() - stop translating for a device
 * @dev: what vtop_dev_attach() gave
 *
 * Every registration is unpinned and unmapped for @dev (it stays
 * registered for the environment and the other devices), its descriptor
 * is closed and @dev is freed. The device must no longer DMA to registered
 * memory, and no thread may translate with @dev (vtop_vtophys_dev(), the
 * map of vtop_dev_vtophys_map()) any more. vtop_env_fini() detaches every
 * device: @dev is then invalid.
 *
 * A revoked device (see "Several devices") is detached the same way: its
 * remaining pins are unpinned without touching the device, and 0 is
 * returned.
 *
 * Returns: 0; -EINVAL if @dev is NULL or not attached (detached already;
 * nothing is done); -EDEADLK from a callback. Unpin errors are counted in
 * struct vtop_mem_stats unpin_errors. In a fork() child, @dev is freed
 * without unpinning (the parent's pins are the parent's).
 *
 * Since: 0.5
 */
int vtop_dev_detach(struct vtop_dev *dev);

/**
 * vtop_vtophys_dev() - a device's DMA address of registered memory
 * @dev: an attached device, or NULL for the default translation
 * @buf: any address
 * @size: as for vtop_vtophys()
 *
 * vtop_vtophys() for @dev: @dev's IOVA of @buf. With @dev NULL it is
 * vtop_vtophys(@buf, @size). Checks for events first, as vtop_vtophys()
 * does, and (since 0.6) for @dev's revocation (one more acquire load of
 * its event page); lock-free otherwise.
 *
 * Returns the address, or VTOP_VTOPHYS_ERROR if @buf is not registered,
 * was invalidated, @dev was revoked (since 0.6), or in a fork() child.
 *
 * Since: 0.5
 */
uint64_t vtop_vtophys_dev(const struct vtop_dev *dev, const void *buf,
			  uint64_t *size);

/**
 * vtop_dev_get_segs() - a device's DMA segments of registered memory
 * @dev: an attached device, or NULL for the default translation
 * @vaddr: any address
 * @len: bytes, > 0
 * @segs: array of *@nr_segs entries (may be NULL when *@nr_segs is 0)
 * @nr_segs: in: capacity; out: segments written, or needed on -ENOBUFS
 *
 * vtop_mem_get_segs() for @dev (with @dev NULL it is vtop_mem_get_segs()).
 *
 * Returns: as vtop_mem_get_segs(); -ENODEV if @dev was revoked (its
 * device unbound or removed; since 0.6).
 *
 * Since: 0.5
 */
int vtop_dev_get_segs(const struct vtop_dev *dev, const void *vaddr,
		      size_t len, struct vtop_segment *segs,
		      uint32_t *nr_segs);

/**
 * vtop_dev_vtophys_map() - a device's map, for vtop_vtophys_lookup()
 * @dev: an attached device, or NULL (then vtop_vtophys_map())
 *
 * vtop_vtophys_lookup(vtop_dev_vtophys_map(@dev), buf) is
 * vtop_vtophys_dev(@dev, buf, NULL) inlined, with the same caveat about
 * events as vtop_vtophys_lookup(). The map lives until @dev is detached.
 *
 * Returns the map; for NULL @dev, what vtop_vtophys_map() returns.
 *
 * Since: 0.5
 */
const struct vtop_mem_map *vtop_dev_vtophys_map(const struct vtop_dev *dev);

/**
 * vtop_dev_name() - the device's PCI address, canonical "DDDD:BB:SS.F"
 * @dev: an attached device
 *
 * Returns the name (valid until @dev is detached), or NULL for NULL @dev.
 *
 * Since: 0.5
 */
const char *vtop_dev_name(const struct vtop_dev *dev);

/**
 * vtop_dev_is_revoked() - was the device unbound or removed?
 * @dev: what vtop_dev_attach() gave, or NULL for the environment's own
 *	 device (struct vtop_env_opts.pci_device)
 *
 * Reads the device's pending event records first (for NULL: processes the
 * events, as vtop_mem_process_events() does, except from a callback). A
 * revoked device translates nothing; detach it (see "Several devices").
 *
 * Returns: 1 revoked, 0 not (always 0 for NULL in physical mode or before
 * the environment is initialized); -EINVAL if @dev is not attached;
 * -ECHILD in a fork() child (NULL); an error reading the events.
 *
 * Since: 0.6
 */
int vtop_dev_is_revoked(const struct vtop_dev *dev);

/* ---------------------------------------------------------------------------
 * Misc
 */

/**
 * vtop_version() - the library's version, "MAJOR.MINOR.PATCH"
 *
 * Since: 0.1
 */
const char *vtop_version(void);

/**
 * vtop_last_error() - what the last failed libvtop call in this thread did
 *
 * Returns a message such as "/dev/vtop does not exist: ..." (never NULL;
 * "" when no call has failed). Valid until the next libvtop call in this
 * thread.
 *
 * Since: 0.1
 */
const char *vtop_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* VTOP_H */
