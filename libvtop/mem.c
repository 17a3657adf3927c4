// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registrations and notifications.
 *
 * The registrations are non-overlapping regions, each pinned by one backend
 * call, kept in an AVL tree ordered by address: registering, unregistering
 * and finding the registration at an address take O(log R), stepping to
 * the next or previous one O(1) amortized. Maps with a notify_cb are kept in a list in
 * creation order. Everything here runs under vtop__lock, except what the
 * translation slow path does (vtop__ev_sync()): under vtop__ev_lock alone
 * it reads the tree and marks registrations invalidated, so the tree's
 * writers hold both locks.
 *
 * Invalidation events are handled in two stages:
 *  - marking (vtop__ev_sync(), any thread, vtop__ev_lock): when the event
 *    page's seq moved, VTOP_IOC_GET_INVALIDATED lists the invalidated
 *    pins; their registrations are marked and cleared from the vtophys
 *    map. No record is consumed, so the descriptor stays readable for
 *    whoever processes the events.
 *  - processing (vtop__mem_process_locked(), vtop__lock): the records are
 *    read in order (an overflow record means: list them all), and each
 *    invalidated registration is marked if it was not, notified to every
 *    map, removed from the tree, unpinned and freed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/*
 * One registration: a node of an AVL tree ordered by address. The regions
 * never overlap, so ordering by start also orders by end.
 */
struct vtop_reg {
	struct vtop_reg *left;
	struct vtop_reg *right;
	struct vtop_reg *parent;
	int height;		/* of the subtree; a leaf is 1 */
	uint64_t va;
	uint64_t len;
	uint64_t handle;
	uint64_t n2m;
	uint64_t n4k;
	bool invalid;		/* marked: cleared from vtophys, to process */
	bool dontfork;		/* MADV_DONTFORK was applied */
	/* its pin on each attached device (vtop__devs[slot]) */
	uint64_t dev_handle[VTOP_DEV_MAX];
	/*
	 * bit slot: dev_handle[slot] is a live pin. Atomic: a revocation
	 * reads it under vtop__ev_lock alone while vtop__lock's holder
	 * changes another device's bit.
	 */
	_Atomic uint32_t dev_mask;
	uint32_t pin_flags;	/* VTOP_PIN_* it was pinned with */
};

static struct {
	struct vtop_reg *root;
	size_t n;
	/* running totals for vtop_mem_get_stats() */
	uint64_t bytes;
	uint64_t n2m;
	uint64_t n4k;
} regs;

/*
 * Nodes of ended registrations, kept for the next ones (under vtop__lock,
 * linked by their left pointer): registering and unregistering in a loop
 * then calls no allocator (glibc's calloc takes its slow path every
 * time). At most REG_CACHE_MAX are kept.
 */
#define REG_CACHE_MAX	16
static struct vtop_reg *reg_cache;
static unsigned int reg_cache_n;

/* A zeroed node, or NULL. With vtop__lock. */
static struct vtop_reg *reg_alloc(void)
{
	struct vtop_reg *r = reg_cache;

	/* The host tests' failing allocations see every node asked for. */
	if (!r || VTOP__CALLOC_HOOK)
		return vtop_calloc(1, sizeof(*r));
	reg_cache = r->left;
	reg_cache_n--;
	memset(r, 0, sizeof(*r));
	return r;
}

/* With vtop__lock: a node no longer in the tree goes back to the cache. */
static void reg_free(struct vtop_reg *r)
{
	if (reg_cache_n >= REG_CACHE_MAX) {
		free(r);
		return;
	}
	r->left = reg_cache;
	reg_cache = r;
	reg_cache_n++;
}

/* ---- the registration tree --------------------------------------------- */

static int reg_height(const struct vtop_reg *r)
{
	return r ? r->height : 0;
}

static void reg_update(struct vtop_reg *r)
{
	int hl = reg_height(r->left), hr = reg_height(r->right);

	r->height = 1 + (hl > hr ? hl : hr);
}

/* Make @new take @old's place under @parent (or as the root). */
static void reg_replace_child(struct vtop_reg *parent, struct vtop_reg *old,
			      struct vtop_reg *new)
{
	if (!parent)
		regs.root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct vtop_reg *reg_rotate_left(struct vtop_reg *x)
{
	struct vtop_reg *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	reg_replace_child(x->parent, x, y);
	y->left = x;
	x->parent = y;
	reg_update(x);
	reg_update(y);
	return y;
}

static struct vtop_reg *reg_rotate_right(struct vtop_reg *x)
{
	struct vtop_reg *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	reg_replace_child(x->parent, x, y);
	y->right = x;
	x->parent = y;
	reg_update(x);
	reg_update(y);
	return y;
}

/* Restore heights and balance from @r up to the root. */
static void reg_rebalance(struct vtop_reg *r)
{
	while (r) {
		int bf = reg_height(r->left) - reg_height(r->right);

		if (bf > 1) {
			if (reg_height(r->left->left) <
			    reg_height(r->left->right))
				reg_rotate_left(r->left);
			r = reg_rotate_right(r);
		} else if (bf < -1) {
			if (reg_height(r->right->right) <
			    reg_height(r->right->left))
				reg_rotate_right(r->right);
			r = reg_rotate_left(r);
		} else {
			reg_update(r);
		}
		r = r->parent;
	}
}

/* Link @r (va, len and counts set; overlapping nothing) into the tree. */
static void reg_insert(struct vtop_reg *r)
{
	struct vtop_reg **link = &regs.root, *parent = NULL;

	while (*link) {
		parent = *link;
		link = r->va < parent->va ? &parent->left : &parent->right;
	}
	r->left = r->right = NULL;
	r->parent = parent;
	r->height = 1;
	*link = r;
	if (parent)
		reg_rebalance(parent);
	regs.n++;
	regs.bytes += r->len;
	regs.n2m += r->n2m;
	regs.n4k += r->n4k;
}

static struct vtop_reg *reg_leftmost(struct vtop_reg *r)
{
	while (r && r->left)
		r = r->left;
	return r;
}

static struct vtop_reg *reg_rightmost(struct vtop_reg *r)
{
	while (r && r->right)
		r = r->right;
	return r;
}

static struct vtop_reg *reg_first(void)
{
	return reg_leftmost(regs.root);
}

static struct vtop_reg *reg_next(struct vtop_reg *r)
{
	if (r->right)
		return reg_leftmost(r->right);
	while (r->parent && r->parent->right == r)
		r = r->parent;
	return r->parent;
}

static struct vtop_reg *reg_prev(struct vtop_reg *r)
{
	if (r->left)
		return reg_rightmost(r->left);
	while (r->parent && r->parent->left == r)
		r = r->parent;
	return r->parent;
}

/* Unlink @r from the tree (not freed). */
static inline __attribute__((always_inline))
void reg_erase(struct vtop_reg *r)
{
	struct vtop_reg *start;

	if (r->left && r->right) {
		/* Put the successor, which has no left child, in r's place. */
		struct vtop_reg *s = reg_leftmost(r->right);

		if (s->parent != r) {
			start = s->parent;
			reg_replace_child(start, s, s->right);
			s->right = r->right;
			s->right->parent = s;
		} else {
			start = s;
		}
		s->left = r->left;
		s->left->parent = s;
		reg_replace_child(r->parent, r, s);
		s->height = r->height;
	} else {
		start = r->parent;
		reg_replace_child(start, r, r->left ? r->left : r->right);
	}
	if (start)
		reg_rebalance(start);
	regs.n--;
	regs.bytes -= r->len;
	regs.n2m -= r->n2m;
	regs.n4k -= r->n4k;
}

/* The first registration that ends after @va, or NULL. */
static struct vtop_reg *reg_first_ending_after(uint64_t va)
{
	struct vtop_reg *r = regs.root, *found = NULL;

