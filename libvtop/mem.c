// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registrations and notifications.
 *
 * The registrations are a sorted array of non-overlapping regions, each
 * pinned by one backend call. Maps with a notify_cb are kept in a list in
 * creation order. Everything here runs under vtop__lock.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

struct vtop_reg {
	uint64_t va;
	uint64_t len;
	uint64_t handle;
	uint64_t n2m;
	uint64_t n4k;
};

static struct {
	struct vtop_reg *v;
	size_t n;
	size_t cap;
} regs;

static struct vtop_mem_map *maps_head, *maps_tail;
static uint32_t nr_maps;

_Thread_local bool vtop__in_callback;

static int notify(struct vtop_mem_map *map,
		  enum vtop_mem_map_notify_action action, uint64_t va,
		  uint64_t len)
{
	const struct vtop_mem_map_ops *ops = vtop_map_ops(map);
	int rc;

	vtop__in_callback = true;
	rc = ops->notify_cb(vtop_map_cb_ctx(map), map, action,
			    (void *)(uintptr_t)va, (size_t)len);
	vtop__in_callback = false;
	return rc > 0 ? -rc : rc;
}

/* Index of the first registration that ends after @va. */
static size_t first_ending_after(uint64_t va)
{
	size_t lo = 0, hi = regs.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (regs.v[mid].va + regs.v[mid].len <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int reserve_reg(void)
{
	struct vtop_reg *v;
	size_t cap;

	if (regs.n < regs.cap)
		return 0;
	cap = regs.cap ? regs.cap * 2 : 16;
	v = vtop_calloc(cap, sizeof(*v));
	if (!v)
		return vtop_err(-ENOMEM, "out of memory for the registration table");
	if (regs.n)
		memcpy(v, regs.v, regs.n * sizeof(*v));
	free(regs.v);
	regs.v = v;
	regs.cap = cap;
	return 0;
}

static int check_range(uint64_t va, uint64_t len, const char *what)
{
	if ((va | len) & (VTOP_SIZE_4K - 1))
		return vtop_err(-EINVAL, "%s: address 0x%llx or length 0x%llx is not a multiple of 4 KiB",
				what, (unsigned long long)va,
				(unsigned long long)len);
	if (va >= VTOP_VA_LIMIT || len > VTOP_VA_LIMIT - va)
		return vtop_err(-EINVAL, "%s: range 0x%llx+0x%llx reaches beyond 2^48",
				what, (unsigned long long)va,
				(unsigned long long)len);
	return 0;
}

static int check_segments(const struct vtop_pin_result *res, uint64_t va,
			  uint64_t len)
{
	uint64_t cur = va;
	uint32_t k;

	for (k = 0; k < res->nr_segs; k++) {
		const struct vtop_segment *s = &res->segs[k];

		if (s->vaddr != cur || !s->len ||
		    ((s->len | s->dma_addr) & (VTOP_SIZE_4K - 1)) ||
		    s->len > va + len - cur || s->page_shift < VTOP_SHIFT_4K)
			return vtop_err(-EIO, "backend %s returned a bad segment %u (0x%llx+0x%llx) for 0x%llx+0x%llx",
					vtop__env.ops->name, k,
					(unsigned long long)s->vaddr,
					(unsigned long long)s->len,
					(unsigned long long)va,
					(unsigned long long)len);
		cur += s->len;
	}
	if (cur != va + len)
		return vtop_err(-EIO, "backend %s returned segments covering 0x%llx bytes of 0x%llx",
				vtop__env.ops->name,
				(unsigned long long)(cur - va),
				(unsigned long long)len);
	return 0;
}

/* UNREGISTER to @from and every map created before it, newest first. */
static void unregister_notify_reverse(struct vtop_mem_map *from,
				      uint64_t va, uint64_t len)
{
	struct vtop_mem_map *m;

	for (m = from; m; m = vtop_map_link(m)->prev)
		notify(m, VTOP_MEM_MAP_NOTIFY_UNREGISTER, va, len);
}

/* Remove registration @i (already notified) from the vtophys map, unpin. */
static void release_reg(size_t i)
{
	struct vtop_reg *r = &regs.v[i];

	vtop_vtophys_clear(r->va, r->len);
	vtop__env.ops->unpin(vtop__env.ctx, r->handle);
}

VTOP_EXPORT
int vtop_mem_register(void *vaddr, size_t len)
{
	struct vtop_pin_result res = { 0 };
	uint64_t va = (uintptr_t)vaddr;
	struct vtop_mem_map *m;
	uint64_t n2m, n4k;
	size_t i;
	int rc;

	if (vtop__in_callback)
		return vtop_err(-EDEADLK, "vtop_mem_register called from a notify callback");
	rc = check_range(va, len, "register");
	if (rc || !len)
		return rc;

	pthread_mutex_lock(&vtop__lock);
	rc = vtop_env_ensure_locked();
	if (rc)
		goto unlock;
	i = first_ending_after(va);
	if (i < regs.n && regs.v[i].va < va + len) {
		rc = vtop_err(-EBUSY, "0x%llx+0x%llx overlaps the registration 0x%llx+0x%llx",
			      (unsigned long long)va, (unsigned long long)len,
			      (unsigned long long)regs.v[i].va,
			      (unsigned long long)regs.v[i].len);
		goto unlock;
	}
	rc = reserve_reg();
	if (rc)
		goto unlock;

	rc = vtop__env.ops->pin(vtop__env.ctx, va, len, &res);
	if (rc)
		goto unlock;
	rc = check_segments(&res, va, len);
	if (rc)
		goto unpin;

	rc = vtop_vtophys_fill(res.segs, res.nr_segs, &n2m, &n4k);
	if (rc)
		goto unpin;
	memmove(&regs.v[i + 1], &regs.v[i], (regs.n - i) * sizeof(regs.v[0]));
	regs.n++;
	regs.v[i] = (struct vtop_reg){
		.va = va, .len = len, .handle = res.handle,
		.n2m = n2m, .n4k = n4k,
	};

	for (m = maps_head; m; m = vtop_map_link(m)->next) {
		rc = notify(m, VTOP_MEM_MAP_NOTIFY_REGISTER, va, len);
		if (rc) {
			unregister_notify_reverse(vtop_map_link(m)->prev,
						  va, len);
			release_reg(i);
			regs.n--;
			memmove(&regs.v[i], &regs.v[i + 1],
				(regs.n - i) * sizeof(regs.v[0]));
			vtop_err(rc, "a map's notify_cb failed to register 0x%llx+0x%llx; the registration was undone",
				 (unsigned long long)va,
				 (unsigned long long)len);
			goto unlock;
		}
	}
	goto unlock;

unpin:
	vtop__env.ops->unpin(vtop__env.ctx, res.handle);
unlock:
	pthread_mutex_unlock(&vtop__lock);
	free(res.segs);
	return rc;
}

/* Unregister regs [first, last) and drop them from the table. */
static void unregister_regs(size_t first, size_t last)
{
	size_t i;

	for (i = first; i < last; i++) {
		unregister_notify_reverse(maps_tail, regs.v[i].va,
					  regs.v[i].len);
		release_reg(i);
	}
	memmove(&regs.v[first], &regs.v[last],
		(regs.n - last) * sizeof(regs.v[0]));
	regs.n -= last - first;
}

VTOP_EXPORT
int vtop_mem_unregister(void *vaddr, size_t len)
{
	uint64_t va = (uintptr_t)vaddr, end, cur;
	size_t first, j;
	int rc;

	if (vtop__in_callback)
		return vtop_err(-EDEADLK, "vtop_mem_unregister called from a notify callback");
	rc = check_range(va, len, "unregister");
	if (rc || !len)
		return rc;
	end = va + len;

	pthread_mutex_lock(&vtop__lock);
	first = first_ending_after(va);
	/* Every page must be registered. */
	cur = va;
	for (j = first; cur < end; j++) {
		if (j >= regs.n || regs.v[j].va > cur) {
			rc = vtop_err(-EINVAL, "unregister: 0x%llx is not registered",
				      (unsigned long long)cur);
			goto unlock;
		}
		cur = regs.v[j].va + regs.v[j].len;
	}
	/* ... and no registration may be split. */
	if (regs.v[first].va < va || cur > end) {
		rc = vtop_err(-ERANGE, "unregister: 0x%llx+0x%llx would split a registration",
			      (unsigned long long)va,
			      (unsigned long long)len);
		goto unlock;
	}
	unregister_regs(first, j);
unlock:
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

void vtop_mem_unregister_all_locked(void)
{
	unregister_regs(0, regs.n);
	free(regs.v);
	regs.v = NULL;
	regs.cap = 0;
}

VTOP_EXPORT
struct vtop_mem_map *vtop_mem_map_alloc(uint64_t default_translation,
					const struct vtop_mem_map_ops *ops,
					void *cb_ctx)
{
	struct vtop_mem_map *map;
	size_t i, k;
	int rc;

	if (ops && ops->notify_cb && vtop__in_callback) {
		vtop_err(-EDEADLK, "vtop_mem_map_alloc with a notify_cb called from a notify callback");
		errno = EDEADLK;
		return NULL;
	}
	map = vtop_map_create(default_translation, ops, cb_ctx);
	if (!map) {
		vtop_err(-ENOMEM, "out of memory for a map");
		errno = ENOMEM;
		return NULL;
	}
	if (!ops || !ops->notify_cb)
		return map;

	pthread_mutex_lock(&vtop__lock);
	for (i = 0; i < regs.n; i++) {
		rc = notify(map, VTOP_MEM_MAP_NOTIFY_REGISTER, regs.v[i].va,
			    regs.v[i].len);
		if (rc) {
			for (k = i; k-- > 0;)
				notify(map, VTOP_MEM_MAP_NOTIFY_UNREGISTER,
				       regs.v[k].va, regs.v[k].len);
			pthread_mutex_unlock(&vtop__lock);
			vtop_map_destroy(map);
			vtop_err(rc, "the new map's notify_cb failed to replay 0x%llx+0x%llx; the map was freed",
				 (unsigned long long)regs.v[i].va,
				 (unsigned long long)regs.v[i].len);
			errno = -rc;
			return NULL;
		}
	}
	vtop_map_link(map)->prev = maps_tail;
	vtop_map_link(map)->next = NULL;
	if (maps_tail)
		vtop_map_link(maps_tail)->next = map;
	else
		maps_head = map;
	maps_tail = map;
	nr_maps++;
	pthread_mutex_unlock(&vtop__lock);
	return map;
}

VTOP_EXPORT
void vtop_mem_map_free(struct vtop_mem_map **pmap)
{
	struct vtop_mem_map *map;
	struct vtop_map_link *l;
	size_t i;

	if (!pmap || !*pmap)
		return;
	map = *pmap;
	if (vtop_map_ops(map)->notify_cb) {
		if (vtop__in_callback) {
			vtop_err(-EDEADLK, "vtop_mem_map_free called from a notify callback; the map was not freed");
			return;
		}
		pthread_mutex_lock(&vtop__lock);
		l = vtop_map_link(map);
		if (l->prev)
			vtop_map_link(l->prev)->next = l->next;
		else
			maps_head = l->next;
		if (l->next)
			vtop_map_link(l->next)->prev = l->prev;
		else
			maps_tail = l->prev;
		nr_maps--;
		for (i = 0; i < regs.n; i++)
			notify(map, VTOP_MEM_MAP_NOTIFY_UNREGISTER, regs.v[i].va,
			       regs.v[i].len);
		pthread_mutex_unlock(&vtop__lock);
	}
	vtop_map_destroy(map);
	*pmap = NULL;
}

VTOP_EXPORT
int vtop_mem_get_stats(struct vtop_mem_stats *stats)
{
	struct vtop_mem_stats st;
	size_t i, size;

	if (!stats)
		return vtop_err(-EINVAL, "stats is NULL");
	if (vtop__in_callback)
		return vtop_err(-EDEADLK, "vtop_mem_get_stats called from a notify callback");
	size = stats->size;
	if (size < sizeof(st))
		return vtop_err(-EINVAL, "stats->size %zu is smaller than %zu",
				size, sizeof(st));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	pthread_mutex_lock(&vtop__lock);
	st.initialized = vtop__env.ready;
	st.backend = vtop__env.backend;
	st.mode = vtop__env.mode;
	st.nr_maps = nr_maps;
	st.nr_registrations = regs.n;
	for (i = 0; i < regs.n; i++) {
		st.registered_bytes += regs.v[i].len;
		st.entries_2m += regs.v[i].n2m;
		st.entries_4k += regs.v[i].n4k;
	}
	pthread_mutex_unlock(&vtop__lock);
	memcpy(stats, &st, sizeof(st));
	memset((char *)stats + sizeof(st), 0, size - sizeof(st));
	return 0;
}
