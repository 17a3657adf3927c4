// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Three-level translation map.
 *
 *   level 1: VA bits [47..30], 2^18 pointers to level-2 tables (1 GiB each)
 *   level 2: VA bits [29..21], 512 slots of 2 MiB
 *   level 3: VA bits [20..12], 512 entries of 4 KiB, only where a 2 MiB slot
 *            does not hold one 2 MiB entry
 *
 * A level-2 slot holds a 2 MiB value and a leaf pointer side by side;
 * bit 0 of the pointer says the leaf is in use. The layout is the one
 * vtop.h's inline lookups read (struct vtop__map_head, vtop__map_slot).
 * Tables are never freed or unlinked before the map is, so readers walk without a lock: a reader
 * that loaded an old pointer reads memory that stays valid and holds
 * either the old or the new value of the entry. Every value is one 64-bit
 * atomic, so no read is torn. Writers hold map->lock and allocate every
 * table a change needs before changing anything; the vtophys map's fast
 * path (vtop__map_set_one_excl(), vtop__map_fill_slot_excl()) holds
 * vtop__ev_lock instead, which every writer of that map holds, the
 * atfork prepare handler included.
 *
 * Placement, opt-in (VTOP_MAP_ARENA=1 in the environment when the map is
 * created): once a map holds ARENA_MIN_LEAVES leaves (4 KiB entries over
 * 128 MiB), further leaves come from an arena of 2 MiB-aligned 2 MiB
 * chunks advised MADV_HUGEPAGE, so that a transparent huge page holds 512
 * leaves: one TLB entry instead of 512 for lookups spread over 1 GiB of
 * 4 KiB pages. Where no huge page can be had the chunk is simply 4 KiB
 * pages (the kernel falls back by itself), and where the chunk cannot be
 * mapped the leaf is allocated as before. Smaller maps keep page-sized
 * allocations: a huge page would cost them 2 MiB of memory. Off by
 * default: bench/procs.sh measured no difference in lookup time across
 * processes on the machine it ran on (results/2026-12-03-*), so it is not
 * worth the memory it can cost; the benchmarks keep measuring both.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define L1_ENTRIES	VTOP__MAP_L1_ENTRIES
#define L2_ENTRIES	512U
#define L3_ENTRIES	512U
#define LEAF_ACTIVE	VTOP__MAP_LEAF_ACTIVE

/* The arena: chunk size and the leaf count from which a map uses it. */
#define ARENA_CHUNK		(2UL << 20)
#define ARENA_MIN_LEAVES	64