	while (r) {
		if (r->va + r->len > va) {
			found = r;
			r = r->left;
		} else {
			r = r->right;
		}
	}
	return found;
}

#ifdef VTOP_TEST_HOOKS
static int reg_check(const struct vtop_reg *r, const struct vtop_reg *parent,
		     uint64_t lo, uint64_t hi, size_t *n, uint64_t tot[3])
{
	int hl, hr;

	if (!r)
		return 0;
	if (r->parent != parent || !r->len || r->va < lo || r->va > hi ||
	    r->len > hi - r->va)
		return -1;
	hl = reg_check(r->left, r, lo, r->va, n, tot);
	hr = reg_check(r->right, r, r->va + r->len, hi, n, tot);
	if (hl < 0 || hr < 0 || hl - hr > 1 || hr - hl > 1 ||
	    r->height != 1 + (hl > hr ? hl : hr))
		return -1;
	(*n)++;
	tot[0] += r->len;
	tot[1] += r->n2m;
	tot[2] += r->n4k;
	return r->height;
}

long vtop__mem_check_regs(void)
{
	uint64_t tot[3] = { 0, 0, 0 };
	size_t n = 0;
	long ret;

	pthread_mutex_lock(&vtop__lock);
	ret = (long)regs.n;
	if (reg_check(regs.root, NULL, 0, VTOP_VA_LIMIT, &n, tot) < 0 ||
	    n != regs.n || tot[0] != regs.bytes || tot[1] != regs.n2m ||
	    tot[2] != regs.n4k)
		ret = -1;
	pthread_mutex_unlock(&vtop__lock);
	return ret;
}
#endif /* VTOP_TEST_HOOKS */

static struct vtop_mem_map *maps_head, *maps_tail;
static uint32_t nr_maps;

_Thread_local bool vtop__in_callback
	__attribute__((tls_model("initial-exec")));

pthread_mutex_t vtop__ev_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Registrations marked invalid, not yet processed: changed under
 * vtop__ev_lock; read without it by processing's "anything to do?" check
 * (a mark made just after that read is processed next time, as one made
 * just after the lock was dropped would be).
 */
static _Atomic size_t nr_marked;
/* Under vtop__lock: the event page's seq up to which records were read. */
static uint64_t drained_seq;

/* Cumulative counters (vtop_mem_get_stats()), under vtop__lock. */
static struct {
	uint64_t invalidations;
	uint64_t unpin_errors;
	uint64_t notify_errors;
	uint64_t overflows;
} counters;

void vtop__mem_ev_reset(uint64_t seq)
{
	pthread_mutex_lock(&vtop__ev_lock);
	drained_seq = seq;
	atomic_store(&vtop__ev.seen, seq);
	pthread_mutex_unlock(&vtop__ev_lock);
}

size_t vtop__mem_nr_regs_locked(void)
{
	return regs.n;
}

static int notify(struct vtop_mem_map *map,
		  enum vtop_mem_map_notify_action action, uint64_t va,
		  uint64_t len)
{
	const struct vtop_mem_map_ops *ops = vtop__map_ops(map);
	int rc;

	/* Maps made for 0.1/0.2 never see an action they do not know. */
	if (action == VTOP_MEM_MAP_NOTIFY_INVALIDATE &&
	    !vtop__map_wants_invalidate(map))
		action = VTOP_MEM_MAP_NOTIFY_UNREGISTER;
	vtop__in_callback = true;
	rc = ops->notify_cb(vtop__map_cb_ctx(map), map, action,
			    (void *)(uintptr_t)va, (size_t)len);
	vtop__in_callback = false;
	return rc > 0 ? -rc : rc;
}

static __attribute__((noinline, cold))
int range_error(uint64_t va, uint64_t len, const char *what)
{
	if ((va | len) & (VTOP_SIZE_4K - 1))
		return vtop__err(-EINVAL, "%s: address 0x%llx or length 0x%llx is not a multiple of 4 KiB",
				what, (unsigned long long)va,
				(unsigned long long)len);
	if (va >= VTOP_VA_LIMIT || len > VTOP_VA_LIMIT - va)
		return vtop__err(-EINVAL, "%s: range 0x%llx+0x%llx reaches beyond 2^48",
				what, (unsigned long long)va,
				(unsigned long long)len);
	return 0;
}

/* 4 KiB aligned and below 2^48, or -EINVAL (and a message). */
static inline int check_range(uint64_t va, uint64_t len, const char *what)
{
	if (__builtin_expect(((va | len) & (VTOP_SIZE_4K - 1)) ||
			     va >= VTOP_VA_LIMIT ||
			     len > VTOP_VA_LIMIT - va, 0))
		return range_error(va, len, what);
	return 0;
}

int vtop__check_segments(const struct vtop_pin_result *res, uint64_t va,
			 uint64_t len, const char *backend)
{
	uint64_t cur = va;
	uint32_t k;

	for (k = 0; k < res->nr_segs; k++) {
		const struct vtop_segment *s = &res->segs[k];

		if (s->vaddr != cur || !s->len ||
		    ((s->len | s->dma_addr) & (VTOP_SIZE_4K - 1)) ||
		    s->len > va + len - cur || s->page_shift < VTOP_SHIFT_4K)
			return vtop__err(-EIO, "backend %s returned a bad segment %u (0x%llx+0x%llx) for 0x%llx+0x%llx",
					backend, k,
					(unsigned long long)s->vaddr,
					(unsigned long long)s->len,
					(unsigned long long)va,
					(unsigned long long)len);
		cur += s->len;
	}
	if (cur != va + len)
		return vtop__err(-EIO, "backend %s returned segments covering 0x%llx bytes of 0x%llx",
				backend,
				(unsigned long long)(cur - va),
				(unsigned long long)len);
	return 0;
}

/*
 * vtop__check_segments(), with no call for one good segment (a small pin
 * or one folio): the same checks.
 */
static inline int check_segments(const struct vtop_pin_result *res,
				 uint64_t va, uint64_t len,
				 const char *backend)
{
	const struct vtop_segment *s = res->segs;

	if (res->nr_segs == 1 && s->vaddr == va && s->len == len &&
	    !((len | s->dma_addr) & (VTOP_SIZE_4K - 1)) &&
	    s->page_shift >= VTOP_SHIFT_4K)
		return 0;
	return vtop__check_segments(res, va, len, backend);
}

/*
 * @action (UNREGISTER or INVALIDATE) to @from and every map created before
 * it, newest first. Returns the first callback error (all are counted).
 */
static int notify_reverse_maps(struct vtop_mem_map *from,
			       enum vtop_mem_map_notify_action action,
			       uint64_t va, uint64_t len)
{
	struct vtop_mem_map *m;
	int rc, first = 0;

	for (m = from; m; m = vtop__map_link(m)->prev) {
		rc = notify(m, action, va, len);
		if (rc) {
			counters.notify_errors++;
			if (!first)
				first = vtop__err(rc, "a map's notify_cb failed %s 0x%llx+0x%llx (the range is released anyway)",
						 action == VTOP_MEM_MAP_NOTIFY_INVALIDATE ?
						 "an invalidation of" : "to unregister",
						 (unsigned long long)va,
						 (unsigned long long)len);
		}
	}
	return first;
}

/* notify_reverse_maps(), with no call when there is no map to notify. */
static inline int notify_reverse(struct vtop_mem_map *from,
				 enum vtop_mem_map_notify_action action,
				 uint64_t va, uint64_t len)
{
	return from ? notify_reverse_maps(from, action, va, len) : 0;
}

/* ---- invalidation: marking (vtop__ev_lock) ----------------------------- */

/* With vtop__ev_lock: clear @r from vtophys; it is processed later. */
static void mark_invalid(struct vtop_reg *r)
{
	r->invalid = true;
	atomic_fetch_add_explicit(&nr_marked, 1, memory_order_relaxed);
	vtop__vtophys_clear(r->va, r->len);
	if (vtop__nr_devs)
		vtop__dev_clear_all(r->va, r->len);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void seen_advance(uint64_t seq)
{
	if (seq > atomic_load_explicit(&vtop__ev.seen, memory_order_relaxed))
		atomic_store_explicit(&vtop__ev.seen, seq,
				      memory_order_relaxed);
}

/*
 * With vtop__ev_lock: if the event page's seq moved since the last time
 * (or @force), mark every registration whose pin the kernel lists as
 * invalidated. Returns 0 or the backend's error (nothing is marked).
 */
static int mark_locked(bool force)
{
	const struct vtop_event_page *pg;
	uint64_t seq, kseq = 0, *h = NULL;
	struct vtop_reg *r;
	uint32_t n = 0;
	int rc;

	pg = atomic_load_explicit(&vtop__ev.page, memory_order_relaxed);
	seq = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);
	if (!force && seq == atomic_load_explicit(&vtop__ev.seen,
						  memory_order_relaxed))
		return 0;
	if (!vtop__env.ready || !vtop__env.events) {
		seen_advance(seq);
		return 0;
	}
	rc = vtop__env.ops->get_invalidated(vtop__env.ctx, &h, &n, &kseq);
	if (rc)
		return rc;
	if (n) {
		qsort(h, n, sizeof(*h), cmp_u64);
		for (r = reg_first(); r; r = reg_next(r))
			if (!r->invalid &&
			    bsearch(&r->handle, h, n, sizeof(*h), cmp_u64))
				mark_invalid(r);
	}
	free(h);
	seen_advance(kseq > seq ? kseq : seq);
	return 0;
}

int vtop__ev_sync(void)
{
	int rc;

	if (atomic_load(&vtop__ev.inherited))
		return vtop__err(-ECHILD, "this process is a fork() child: its translations are not the parent's (vtop_env_fini() and vtop_env_init() give it its own)");
	pthread_mutex_lock(&vtop__ev_lock);
	rc = mark_locked(false);
	pthread_mutex_unlock(&vtop__ev_lock);
	return rc;
}

/* ---- registrations ending ---------------------------------------------- */

/*
 * Drop @r (already notified) from the tree and the vtophys map, unpin it
 * and free it. Returns the unpin error (counted), or 0.
 */
static int release_reg(struct vtop_reg *r)
{
	int rc;

	pthread_mutex_lock(&vtop__ev_lock);
	reg_erase(r);
	if (r->invalid) {
		atomic_fetch_sub_explicit(&nr_marked, 1, memory_order_relaxed);
	} else {
		vtop__vtophys_clear(r->va, r->len);
		if (vtop__nr_devs)
			vtop__dev_clear_all(r->va, r->len);
	}
	pthread_mutex_unlock(&vtop__ev_lock);
	rc = vtop__env.ops->unpin(vtop__env.ctx, r->handle);
	if (rc) {
		counters.unpin_errors++;
		vtop__err(rc, "unpinning 0x%llx+0x%llx failed (the registration is gone anyway)",
			 (unsigned long long)r->va, (unsigned long long)r->len);
	}
	/* Every attached device's pin goes too (errors counted). */
	if (atomic_load_explicit(&r->dev_mask, memory_order_relaxed)) {
		int drc = vtop__dev_unpin_handles(r->dev_handle, r->dev_mask,
						  r->va, r->len);

		if (drc) {
			counters.unpin_errors++;
			if (!rc)
				rc = drc;
		}
	}
	/* An invalidated range is no longer the registered memory. */
	if (r->dontfork && !r->invalid)
		madvise((void *)(uintptr_t)r->va, r->len, MADV_DOFORK);
	reg_free(r);
	return rc;
}

/* End @r because it was invalidated. */
static void invalidate_reg(struct vtop_reg *r)
{
	pthread_mutex_lock(&vtop__ev_lock);
	if (!r->invalid)
		mark_invalid(r);
	pthread_mutex_unlock(&vtop__ev_lock);
	notify_reverse(maps_tail, VTOP_MEM_MAP_NOTIFY_INVALIDATE, r->va,
		       r->len);
	release_reg(r);
	counters.invalidations++;
}

/* ---- invalidation: processing (vtop__lock) ----------------------------- */

#define REC_BATCH	32

_Atomic bool vtop__env_revoked;

static int env_process_locked(void)
{
	const struct vtop_event_page *pg;
	struct vtop_ev_rec rec[REC_BATCH];
	bool overflow = false;
	struct vtop_reg *r, *next;
	int n, i, count = 0, rc = 0;
	uint64_t seq;

	if (!vtop__env.ready || !vtop__env.events)
		return 0;
	if (vtop__env.inherited)
		return vtop__err(-ECHILD, "this process is a fork() child: call vtop_env_fini() and vtop_env_init()");
	pg = atomic_load_explicit(&vtop__ev.page, memory_order_relaxed);
	seq = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);
	/* Nothing new since the last drain, nothing marked: no syscall. */
	if (seq == drained_seq &&
	    !atomic_load_explicit(&nr_marked, memory_order_relaxed))
		return 0;

	do {
		n = vtop__env.ops->read_events(vtop__env.ctx, rec, REC_BATCH);
		if (n < 0) {
			rc = n;
			break;
		}
		for (i = 0; i < n; i++) {
			/* The environment's own device went: its pins follow. */
			if (rec[i].reason == VTOP_EVENT_REVOKED)
				atomic_store(&vtop__env_revoked, true);
			if (rec[i].reason == VTOP_EVENT_OVERFLOW) {
				overflow = true;
				counters.overflows++;
				continue;
			}
			r = reg_first_ending_after(rec[i].vaddr);
			/* A pin the library no longer has: nothing to do. */
			if (!r || r->va != rec[i].vaddr ||
			    r->handle != rec[i].handle)
				continue;
			invalidate_reg(r);
			count++;
		}
	} while (n == REC_BATCH);
	if (!rc && overflow) {
		pthread_mutex_lock(&vtop__ev_lock);
		rc = mark_locked(true);
		pthread_mutex_unlock(&vtop__ev_lock);
	}
	if (!rc)
		drained_seq = seq;
	/*
	 * What is still marked came from an overflow, or was invalidated
	 * after the drain: process it now, in address order.
	 */
	pthread_mutex_lock(&vtop__ev_lock);
	n = !rc && atomic_load_explicit(&nr_marked, memory_order_relaxed);
	pthread_mutex_unlock(&vtop__ev_lock);
	for (r = n ? reg_first() : NULL; r; r = next) {
		next = reg_next(r);
		if (r->invalid) {
			invalidate_reg(r);
			count++;
		}
	}
	return rc ? rc : count;
}