/*
 * Every table word is read and written with the __atomic builtins only,
 * as the inline lookups of vtop.h read it: one 64-bit access, never torn.
 */
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define PUBLISH(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

struct map_leaf {
	uint64_t v[L3_ENTRIES];
};

/*
 * One 2 MiB entry and its leaf side by side: one cache line per lookup.
 * The l1 array holds offsets, so the tables are also kept in a list: to
 * free them, and for leak checkers, which look for pointers.
 */
struct map_l2 {
	struct vtop__map_slot slot[L2_ENTRIES];
	struct map_l2 *next;
};

/* A 2 MiB chunk of a map's leaf arena. */
struct map_chunk {
	struct map_chunk *next;
	char *base;
};

/* Leaves of a map: how many, and the arena they come from once numerous. */
struct map_leaves {
	bool arena;			/* VTOP_MAP_ARENA=1 at creation */
	size_t count;			/* allocated and not released */
	char *cur, *end;		/* unused part of the newest chunk */
	struct map_chunk *chunks;
	struct map_leaf *free;		/* released arena leaves, linked */
};

struct vtop_mem_map {
	/* What the lookups read comes first (vtop.h); writers only below. */
	struct vtop__map_head head;
	struct vtop_mem_map_ops ops;
	void *cb_ctx;
	struct vtop__map_link link;
	pthread_mutex_t lock;
	struct map_l2 *tables;		/* every level-2 table */
	struct map_leaves leaves;
	struct vtop__map_link all;	/* every map, for fork */
};

/* The layout of struct vtop__map_head that vtop.h's lookups read. */
VTOP_EXPORT const unsigned int vtop__map_layout_1 = 1;

/* Every map, so that the atfork handlers can take every map's lock. */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vtop_mem_map *all_maps;

_Static_assert(offsetof(struct vtop_mem_map, head) == 0,
	       "the inline lookups read the map as struct vtop__map_head");
_Static_assert(sizeof(struct vtop__map_slot) == 16, "slot layout");

/* The level-2 table of l1 entry @i, or NULL (the entry reads .empty). */
static inline struct map_l2 *l2_of(const struct vtop_mem_map *map,
				   unsigned int i)
{
	uint64_t off = LOAD(&map->head.l1[i]);

	return off ? (struct map_l2 *)((uintptr_t)map->head.empty + off) :
		     NULL;
}

static inline uint64_t l2_offset(const struct vtop_mem_map *map,
				 const struct map_l2 *l2)
{
	return (uint64_t)((uintptr_t)l2 - (uintptr_t)map->head.empty);
}

static inline struct map_leaf *leaf_of(uint64_t s)
{
	return (struct map_leaf *)(uintptr_t)(s & ~LEAF_ACTIVE);
}

static inline unsigned int l1_index(uint64_t va)
{
	return (unsigned int)(va >> VTOP_SHIFT_1G);
}

static inline unsigned int l2_index(uint64_t va)
{
	return (unsigned int)(va >> VTOP_SHIFT_2M) & (L2_ENTRIES - 1);
}

static inline unsigned int l3_index(uint64_t va)
{
	return (unsigned int)(va >> VTOP_SHIFT_4K) & (L3_ENTRIES - 1);
}

/* VTOP_MAP_ARENA=1 turns the leaf arena on, for maps created from then on. */
static bool arena_wanted(void)
{
	const char *v = getenv("VTOP_MAP_ARENA");

	return v && !strcmp(v, "1");
}

/* One more 2 MiB-aligned chunk for @lv, or false. */
static bool arena_grow(struct map_leaves *lv)
{
	struct map_chunk *c = calloc(1, sizeof(*c));
	uintptr_t raw, base;
	char *p;

	if (!c)
		return false;
	p = mmap(NULL, 2 * ARENA_CHUNK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(c);
		return false;
	}
	raw = (uintptr_t)p;
	base = (raw + ARENA_CHUNK - 1) & ~(ARENA_CHUNK - 1);
	if (base > raw)
		munmap(p, base - raw);
	munmap((void *)(base + ARENA_CHUNK), raw + ARENA_CHUNK - base);
	/* Advice only: without huge pages the chunk is 4 KiB pages. */
	madvise((void *)base, ARENA_CHUNK, MADV_HUGEPAGE);
	c->base = (char *)base;
	c->next = lv->chunks;
	lv->chunks = c;
	lv->cur = c->base;
	lv->end = c->base + ARENA_CHUNK;
	return true;
}

static bool in_arena(const struct map_leaves *lv, const void *p)
{
	const struct map_chunk *c;

	for (c = lv->chunks; c; c = c->next)
		if ((const char *)p >= c->base &&
		    (const char *)p < c->base + ARENA_CHUNK)
			return true;
	return false;
}

/* A zeroed leaf for @map (under map->lock), or NULL. */
static struct map_leaf *leaf_alloc(struct vtop_mem_map *map)
{
	struct map_leaves *lv = &map->leaves;
	struct map_leaf *leaf;

	if (VTOP__CALLOC_HOOK || !lv->arena || lv->count < ARENA_MIN_LEAVES)
		goto page;
	if (lv->free) {
		leaf = lv->free;
		lv->free = *(struct map_leaf **)leaf;
		memset(leaf, 0, sizeof(*leaf));
		lv->count++;
		return leaf;
	}
	if (lv->cur == lv->end && !arena_grow(lv))
		goto page;
	leaf = (struct map_leaf *)lv->cur;	/* fresh: zero */
	lv->cur += sizeof(*leaf);
	lv->count++;
	return leaf;
page:
	leaf = vtop_calloc_page(sizeof(struct map_leaf));
	if (leaf)
		lv->count++;
	return leaf;
}

/* Give back a leaf that was never published. */
static void leaf_release(struct vtop_mem_map *map, struct map_leaf *leaf)
{
	struct map_leaves *lv = &map->leaves;

	if (!leaf)
		return;
	lv->count--;
	if (in_arena(lv, leaf)) {
		*(struct map_leaf **)leaf = lv->free;
		lv->free = leaf;
	} else {
		free(leaf);
	}
}

/* Free every leaf and the arena of a map being destroyed. */
static void leaves_destroy(struct vtop_mem_map *map)
{
	struct map_leaves *lv = &map->leaves;
	struct map_chunk *c, *next;
	struct map_l2 *l2;
	unsigned int j;

	for (l2 = map->tables; l2; l2 = l2->next)
		for (j = 0; j < L2_ENTRIES; j++) {
			struct map_leaf *leaf = leaf_of(l2->slot[j].leaf);

			if (leaf && !in_arena(lv, leaf))
				free(leaf);
		}
	for (c = lv->chunks; c; c = next) {
		next = c->next;
		munmap(c->base, ARENA_CHUNK);
		free(c);
	}
}

struct vtop_mem_map *vtop__map_create(uint64_t default_translation,
				     const struct vtop_mem_map_ops *ops,
				     void *cb_ctx)
{
	struct vtop_mem_map *map;
	unsigned int i;

	/* 2 MiB of zero offsets: calloc maps fresh zero pages. */
	map = vtop_calloc(1, sizeof(*map));
	if (!map)
		return NULL;
	map->head.default_translation = default_translation;
	map->leaves.arena = arena_wanted();
	for (i = 0; i < L2_ENTRIES; i++)
		map->head.empty[i].value = default_translation;
	if (ops)
		map->ops = *ops;
	map->cb_ctx = cb_ctx;
	pthread_mutex_init(&map->lock, NULL);
	pthread_mutex_lock(&maps_lock);
	map->all.next = all_maps;
	if (all_maps)
		all_maps->all.prev = map;
	all_maps = map;
	pthread_mutex_unlock(&maps_lock);
	return map;
}

void vtop__maps_lock_all(void)
{
	struct vtop_mem_map *m;

	pthread_mutex_lock(&maps_lock);
	for (m = all_maps; m; m = m->all.next)
		pthread_mutex_lock(&m->lock);
}

void vtop__maps_unlock_all(void)
{
	struct vtop_mem_map *m;

	for (m = all_maps; m; m = m->all.next)
		pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&maps_lock);
}