int vtop__mem_process_locked(void)
{
	int rc, drc;

	/* Before the devices are looked at: a later kick stays. */
	vtop__env_kick_drain();
	rc = env_process_locked();
	if (rc < 0 || !vtop__nr_devs || !vtop__env.ready ||
	    vtop__env.inherited)
		return rc;
	/* Every attached device's descriptor: its revocation (since 0.6). */
	drc = vtop__dev_process_locked();
	return drc < 0 ? drc : rc;
}

/*
 * With vtop__lock, in register and unregister (the environment checked
 * not to be a fork child's): vtop__mem_process_locked(), without a call
 * when there is nothing to process: no kick waiting, no device attached,
 * no event since the last drain and nothing marked.
 */
static inline int process_locked(void)
{
	const struct vtop_event_page *pg;

	if (atomic_load_explicit(&vtop__env_kicked, memory_order_relaxed) ||
	    vtop__nr_devs || !vtop__env.ready || vtop__env.inherited)
		return vtop__mem_process_locked();
	if (!vtop__env.events)
		return 0;
	pg = atomic_load_explicit(&vtop__ev.page, memory_order_relaxed);
	if (__atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE) == drained_seq &&
	    !atomic_load_explicit(&nr_marked, memory_order_relaxed))
		return 0;
	return vtop__mem_process_locked();
}

/* vtop__env_check_child() without a call in the common case. */
static inline int check_child(const char *what)
{
	return vtop__env.inherited ? vtop__env_check_child(what) : 0;
}

VTOP_EXPORT
int vtop_mem_process_events(void)
{
	int rc;

	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_mem_process_events called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	rc = vtop__env_check_child("vtop_mem_process_events");
	if (!rc)
		rc = vtop__mem_process_locked();
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

/* ---- register / unregister --------------------------------------------- */

static uint64_t event_seq(void)
{
	const struct vtop_event_page *pg =
		atomic_load_explicit(&vtop__ev.page, memory_order_relaxed);

	return __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);
}

#define REGISTER_FLAGS	(VTOP_MEM_REGISTER_READONLY | VTOP_MEM_REGISTER_DONTFORK)

static int mem_register(void *vaddr, size_t len, uint32_t flags)
{
	struct vtop_pin_result res = { 0 };
	struct vtop_dev_pins dp;
	bool dev_pinned = false;
	uint64_t va = (uintptr_t)vaddr, seq;
	struct vtop_reg *r = NULL, *next;
	struct vtop_mem_map *m;
	bool dontfork = false, late_revoked = false;
	int rc;

	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_mem_register called from a notify callback");
	if (flags & ~REGISTER_FLAGS)
		return vtop__err(-EINVAL, "register: unknown flags 0x%x",
				flags & ~REGISTER_FLAGS);
	rc = check_range(va, len, "register");
	if (rc || !len)
		return rc;
	if (flags & VTOP_MEM_REGISTER_READONLY)
		res.flags = VTOP_PIN_READONLY;

	pthread_mutex_lock(&vtop__lock);
	rc = check_child("vtop_mem_register");
	if (rc)
		goto unlock;
	rc = vtop__env.ready ? 0 : vtop__env_ensure_locked();
	if (rc)
		goto unlock;
	/* Memory unmapped and mapped again: its old registration goes. */
	rc = process_locked();
	if (rc < 0)
		goto unlock;
	rc = 0;
	next = reg_first_ending_after(va);
	if (next && next->va < va + len) {
		rc = vtop__err(-EBUSY, "0x%llx+0x%llx overlaps the registration 0x%llx+0x%llx",
			      (unsigned long long)va, (unsigned long long)len,
			      (unsigned long long)next->va,
			      (unsigned long long)next->len);
		goto unlock;
	}
	/* The node first: nothing is pinned yet if it cannot be had. */
	r = reg_alloc();
	if (!r) {
		rc = vtop__err(-ENOMEM, "out of memory for a registration");
		goto unlock;
	}
	if ((vtop__env.flags & VTOP_ENV_DONTFORK) ||
	    (flags & VTOP_MEM_REGISTER_DONTFORK)) {
		if (madvise(vaddr, len, MADV_DONTFORK)) {
			rc = vtop__err(-errno, "madvise(MADV_DONTFORK) of 0x%llx+0x%llx failed",
				      (unsigned long long)va,
				      (unsigned long long)len);
			goto unlock;
		}
		dontfork = true;
	}

	seq = event_seq();
	rc = vtop__env.ops->pin(vtop__env.ctx, va, len, &res);
	if (rc == -ENODEV && vtop__env.mode == VTOP_MODE_IOVA) {
		atomic_store(&vtop__env_revoked, true);
		rc = vtop__err(rc, "register 0x%llx+0x%llx: the environment's device %s was unbound or removed (revoked): vtop_env_fini(), then vtop_env_init() once it is back",
			      (unsigned long long)va, (unsigned long long)len,
			      vtop__env_pci_device() ? vtop__env_pci_device() : "");
	}
	if (rc)
		goto unlock;
	rc = check_segments(&res, va, len, vtop__env.ops->name);
	if (rc)
		goto unpin;
	/*
	 * Every attached device pins and maps it too, or none does. Devices
	 * are attached and detached under vtop__lock only: with none now,
	 * none comes during this call, and there is nothing to pin.
	 */
	if (vtop__nr_devs) {
		rc = vtop__dev_pin_all(va, len, res.flags, &dp);
		if (rc)
			goto unpin;
		dev_pinned = true;
		/* A device found revoked by its pin: its other pins go now. */
		vtop__dev_process_locked();
	}

	pthread_mutex_lock(&vtop__ev_lock);
	rc = vtop__vtophys_fill(res.segs, res.nr_segs, &r->n2m, &r->n4k);
	if (!rc && dev_pinned) {
		rc = vtop__dev_fill_all(&dp, va, len);
		if (rc)
			vtop__vtophys_clear(va, len);
	}
	if (rc) {
		pthread_mutex_unlock(&vtop__ev_lock);
		goto unpin;
	}
	for (unsigned int i = 0; dev_pinned && i < VTOP_DEV_MAX; i++) {
		if (dp.pinned[i]) {
			r->dev_handle[i] = dp.res[i].handle;
			r->dev_mask |= 1U << i;
			/* Revoked since it pinned: this pin goes below. */
			if (atomic_load(&vtop__devs[i]->revoked)) {
				vtop__devs[i]->revoke_done = false;
				late_revoked = true;
			}
		}
	}
	r->pin_flags = res.flags;
	r->va = va;
	r->len = len;
	r->handle = res.handle;
	r->dontfork = dontfork;
	reg_insert(r);
	/*
	 * Invalidated since before the pin? A translator that looked in
	 * between did not find the new registration in the tree: look
	 * again, now that it is there.
	 */
	if (event_seq() != seq) {
		rc = mark_locked(true);
		if (rc) {
			reg_erase(r);
			vtop__vtophys_clear(va, len);
			if (vtop__nr_devs)
				vtop__dev_clear_all(va, len);
			pthread_mutex_unlock(&vtop__ev_lock);
			goto unpin;
		}
	}
	pthread_mutex_unlock(&vtop__ev_lock);
	if (late_revoked)
		vtop__dev_process_locked();
	/* The segments are in the vtophys map now; give them back early. */
	if (!res.borrowed)
		free(res.segs);
	res.segs = NULL;
	if (dev_pinned)
		vtop__dev_pins_done(&dp);
	dev_pinned = false;

	for (m = maps_head; m; m = vtop__map_link(m)->next) {
		rc = notify(m, VTOP_MEM_MAP_NOTIFY_REGISTER, va, len);
		if (rc) {
			notify_reverse(vtop__map_link(m)->prev,
				       VTOP_MEM_MAP_NOTIFY_UNREGISTER, va, len);
			release_reg(r);
			vtop__err(rc, "a map's notify_cb failed to register 0x%llx+0x%llx; the registration was undone",
				 (unsigned long long)va,
				 (unsigned long long)len);
			goto unlock_nofree;
		}
	}
	goto unlock_nofree;

unpin:
	if (dev_pinned)
		vtop__dev_unpin_pins(&dp);
	if (vtop__env.ops->unpin(vtop__env.ctx, res.handle))
		counters.unpin_errors++;
unlock:
	if (dontfork)
		madvise(vaddr, len, MADV_DOFORK);
	if (r)
		reg_free(r);
unlock_nofree:
	pthread_mutex_unlock(&vtop__lock);
	if (!res.borrowed)
		free(res.segs);
	return rc;
}