bool vtop__map_wants_invalidate(const struct vtop_mem_map *map)
{
	return map->ops.size != 0;
}

void vtop__map_destroy(struct vtop_mem_map *map)
{
	struct map_l2 *l2, *next;

	if (!map)
		return;
	pthread_mutex_lock(&maps_lock);
	if (map->all.prev)
		map->all.prev->all.next = map->all.next;
	else
		all_maps = map->all.next;
	if (map->all.next)
		map->all.next->all.prev = map->all.prev;
	pthread_mutex_unlock(&maps_lock);
	leaves_destroy(map);
	for (l2 = map->tables; l2; l2 = next) {
		next = l2->next;
		free(l2);
	}
	pthread_mutex_destroy(&map->lock);
	free(map);
}

struct vtop__map_link *vtop__map_link(struct vtop_mem_map *map)
{
	return &map->link;
}

const struct vtop_mem_map_ops *vtop__map_ops(const struct vtop_mem_map *map)
{
	return &map->ops;
}

void *vtop__map_cb_ctx(const struct vtop_mem_map *map)
{
	return map->cb_ctx;
}

/* Does @r give the whole 2 MiB slot at @slot_va one 2 MiB entry? */
static bool range_takes_2m(const struct vtop_map_range *r, uint64_t slot_va)
{
	return r->allow_2m && slot_va >= r->va &&
	       slot_va + VTOP_SIZE_2M <= r->va + r->len;
}