VTOP_EXPORT
int vtop_mem_register(void *vaddr, size_t len)
{
	return mem_register(vaddr, len, 0);
}

VTOP_EXPORT
int vtop_mem_register_ex(void *vaddr, size_t len, uint32_t flags)
{
	return mem_register(vaddr, len, flags);
}

/*
 * Unregister @count registrations from @r on, in address order. Returns
 * the first error of a callback or an unpin.
 */
static inline __attribute__((always_inline))
int unregister_regs(struct vtop_reg *r, size_t count)
{
	struct vtop_reg *next;
	int rc, first = 0;

	for (; count; count--, r = next) {
		next = reg_next(r);
		rc = notify_reverse(maps_tail, VTOP_MEM_MAP_NOTIFY_UNREGISTER,
				    r->va, r->len);
		if (rc && !first)
			first = rc;
		rc = release_reg(r);
		if (rc && !first)
			first = rc;
	}
	return first;
}

VTOP_EXPORT
int vtop_mem_unregister(void *vaddr, size_t len)
{
	uint64_t va = (uintptr_t)vaddr, end, cur;
	struct vtop_reg *first, *r;
	size_t count = 0;
	int rc;

	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_mem_unregister called from a notify callback");
	rc = check_range(va, len, "unregister");
	if (rc || !len)
		return rc;
	end = va + len;

	pthread_mutex_lock(&vtop__lock);
	rc = check_child("vtop_mem_unregister");
	if (rc)
		goto unlock;
	rc = process_locked();
	if (rc < 0)
		goto unlock;
	rc = 0;
	first = reg_first_ending_after(va);
	/*
	 * SPDK's order (lib/env_dpdk/memory.c): a first page that is
	 * registered but does not start its registration is -ERANGE before
	 * anything else is looked at; then every page must be registered
	 * (-EINVAL); then the range must not end inside one (-ERANGE).
	 */
	if (first && first->va < va) {
		rc = vtop__err(-ERANGE, "unregister: 0x%llx is inside the registration 0x%llx+0x%llx, not its start",
			      (unsigned long long)va,
			      (unsigned long long)first->va,
			      (unsigned long long)first->len);
		goto unlock;
	}
	cur = va;
	for (r = first; cur < end; r = reg_next(r), count++) {
		if (!r || r->va > cur) {
			rc = vtop__err(-EINVAL, "unregister: 0x%llx is not registered",
				      (unsigned long long)cur);
			goto unlock;
		}
		cur = r->va + r->len;
	}
	if (cur > end) {
		rc = vtop__err(-ERANGE, "unregister: 0x%llx+0x%llx would split a registration",
			      (unsigned long long)va,
			      (unsigned long long)len);
		goto unlock;
	}
	rc = unregister_regs(first, count);
unlock:
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

/* ---- attached devices (dev.c) ------------------------------------------ */

int vtop__mem_attach_dev_locked(struct vtop_dev *d)
{
	struct vtop_pin_result res;
	struct vtop_reg *r, *k;
	uint32_t bit = 1U << d->slot;
	bool invalid;
	int rc = 0;

	for (r = reg_first(); r; r = reg_next(r)) {
		pthread_mutex_lock(&vtop__ev_lock);
		invalid = r->invalid;
		pthread_mutex_unlock(&vtop__ev_lock);
		/* Invalidated: it ends when the events are processed. */
		if (invalid)
			continue;
		memset(&res, 0, sizeof(res));
		res.flags = r->pin_flags;
		rc = d->ops->pin(d->ctx, r->va, r->len, &res);
		if (rc)
			break;
		rc = vtop__check_segments(&res, r->va, r->len, d->ops->name);
		if (!rc)
			rc = vtop__map_fill_segs(d->map, res.segs, res.nr_segs,
						 NULL, NULL);
		if (!res.borrowed)
			free(res.segs);
		if (rc) {
			if (d->ops->unpin(d->ctx, res.handle))
				counters.unpin_errors++;
			break;
		}
		r->dev_handle[d->slot] = res.handle;
		r->dev_mask |= bit;
	}
	if (rc) {
		uint64_t va = r->va, len = r->len;
		char why[256];

		vtop__last_error_copy(why, sizeof(why), rc);

		/* All or nothing: what was pinned on @d so far goes. */
		for (k = reg_first(); k != r; k = reg_next(k)) {
			if (!(k->dev_mask & bit))
				continue;
			if (d->ops->unpin(d->ctx, k->dev_handle[d->slot]))
				counters.unpin_errors++;
			k->dev_mask &= ~bit;
			vtop__map_clear_range(d->map, k->va, k->len);
		}
		return vtop__err(rc, "attach %s: mapping the registration 0x%llx+0x%llx for it failed (%s); nothing was attached",
				d->name, (unsigned long long)va,
				(unsigned long long)len, why);
	}
	pthread_mutex_lock(&vtop__ev_lock);
	vtop__devs[d->slot] = d;
	vtop__nr_devs++;
	/* Marked while it was being mapped: never served for @d either. */
	for (r = reg_first(); r; r = reg_next(r))
		if (r->invalid)
			vtop__map_clear_range(d->map, r->va, r->len);
	pthread_mutex_unlock(&vtop__ev_lock);
	return 0;
}

void vtop__mem_detach_dev_locked(struct vtop_dev *d, bool unpin)
{
	uint32_t bit = 1U << d->slot;
	struct vtop_reg *r;

	pthread_mutex_lock(&vtop__ev_lock);
	vtop__devs[d->slot] = NULL;
	vtop__nr_devs--;
	pthread_mutex_unlock(&vtop__ev_lock);
	for (r = reg_first(); r; r = reg_next(r)) {
		if (!(r->dev_mask & bit))
			continue;
		if (unpin && d->ops->unpin(d->ctx, r->dev_handle[d->slot]))
			counters.unpin_errors++;
		r->dev_mask &= ~bit;
	}
}

void vtop__mem_dev_clear_map_locked(struct vtop_dev *d)
{
	uint32_t bit = 1U << d->slot;
	struct vtop_reg *r;

	/* Only what is mapped for @d: clearing that allocates nothing. */
	for (r = reg_first(); r; r = reg_next(r))
		if (r->dev_mask & bit)
			vtop__map_clear_range(d->map, r->va, r->len);
}

void vtop__mem_dev_unpin_all_locked(struct vtop_dev *d)
{
	uint32_t bit = 1U << d->slot;
	struct vtop_reg *r;

	int rc;

	for (r = reg_first(); r; r = reg_next(r)) {
		if (!(r->dev_mask & bit))
			continue;
		rc = d->ctx ? d->ops->unpin(d->ctx, r->dev_handle[d->slot]) : 0;
		if (rc) {
			counters.unpin_errors++;
			vtop__err(rc, "unpinning 0x%llx+0x%llx on the revoked device %s failed",
				 (unsigned long long)r->va,
				 (unsigned long long)r->len, d->name);
		}
		r->dev_mask &= ~bit;
	}
}

int vtop__mem_dev_first_reg_locked(const struct vtop_dev *d, uint64_t *va,
				   uint32_t *pin_flags)
{
	uint32_t bit = 1U << d->slot;
	struct vtop_reg *r;

	for (r = reg_first(); r; r = reg_next(r)) {
		if ((r->dev_mask & bit) && !r->invalid) {
			*va = r->va;
			*pin_flags = r->pin_flags;
			return 0;
		}
	}
	return -ENOENT;
}

void vtop__mem_unregister_all_locked(void)
{
	/* Invalidated memory is reported as such, the rest unregistered. */
	vtop__mem_process_locked();
	unregister_regs(reg_first(), regs.n);
}

/* Fork child: empty the vtophys map (the inline lookups read it). */
void vtop__mem_fork_child(void)
{
	struct vtop_reg *r;

	for (r = reg_first(); r; r = reg_next(r)) {
		if (!r->invalid) {
			vtop__vtophys_clear(r->va, r->len);
			vtop__dev_clear_all(r->va, r->len);
		}
	}
}

static void free_subtree(struct vtop_reg *r)
{
	while (r) {
		struct vtop_reg *right = r->right;

		free_subtree(r->left);
		free(r);
		r = right;
	}
}

void vtop__mem_forget_all(void)
{
	free_subtree(regs.root);
	memset(&regs, 0, sizeof(regs));
	atomic_store_explicit(&nr_marked, 0, memory_order_relaxed);
	drained_seq = 0;
}

/* Entry points of vtop_mem_map_alloc: 0.1 (old ops) and 0.3 (sized). */
struct vtop_mem_map_ops_v01 {
	vtop_mem_map_notify_cb notify_cb;
	vtop_mem_map_contiguous_cb are_contiguous;
};

static struct vtop_mem_map *map_alloc(uint64_t default_translation,
				      const struct vtop_mem_map_ops *ops,
				      void *cb_ctx)
{
	struct vtop_mem_map *map;
	struct vtop_reg *r, *k;
	int rc;

	if (ops->notify_cb && vtop__in_callback) {
		vtop__err(-EDEADLK, "vtop_mem_map_alloc with a notify_cb called from a notify callback");
		errno = EDEADLK;
		return NULL;
	}
	map = vtop__map_create(default_translation, ops, cb_ctx);
	if (!map) {
		vtop__err(-ENOMEM, "out of memory for a map");
		errno = ENOMEM;
		return NULL;
	}
	if (!ops->notify_cb)
		return map;

	pthread_mutex_lock(&vtop__lock);
	rc = vtop__env_check_child("vtop_mem_map_alloc with a notify_cb");
	if (rc) {
		pthread_mutex_unlock(&vtop__lock);
		vtop__map_destroy(map);
		errno = -rc;
		return NULL;
	}
	for (r = reg_first(); r; r = reg_next(r)) {
		rc = notify(map, VTOP_MEM_MAP_NOTIFY_REGISTER, r->va, r->len);
		if (rc) {
			uint64_t va = r->va, len = r->len;

			for (k = reg_prev(r); k; k = reg_prev(k))
				if (notify(map, VTOP_MEM_MAP_NOTIFY_UNREGISTER,
					   k->va, k->len))
					counters.notify_errors++;
			pthread_mutex_unlock(&vtop__lock);
			vtop__map_destroy(map);
			vtop__err(rc, "the new map's notify_cb failed to replay 0x%llx+0x%llx; the map was freed",
				 (unsigned long long)va,
				 (unsigned long long)len);
			errno = -rc;
			return NULL;
		}
	}
	vtop__map_link(map)->prev = maps_tail;
	vtop__map_link(map)->next = NULL;
	if (maps_tail)
		vtop__map_link(maps_tail)->next = map;
	else
		maps_head = map;
	maps_tail = map;
	nr_maps++;
	pthread_mutex_unlock(&vtop__lock);
	return map;
}

/* The 0.3 struct: every field up to and including size. */
#define OPS_V03_SIZE	(offsetof(struct vtop_mem_map_ops, size) + \
			 sizeof(size_t))