/*
 * Walk the slots the ranges touch, in address order. For each one, call
 * @fn with the 2 MiB-aligned slot address and the part of the range in it.
 */
struct walk_state {
	struct vtop_mem_map *map;
	/* counting pass */
	size_t need_l2;
	size_t need_leaf;
	uint64_t last_l1;	/* last l1 index counted + 1, 0: none */
	uint64_t last_slot;	/* last slot (va >> 21) counted + 1 */
	/* applying pass */
	struct map_l2 **l2_pool;
	struct map_leaf **leaf_pool;
	size_t l2_used;
	size_t leaf_used;
	uint64_t n2m;
	uint64_t n4k;
};

static void count_slot(struct walk_state *w, const struct vtop_map_range *r,
		       uint64_t slot_va)
{
	uint64_t l1 = slot_va >> VTOP_SHIFT_1G;
	uint64_t slot = slot_va >> VTOP_SHIFT_2M;
	struct map_l2 *l2;
	bool new_l2 = false;

	l2 = l2_of(w->map, (unsigned int)l1);
	if (!l2) {
		new_l2 = true;
		if (w->last_l1 != l1 + 1) {
			w->need_l2++;
			w->last_l1 = l1 + 1;
		}
	}
	if (range_takes_2m(r, slot_va))
		return;
	if (!new_l2 && LOAD(&l2->slot[l2_index(slot_va)].leaf))
		return;
	if (w->last_slot != slot + 1) {
		w->need_leaf++;
		w->last_slot = slot + 1;
	}
}

/*
 * A slot's 4 KiB leaf is written while inactive and then published; the
 * three writers of a slot (apply_slot() and the two one-slot fast paths)
 * share these steps. leaf_open(): an inactive leaf first takes the 2 MiB
 * entry's value for every page. leaf_publish(): activate it (release).
 */
static inline void leaf_open(struct vtop__map_slot *slot, uint64_t s,
			     struct map_leaf *leaf)
{
	uint64_t fill;
	unsigned int j;

	if (s & LEAF_ACTIVE)
		return;
	fill = LOAD(&slot->value);
	for (j = 0; j < L3_ENTRIES; j++)
		STORE(&leaf->v[j], fill);
}

static inline void leaf_publish(struct vtop__map_slot *slot, uint64_t s,
				struct map_leaf *leaf)
{
	if (!(s & LEAF_ACTIVE))
		PUBLISH(&slot->leaf, (uint64_t)(uintptr_t)leaf | LEAF_ACTIVE);
}

/* Inlined: in the fast path of one range too. */
static inline __attribute__((always_inline))
void apply_slot(struct walk_state *w, const struct vtop_map_range *r,
		uint64_t slot_va)
{
	struct vtop_mem_map *map = w->map;
	unsigned int l1 = l1_index(slot_va), i = l2_index(slot_va), j;
	uint64_t start, end, va;
	struct map_leaf *leaf;
	struct map_l2 *l2;
	uint64_t s;

	l2 = l2_of(map, l1);
	if (!l2) {
		l2 = w->l2_pool[w->l2_used];
		w->l2_pool[w->l2_used++] = NULL;
		for (j = 0; j < L2_ENTRIES; j++)
			STORE(&l2->slot[j].value,
			      map->head.default_translation);
		l2->next = map->tables;
		map->tables = l2;
		PUBLISH(&map->head.l1[l1], l2_offset(map, l2));
	}

	s = LOAD(&l2->slot[i].leaf);
	if (range_takes_2m(r, slot_va)) {
		PUBLISH(&l2->slot[i].value,
			r->value);
		if (s & LEAF_ACTIVE)
			PUBLISH(&l2->slot[i].leaf, s & ~LEAF_ACTIVE);
		w->n2m++;
		return;
	}

	leaf = leaf_of(s);
	if (!leaf) {
		leaf = w->leaf_pool[w->leaf_used];
		w->leaf_pool[w->leaf_used++] = NULL;
	}
	leaf_open(&l2->slot[i], s, leaf);
	start = r->va > slot_va ? r->va : slot_va;
	end = r->va + r->len < slot_va + VTOP_SIZE_2M ?
	      r->va + r->len : slot_va + VTOP_SIZE_2M;
	for (va = start; va < end; va += VTOP_SIZE_4K) {
		PUBLISH(&leaf->v[l3_index(va)], r->value);
		w->n4k++;
	}
	leaf_publish(&l2->slot[i], s, leaf);
}

static void walk(struct walk_state *w, const struct vtop_map_range *r,
		 size_t n, bool apply)
{
	uint64_t slot_va;
	size_t k;

	for (k = 0; k < n; k++) {
		if (!r[k].len)
			continue;
		for (slot_va = r[k].va & ~(VTOP_SIZE_2M - 1);
		     slot_va < r[k].va + r[k].len; slot_va += VTOP_SIZE_2M) {
			if (apply)
				apply_slot(w, &r[k], slot_va);
			else
				count_slot(w, &r[k], slot_va);
		}
	}
}

static void free_pools(struct walk_state *w)
{
	size_t k;

	if (w->l2_pool) {
		for (k = 0; k < w->need_l2; k++)
			free(w->l2_pool[k]);
		free(w->l2_pool);
	}
	if (w->leaf_pool) {
		for (k = 0; k < w->need_leaf; k++)
			leaf_release(w->map, w->leaf_pool[k]);
		free(w->leaf_pool);
	}
}

/*
 * Is @r inside one 2 MiB slot whose tables exist already (its level-2
 * table, and its leaf unless @r takes the whole slot)? Then applying it
 * allocates nothing, and needs no counting pass: the common case of a
 * small registration and of clearing one. Under map->lock.
 */
static inline __attribute__((always_inline))
bool one_slot_ready(const struct vtop_mem_map *map,
		    const struct vtop_map_range *r)
{
	uint64_t slot_va = r->va & ~(VTOP_SIZE_2M - 1);
	struct map_l2 *l2;

	if (!r->len || slot_va != ((r->va + r->len - 1) & ~(VTOP_SIZE_2M - 1)))
		return false;
	l2 = l2_of(map, l1_index(slot_va));
	if (!l2)
		return false;
	return range_takes_2m(r, slot_va) ||
	       LOAD(&l2->slot[l2_index(slot_va)].leaf);
}

bool vtop__map_set_one_excl(struct vtop_mem_map *map,
			    const struct vtop_map_range *r,
			    uint64_t *n2m, uint64_t *n4k)
{
	uint64_t slot_va = r->va & ~(VTOP_SIZE_2M - 1), end = r->va + r->len;
	struct vtop__map_slot *slot;
	struct map_leaf *leaf;
	struct map_l2 *l2;
	uint64_t s, va;

	/* apply_slot() for one range in one slot, its tables there. */
	if (!r->len || slot_va != ((end - 1) & ~(VTOP_SIZE_2M - 1)))
		return false;
	l2 = l2_of(map, l1_index(slot_va));
	if (!l2)
		return false;
	slot = &l2->slot[l2_index(slot_va)];
	s = LOAD(&slot->leaf);
	if (range_takes_2m(r, slot_va)) {
		PUBLISH(&slot->value, r->value);
		if (s & LEAF_ACTIVE)
			PUBLISH(&slot->leaf, s & ~LEAF_ACTIVE);
		if (n2m)
			*n2m = 1;
		if (n4k)
			*n4k = 0;
		return true;
	}
	leaf = leaf_of(s);
	if (!leaf)
		return false;
	leaf_open(slot, s, leaf);
	for (va = r->va; va < end; va += VTOP_SIZE_4K)
		PUBLISH(&leaf->v[l3_index(va)], r->value);
	leaf_publish(slot, s, leaf);
	if (n2m)
		*n2m = 0;
	if (n4k)
		*n4k = r->len >> VTOP_SHIFT_4K;
	return true;
}