/* 0.4: up to and including are_contiguous_sz. */
#define OPS_V04_SIZE	(offsetof(struct vtop_mem_map_ops, are_contiguous_sz) + \
			 sizeof(vtop_mem_map_contiguous_sz_cb))

VTOP_EXPORT __attribute__((symver("vtop_mem_map_alloc@@LIBVTOP_0.3")))
struct vtop_mem_map *vtop__mem_map_alloc_v03(uint64_t default_translation,
					    const struct vtop_mem_map_ops *ops,
					    void *cb_ctx)
{
	struct vtop_mem_map_ops o = { 0 };
	const unsigned char *p = (const unsigned char *)ops;
	size_t i;

	if (ops) {
		o.notify_cb = ops->notify_cb;
		o.are_contiguous = ops->are_contiguous;
		o.size = ops->size;
	}
	/* 0.4: are_contiguous_sz, read only when the caller's size has it. */
	if (o.size >= OPS_V04_SIZE)
		o.are_contiguous_sz = ops->are_contiguous_sz;
	if (o.are_contiguous && o.are_contiguous_sz) {
		vtop__err(-EINVAL, "ops has both are_contiguous and are_contiguous_sz");
		errno = EINVAL;
		return NULL;
	}
	if (o.size && o.size < OPS_V03_SIZE) {
		vtop__err(-EINVAL, "ops->size %zu is smaller than %zu",
			 o.size, (size_t)OPS_V03_SIZE);
		errno = EINVAL;
		return NULL;
	}
	if (o.size > 4096) {
		vtop__err(-E2BIG, "ops->size %zu is implausible", o.size);
		errno = E2BIG;
		return NULL;
	}
	for (i = sizeof(o); i < o.size; i++) {
		if (p[i]) {
			vtop__err(-E2BIG, "ops->size %zu: bytes beyond %zu that this libvtop does not know are not zero",
				 o.size, sizeof(o));
			errno = E2BIG;
			return NULL;
		}
	}
	if (o.size)
		o.size = sizeof(o);
	return map_alloc(default_translation, &o, cb_ctx);
}