bool vtop__map_fill_slot_excl(struct vtop_mem_map *map,
			      const struct vtop_segment *segs, uint32_t nr,
			      uint64_t *n2m, uint64_t *n4k)
{
	uint64_t slot_va, end, s, va, pages = 0;
	struct vtop__map_slot *slot;
	struct map_leaf *leaf;
	struct map_l2 *l2;
	uint32_t k;

	if (nr == 1) {
		const struct vtop_map_range one = {
			.va = segs[0].vaddr, .len = segs[0].len,
			.value = segs[0].dma_addr - segs[0].vaddr,
			.allow_2m = segs[0].page_shift >= VTOP_SHIFT_2M,
		};

		return vtop__map_set_one_excl(map, &one, n2m, n4k);
	}
	if (!nr)
		return false;
	/*
	 * Several segments in one slot: none covers the whole slot, so all
	 * are 4 KiB entries of the slot's leaf.
	 */
	slot_va = segs[0].vaddr & ~(VTOP_SIZE_2M - 1);
	end = segs[nr - 1].vaddr + segs[nr - 1].len;
	if (!segs[nr - 1].len ||
	    slot_va != ((end - 1) & ~(VTOP_SIZE_2M - 1)))
		return false;
	l2 = l2_of(map, l1_index(slot_va));
	if (!l2)
		return false;
	slot = &l2->slot[l2_index(slot_va)];
	s = LOAD(&slot->leaf);
	leaf = leaf_of(s);
	if (!leaf)
		return false;
	leaf_open(slot, s, leaf);
	for (k = 0; k < nr; k++) {
		uint64_t value = segs[k].dma_addr - segs[k].vaddr;

		for (va = segs[k].vaddr; va < segs[k].vaddr + segs[k].len;
		     va += VTOP_SIZE_4K)
			PUBLISH(&leaf->v[l3_index(va)], value);
		pages += segs[k].len >> VTOP_SHIFT_4K;
	}
	leaf_publish(slot, s, leaf);
	if (n2m)
		*n2m = 0;
	if (n4k)
		*n4k = pages;
	return true;
}

int vtop__map_set_ranges(struct vtop_mem_map *map,
			const struct vtop_map_range *r, size_t n,
			uint64_t *n2m, uint64_t *n4k)
{
	struct walk_state w = { .map = map };
	int rc = 0;
	size_t k;

	pthread_mutex_lock(&map->lock);
	if (n == 1 && one_slot_ready(map, r)) {
		apply_slot(&w, r, r->va & ~(VTOP_SIZE_2M - 1));
		goto done;
	}
	walk(&w, r, n, false);
	if (w.need_l2) {
		w.l2_pool = vtop_calloc(w.need_l2, sizeof(*w.l2_pool));
		if (!w.l2_pool)
			goto nomem;
		for (k = 0; k < w.need_l2; k++) {
			w.l2_pool[k] = vtop_calloc(1, sizeof(struct map_l2));
			if (!w.l2_pool[k])
				goto nomem;
		}
	}
	if (w.need_leaf) {
		w.leaf_pool = vtop_calloc(w.need_leaf, sizeof(*w.leaf_pool));
		if (!w.leaf_pool)
			goto nomem;
		for (k = 0; k < w.need_leaf; k++) {
			w.leaf_pool[k] = leaf_alloc(map);
			if (!w.leaf_pool[k])
				goto nomem;
		}
	}
	walk(&w, r, n, true);
done:
	if (n2m)
		*n2m = w.n2m;
	if (n4k)
		*n4k = w.n4k;
	goto out;
nomem:
	rc = vtop__err(-ENOMEM, "out of memory for translation tables");
out:
	/* Every pooled table was consumed on success: the pools hold NULLs. */
	free_pools(&w);
	pthread_mutex_unlock(&map->lock);
	return rc;
}