VTOP_EXPORT __attribute__((symver("vtop_mem_map_alloc@LIBVTOP_0.1")))
struct vtop_mem_map *vtop__mem_map_alloc_v01(uint64_t default_translation,
					    const struct vtop_mem_map_ops_v01 *ops,
					    void *cb_ctx)
{
	struct vtop_mem_map_ops o = { 0 };

	if (ops) {
		o.notify_cb = ops->notify_cb;
		o.are_contiguous = ops->are_contiguous;
	}
	return map_alloc(default_translation, &o, cb_ctx);
}

VTOP_EXPORT
void vtop_mem_map_free(struct vtop_mem_map **pmap)
{
	struct vtop_mem_map *map;
	struct vtop__map_link *l;
	struct vtop_reg *r;

	if (!pmap || !*pmap)
		return;
	map = *pmap;
	if (vtop__map_ops(map)->notify_cb) {
		if (vtop__in_callback) {
			vtop__err(-EDEADLK, "vtop_mem_map_free called from a notify callback; the map was not freed");
			return;
		}
		pthread_mutex_lock(&vtop__lock);
		l = vtop__map_link(map);
		if (l->prev)
			vtop__map_link(l->prev)->next = l->next;
		else
			maps_head = l->next;
		if (l->next)
			vtop__map_link(l->next)->prev = l->prev;
		else
			maps_tail = l->prev;
		nr_maps--;
		/* Not in a fork child: the registrations are the parent's. */
		for (r = vtop__env.inherited ? NULL : reg_first(); r;
		     r = reg_next(r))
			if (notify(map, VTOP_MEM_MAP_NOTIFY_UNREGISTER, r->va,
				   r->len))
				counters.notify_errors++;
		pthread_mutex_unlock(&vtop__lock);
	}
	vtop__map_destroy(map);
	*pmap = NULL;
}

/* The first published struct vtop_mem_stats ends after entries_4k. */
#define STATS_MIN_SIZE	offsetof(struct vtop_mem_stats, inherited)

VTOP_EXPORT
int vtop_mem_get_stats(struct vtop_mem_stats *stats)
{
	struct vtop_mem_stats st;
	size_t size;

	if (!stats)
		return vtop__err(-EINVAL, "stats is NULL");
	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_mem_get_stats called from a notify callback");
	size = stats->size;
	if (size < STATS_MIN_SIZE)
		return vtop__err(-EINVAL, "stats->size %zu is smaller than %zu",
				size, (size_t)STATS_MIN_SIZE);
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&vtop__lock);
	st.initialized = vtop__env.ready;
	st.backend = vtop__env.backend;
	st.mode = vtop__env.mode;
	st.nr_maps = nr_maps;
	st.nr_registrations = regs.n;
	st.registered_bytes = regs.bytes;
	st.entries_2m = regs.n2m;
	st.entries_4k = regs.n4k;
	st.inherited = vtop__env.inherited;
	st.flags = vtop__env.flags;
	st.invalidations = counters.invalidations;
	st.unpin_errors = counters.unpin_errors;
	st.notify_errors = counters.notify_errors;
	st.event_overflows = counters.overflows;
	pthread_mutex_unlock(&vtop__lock);
	st.size = size < sizeof(st) ? size : sizeof(st);
	memcpy(stats, &st, st.size);
	if (size > sizeof(st))
		memset((char *)stats + sizeof(st), 0, size - sizeof(st));
	return 0;
}