static int check_range(uint64_t vaddr, uint64_t size)
{
	if ((vaddr | size) & (VTOP_SIZE_4K - 1))
		return vtop__err(-EINVAL, "address 0x%llx or size 0x%llx is not a multiple of 4 KiB",
				(unsigned long long)vaddr,
				(unsigned long long)size);
	if (vaddr >= VTOP_VA_LIMIT || size > VTOP_VA_LIMIT - vaddr)
		return vtop__err(-EINVAL, "range 0x%llx+0x%llx reaches beyond 2^48",
				(unsigned long long)vaddr,
				(unsigned long long)size);
	return 0;
}

VTOP_EXPORT
int vtop_mem_map_set_translation(struct vtop_mem_map *map, uint64_t vaddr,
				 uint64_t size, uint64_t translation)
{
	struct vtop_map_range r = {
		.va = vaddr, .len = size, .value = translation,
		.allow_2m = true,
	};
	int rc;

	if (!map)
		return vtop__err(-EINVAL, "map is NULL");
	rc = check_range(vaddr, size);
	if (rc || !size)
		return rc;
	return vtop__map_set_ranges(map, &r, 1, NULL, NULL);
}

VTOP_EXPORT
int vtop_mem_map_clear_translation(struct vtop_mem_map *map, uint64_t vaddr,
				   uint64_t size)
{
	if (!map)
		return vtop__err(-EINVAL, "map is NULL");
	return vtop_mem_map_set_translation(map, vaddr, size,
					    map->head.default_translation);
}

/* vtop_mem_map_translate() with a size: the run of contiguous entries. */
static __attribute__((noinline))
uint64_t translate_run(const struct vtop_mem_map *map, uint64_t vaddr,
		       uint64_t *size)
{
	vtop_mem_map_contiguous_sz_cb sz_cb = map->ops.are_contiguous_sz;
	vtop_mem_map_contiguous_cb cb = map->ops.are_contiguous;
	uint64_t value, prev, next, run, cur, prev_size;
	unsigned int shift;

	if (vaddr >= VTOP_VA_LIMIT)
		return map->head.default_translation;
	value = vtop__map_lookup(map, vaddr, &shift);
	run = (1ULL << shift) - (vaddr & ((1ULL << shift) - 1));
	if (run >= *size || (!cb && !sz_cb) ||
	    value == map->head.default_translation) {
		if (run < *size)
			*size = run;
		return value;
	}
	cur = vaddr + run;
	prev = value;
	prev_size = 1ULL << shift;
	while (run < *size && cur < VTOP_VA_LIMIT) {
		next = vtop__map_lookup(map, cur, &shift);
		if (next == map->head.default_translation ||
		    !(sz_cb ? sz_cb(prev, prev_size, next, 1ULL << shift) :
			      cb(prev, next)))
			break;
		prev = next;
		prev_size = 1ULL << shift;
		run += 1ULL << shift;
		cur += 1ULL << shift;
	}
	if (run < *size)
		*size = run;
	return value;
}

VTOP_EXPORT
uint64_t vtop_mem_map_translate(const struct vtop_mem_map *map, uint64_t vaddr,
				uint64_t *size)
{
	/* The vtophys map answers for registrations: events first. */
	if (__builtin_expect(map == atomic_load_explicit(&vtop__vtophys_map,
							 memory_order_relaxed), 0) &&
	    vtop_ev_pending() && vtop__ev_sync())
		return map->head.default_translation;
	/* Without a size, a leaf function: the inline lookup of vtop.h. */
	if (!size)
		return vtop_mem_map_lookup(map, vaddr);
	return translate_run(map, vaddr, size);
}
