// SPDX-License-Identifier: LGPL-2.1-or-later
/* Translation maps: set, clear, translate, layout, contiguity. */
#define HOST_FILE "map_test"
#include "host_test.h"
#include "../../libvtop/internal.h"

#define DEF	0xDEADBEEF0BADF00DULL
#define K4	0x1000ULL
#define M2	0x200000ULL
#define G1	0x40000000ULL
#define LIMIT	0x1000000000000ULL

static int equal_contig(uint64_t a, uint64_t b)
{
	return a == b;
}

static int plus_one_contig(uint64_t a, uint64_t b)
{
	return b == a + 1;
}

static int always_contig(uint64_t a, uint64_t b)
{
	(void)a;
	(void)b;
	return 1;
}

static struct vtop_mem_map *new_map(vtop_mem_map_contiguous_cb c)
{
	struct vtop_mem_map_ops ops = { .are_contiguous = c };
	struct vtop_mem_map *m = vtop_mem_map_alloc(DEF, &ops, NULL);

	REQUIRE(m);
	return m;
}

static unsigned int shift_at(struct vtop_mem_map *m, uint64_t va)
{
	unsigned int s;

	vtop__map_lookup(m, va, &s);
	return s;
}

/* The vectors of SPDK's test/env/memory/memory_ut.c. */
static void spdk_vectors(void)
{
	struct vtop_mem_map *m = new_map(equal_contig);
	uint64_t size;

	CHECK_EQ(vtop_mem_map_set_translation(m, 0, 3 * M2, 0), 0);
	size = 3 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, 0, &size), 0);
	CHECK_EQ(size, 3 * M2);
	size = 3 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, K4, &size), 0);
	CHECK_EQ(size, 3 * M2 - K4);
	size = 543;
	CHECK_EQ(vtop_mem_map_translate(m, K4, &size), 0);
	CHECK_EQ(size, 543);
	size = 3 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, 3 * M2 - 196, &size), 0);
	CHECK_EQ(size, 196);
	/* every page of the 6 MiB translates to the value, not value+off */
	CHECK_EQ(vtop_mem_map_translate(m, 5 * M2 / 2 + 123, NULL), 0);
	/* three 2 MiB entries, no leaves */
	CHECK_EQ(shift_at(m, 0), 21);
	CHECK_EQ(shift_at(m, 2 * M2 + K4), 21);

	/* at and beyond 2^48 */
	CHECK_EQ(vtop_mem_map_set_translation(m, LIMIT, M2, 1), -EINVAL);
	CHECK_EQ(vtop_mem_map_set_translation(m, LIMIT - M2, 2 * M2, 1),
		 -EINVAL);
	CHECK_EQ(vtop_mem_map_clear_translation(m, LIMIT, K4), -EINVAL);
	size = 77;
	CHECK_EQ(vtop_mem_map_translate(m, LIMIT, &size), DEF);
	CHECK_EQ(size, 77);
	CHECK_EQ(vtop_mem_map_translate(m, UINT64_MAX, NULL), DEF);
	/* the last page is fine, and a run stops at 2^48 */
	CHECK_EQ(vtop_mem_map_set_translation(m, LIMIT - 2 * K4, 2 * K4, 9), 0);
	size = M2;
	CHECK_EQ(vtop_mem_map_translate(m, LIMIT - 2 * K4, &size), 9);
	CHECK_EQ(size, 2 * K4);
	vtop_mem_map_free(&m);
	CHECK(m == NULL);
}

static void alignment(void)
{
	struct vtop_mem_map *m = new_map(NULL);

	CHECK_EQ(vtop_mem_map_set_translation(m, 1, K4, 5), -EINVAL);
	CHECK_EQ(vtop_mem_map_set_translation(m, K4, K4 + 1, 5), -EINVAL);
	CHECK_EQ(vtop_mem_map_set_translation(m, K4 / 2, K4 / 2, 5), -EINVAL);
	CHECK_EQ(vtop_mem_map_clear_translation(m, 0, 100), -EINVAL);
	CHECK_EQ(vtop_mem_map_set_translation(NULL, 0, K4, 5), -EINVAL);
	CHECK_EQ(vtop_mem_map_clear_translation(NULL, 0, K4), -EINVAL);
	/* size 0 is a no-op */
	CHECK_EQ(vtop_mem_map_set_translation(m, K4, 0, 5), 0);
	/* nothing was changed by any of it */
	CHECK_EQ(vtop_mem_map_translate(m, 0, NULL), DEF);
	CHECK_EQ(vtop_mem_map_translate(m, K4, NULL), DEF);
	vtop_mem_map_free(&m);
}

static void set_clear_4k(void)
{
	struct vtop_mem_map *m = new_map(NULL);
	uint64_t size;

	CHECK_EQ(vtop_mem_map_set_translation(m, 0x7f0000001000ULL, K4, 5), 0);
	CHECK_EQ(vtop_mem_map_translate(m, 0x7f0000001000ULL, NULL), 5);
	CHECK_EQ(vtop_mem_map_translate(m, 0x7f0000001fffULL, NULL), 5);
	CHECK_EQ(vtop_mem_map_translate(m, 0x7f0000002000ULL, NULL), DEF);
	CHECK_EQ(vtop_mem_map_translate(m, 0x7f0000000fffULL, NULL), DEF);
	CHECK_EQ(shift_at(m, 0x7f0000001000ULL), 12);
	/* rest of the leaf is default, 4 KiB entries */
	CHECK_EQ(shift_at(m, 0x7f0000002000ULL), 12);
	size = M2;
	CHECK_EQ(vtop_mem_map_translate(m, 0x7f0000001010ULL, &size), 5);
	CHECK_EQ(size, K4 - 0x10);
	CHECK_EQ(vtop_mem_map_clear_translation(m, 0x7f0000001000ULL, K4), 0);
	CHECK_EQ(vtop_mem_map_translate(m, 0x7f0000001000ULL, NULL), DEF);
	vtop_mem_map_free(&m);
}

/* 2 MiB entries and 4 KiB leaves replace each other as the spec says. */
static void entry_sizes(void)
{
	struct vtop_mem_map *m = new_map(NULL);
	uint64_t va = 0x10000000ULL, i;

	CHECK_EQ(vtop_mem_map_set_translation(m, va, M2, 7), 0);
	CHECK_EQ(shift_at(m, va), 21);
	CHECK_EQ(vtop_mem_map_translate(m, va + M2 - 1, NULL), 7);
	/* a 4 KiB set splits it: the other pages keep the 2 MiB value */
	CHECK_EQ(vtop_mem_map_set_translation(m, va + 2 * K4, K4, 9), 0);
	CHECK_EQ(shift_at(m, va), 12);
	for (i = 0; i < M2; i += K4)
		CHECK_EQ(vtop_mem_map_translate(m, va + i, NULL),
			 i == 2 * K4 ? 9 : 7);
	/* the whole slot again: back to one 2 MiB entry */
	CHECK_EQ(vtop_mem_map_set_translation(m, va, M2, 11), 0);
	CHECK_EQ(shift_at(m, va + 2 * K4), 21);
	CHECK_EQ(vtop_mem_map_translate(m, va + 2 * K4, NULL), 11);
	/* split again: the reused leaf must hold 11, not the old 7/9 */
	CHECK_EQ(vtop_mem_map_set_translation(m, va + M2 - K4, K4, 12), 0);
	for (i = 0; i < M2; i += K4)
		CHECK_EQ(vtop_mem_map_translate(m, va + i, NULL),
			 i == M2 - K4 ? 12 : 11);
	/* clear a 2 MiB stretch: default, as a 2 MiB entry */
	CHECK_EQ(vtop_mem_map_clear_translation(m, va, M2), 0);
	CHECK_EQ(shift_at(m, va), 21);
	CHECK_EQ(vtop_mem_map_translate(m, va + M2 - K4, NULL), DEF);
	/* unaligned 2 MiB-long range: two leaves, no 2 MiB entry */
	CHECK_EQ(vtop_mem_map_set_translation(m, va + K4, M2, 3), 0);
	CHECK_EQ(shift_at(m, va + K4), 12);
	CHECK_EQ(shift_at(m, va + M2), 12);
	CHECK_EQ(vtop_mem_map_translate(m, va, NULL), DEF);
	CHECK_EQ(vtop_mem_map_translate(m, va + M2, NULL), 3);
	CHECK_EQ(vtop_mem_map_translate(m, va + M2 + K4, NULL), DEF);
	vtop_mem_map_free(&m);
}

/* A range over a 1 GiB boundary uses two level-2 tables. */
static void cross_1g(void)
{
	struct vtop_mem_map *m = new_map(equal_contig);
	uint64_t va = 5 * G1 - K4, size;

	CHECK_EQ(vtop_mem_map_set_translation(m, va, M2 + 2 * K4, 4), 0);
	CHECK_EQ(shift_at(m, va), 12);
	CHECK_EQ(shift_at(m, 5 * G1), 21);
	CHECK_EQ(shift_at(m, 5 * G1 + M2), 12);
	size = 4 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, va, &size), 4);
	CHECK_EQ(size, M2 + 2 * K4);
	CHECK_EQ(vtop_mem_map_translate(m, va - K4, NULL), DEF);
	CHECK_EQ(vtop_mem_map_translate(m, 5 * G1 + M2, NULL), 4);
	CHECK_EQ(vtop_mem_map_translate(m, 5 * G1 + M2 + K4, NULL), DEF);
	vtop_mem_map_free(&m);
}

/* Without are_contiguous a run ends with its entry. */
static void size_without_contig(void)
{
	struct vtop_mem_map *m = new_map(NULL);
	uint64_t size;

	CHECK_EQ(vtop_mem_map_set_translation(m, 0, 3 * M2, 0), 0);
	size = 3 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, K4, &size), 0);
	CHECK_EQ(size, M2 - K4);
	/* unset memory: to the end of its (2 MiB, tableless) entry */
	size = G1;
	CHECK_EQ(vtop_mem_map_translate(m, 7 * G1 + K4, &size), DEF);
	CHECK_EQ(size, M2 - K4);
	/* a request shorter than the entry is kept */
	size = 10;
	CHECK_EQ(vtop_mem_map_translate(m, 7 * G1, &size), DEF);
	CHECK_EQ(size, 10);
	size = 0;
	CHECK_EQ(vtop_mem_map_translate(m, 0, &size), 0);
	CHECK_EQ(size, 0);
	vtop_mem_map_free(&m);
}

/* Runs continue entry by entry, across 2 MiB and 4 KiB entries. */
static void contig_mixed(void)
{
	struct vtop_mem_map *m = new_map(plus_one_contig);
	uint64_t size;

	CHECK_EQ(vtop_mem_map_set_translation(m, 2 * M2, M2, 10), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, 3 * M2, K4, 11), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, 3 * M2 + K4, K4, 12), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, 3 * M2 + 2 * K4, K4, 14), 0);
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, 2 * M2 + 5, &size), 10);
	CHECK_EQ(size, M2 + 2 * K4 - 5);
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, 3 * M2 + K4, &size), 12);
	CHECK_EQ(size, K4);
	/* a run starting at the default is never extended */
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, M2, &size), DEF);
	CHECK_EQ(size, M2);
	vtop_mem_map_free(&m);

	/* a page holding the default never continues a run */
	m = new_map(always_contig);
	CHECK_EQ(vtop_mem_map_set_translation(m, 0, M2 + K4, 1), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, M2 + 2 * K4, K4, 1), 0);
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, 0, &size), 1);
	CHECK_EQ(size, M2 + K4);
	vtop_mem_map_free(&m);
}

/* SPDK-style stride callbacks: 2 MiB only, and with the entry sizes. */
static int stride_2m(uint64_t a, uint64_t b)
{
	return b - a == M2;
}

static uint64_t seen_sizes[8][2];
static int nseen;

static int stride_sz(uint64_t a, uint64_t sa, uint64_t b, uint64_t sb)
{
	if (nseen < 8) {
		seen_sizes[nseen][0] = sa;
		seen_sizes[nseen][1] = sb;
	}
	nseen++;
	return b == a + sa;
}

static struct vtop_mem_map *new_map_sz(vtop_mem_map_contiguous_sz_cb c)
{
	struct vtop_mem_map_ops ops = { .are_contiguous_sz = c,
					.size = sizeof(ops) };
	struct vtop_mem_map *m = vtop_mem_map_alloc(DEF, &ops, NULL);

	REQUIRE(m);
	return m;
}

/*
 * Issue 16 item 2: [2M-4K, 2M) = P (a 4 KiB entry), [2M, 4M) = P + 4K (a
 * 2 MiB entry), [4M, 4M+4K) = P + 4K + 2M. Translated at 2M-4K, the run is
 * 2 MiB + 8 KiB with the sized callback; the 2 MiB stride callback stops
 * after the first page.
 */
static void contig_sizes(void)
{
	const uint64_t pa = 0x7654000000ULL;
	struct vtop_mem_map *m;
	uint64_t size;

	m = new_map_sz(stride_sz);
	CHECK_EQ(vtop_mem_map_set_translation(m, M2 - K4, K4, pa), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, M2, M2, pa + K4), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, 2 * M2, K4, pa + K4 + M2), 0);
	REQUIRE(shift_at(m, M2 - K4) == 12 && shift_at(m, M2) == 21);
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, M2 - K4, &size), pa);
	CHECK_EQ(size, M2 + 2 * K4);
	CHECK_EQ(nseen, 2);	/* the default after it ends the run */
	CHECK_EQ(seen_sizes[0][0], K4);
	CHECK_EQ(seen_sizes[0][1], M2);
	CHECK_EQ(seen_sizes[1][0], M2);
	CHECK_EQ(seen_sizes[1][1], K4);
	/* from inside the 2 MiB entry: its whole size is passed */
	nseen = 0;
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, M2 + 3 * K4 + 8, &size), pa + K4);
	CHECK_EQ(size, M2 - 3 * K4 - 8 + K4);
	CHECK_EQ(seen_sizes[0][0], M2);
	CHECK_EQ(seen_sizes[0][1], K4);
	vtop_mem_map_free(&m);

	/* the old callback over the same map under-reports: 4 KiB */
	m = new_map(stride_2m);
	CHECK_EQ(vtop_mem_map_set_translation(m, M2 - K4, K4, pa), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, M2, M2, pa + K4), 0);
	size = 10 * M2;
	CHECK_EQ(vtop_mem_map_translate(m, M2 - K4, &size), pa);
	CHECK_EQ(size, K4);
	vtop_mem_map_free(&m);
}

/* Both callbacks: -EINVAL. A 0.3-sized ops never has its tail read. */
static void contig_sz_ops(void)
{
	struct vtop_mem_map_ops ops = { .are_contiguous = stride_2m,
					.are_contiguous_sz = stride_sz,
					.size = sizeof(ops) };
	struct vtop_mem_map *m;
	uint64_t size;

	errno = 0;
	CHECK(vtop_mem_map_alloc(DEF, &ops, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	/* size of the 0.3 struct: are_contiguous_sz is past it, ignored */
	ops.are_contiguous = NULL;
	ops.size = offsetof(struct vtop_mem_map_ops, are_contiguous_sz);
	m = vtop_mem_map_alloc(DEF, &ops, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_mem_map_set_translation(m, 0, 2 * K4, 7), 0);
	nseen = 0;
	size = 2 * K4;
	CHECK_EQ(vtop_mem_map_translate(m, 0, &size), 7);
	CHECK_EQ(size, K4);
	CHECK_EQ(nseen, 0);
	vtop_mem_map_free(&m);
}

/* The internal batch used by the vtophys map: one value per range. */
static void batched_ranges(void)
{
	struct vtop_mem_map *m = new_map(NULL);
	struct vtop_map_range r[] = {
		{ .va = M2 - 2 * K4, .len = 2 * K4 + M2 + K4,
		  .value = 0x100000, .allow_2m = true },
		{ .va = 2 * M2 + K4, .len = M2 - K4, .value = 0x900000,
		  .allow_2m = false },
		{ .va = 4 * M2, .len = M2, .value = 0x700000,
		  .allow_2m = false },
	};
	uint64_t n2m = 99, n4k = 99;

	CHECK_EQ(vtop__map_set_ranges(m, r, 3, &n2m, &n4k), 0);
	CHECK_EQ(n2m, 1);
	CHECK_EQ(n4k, 2 + 1 + 511 + 512);
	CHECK_EQ(vtop_mem_map_translate(m, M2 - 2 * K4, NULL), 0x100000);
	CHECK_EQ(vtop_mem_map_translate(m, M2 - K4, NULL), 0x100000);
	CHECK_EQ(vtop_mem_map_translate(m, M2 + 77, NULL), 0x100000);
	CHECK_EQ(shift_at(m, M2), 21);
	CHECK_EQ(vtop_mem_map_translate(m, 2 * M2, NULL), 0x100000);
	CHECK_EQ(vtop_mem_map_translate(m, 2 * M2 + K4, NULL), 0x900000);
	CHECK_EQ(vtop_mem_map_translate(m, 3 * M2 - K4, NULL), 0x900000);
	CHECK_EQ(vtop_mem_map_translate(m, 3 * M2, NULL), DEF);
	/* allow_2m false keeps 4 KiB entries even for a whole slot */
	CHECK_EQ(shift_at(m, 4 * M2), 12);
	CHECK_EQ(vtop_mem_map_translate(m, 5 * M2 - K4, NULL), 0x700000);
	vtop_mem_map_free(&m);
}

static void free_null(void)
{
	struct vtop_mem_map *m = NULL;

	vtop_mem_map_free(NULL);
	vtop_mem_map_free(&m);
	CHECK(m == NULL);
	m = vtop_mem_map_alloc(0, NULL, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_mem_map_translate(m, 0x1234000, NULL), 0);
	vtop_mem_map_free(&m);
	CHECK(m == NULL);
}

/* Many scattered leaves over a big area, all freed by vtop_mem_map_free
 * (ASan's leak check fails the test otherwise). */
static void many_tables(void)
{
	struct vtop_mem_map *m = new_map(NULL);
	uint64_t i, va;

	for (i = 0; i < 300; i++) {
		va = (i * 0x9E3779B97F4A7C15ULL) % (LIMIT - K4);
		va &= ~(K4 - 1);
		CHECK_EQ(vtop_mem_map_set_translation(m, va, K4, i), 0);
		CHECK_EQ(vtop_mem_map_translate(m, va + 5, NULL), i);
	}
	vtop_mem_map_free(&m);
}

/*
 * Enough 4 KiB leaves for the leaf arena of map.c (VTOP_MAP_ARENA=1; from
 * 64 leaves on, 512 per 2 MiB chunk) to take two chunks: every entry reads
 * back, a slot turned into one 2 MiB entry and back into 4 KiB entries
 * keeps its leaf, and freeing the map releases it all (ASan's leak check).
 * The same without the arena.
 */
static void leaf_arena_one(const char *arena)
{
	const uint64_t base = 0x7f0000000000ULL, n = 700;
	struct vtop_mem_map *m;
	uint64_t i;

	REQUIRE(setenv("VTOP_MAP_ARENA", arena, 1) == 0);
	m = new_map(NULL);
	unsetenv("VTOP_MAP_ARENA");

	for (i = 0; i < n; i++)
		CHECK_EQ(vtop_mem_map_set_translation(m, base + i * M2 + K4,
						      K4, i + 1), 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ(vtop_mem_map_translate(m, base + i * M2 + K4, NULL),
			 i + 1);
		CHECK_EQ(vtop_mem_map_translate(m, base + i * M2, NULL), DEF);
		CHECK_EQ(shift_at(m, base + i * M2), 12);
	}
	CHECK_EQ(vtop_mem_map_set_translation(m, base + 600 * M2, M2, 7), 0);
	CHECK_EQ(shift_at(m, base + 600 * M2), 21);
	CHECK_EQ(vtop_mem_map_translate(m, base + 600 * M2 + K4, NULL), 7);
	CHECK_EQ(vtop_mem_map_set_translation(m, base + 600 * M2 + 2 * K4,
					      K4, 9), 0);
	CHECK_EQ(shift_at(m, base + 600 * M2), 12);
	CHECK_EQ(vtop_mem_map_translate(m, base + 600 * M2 + K4, NULL), 7);
	CHECK_EQ(vtop_mem_map_translate(m, base + 600 * M2 + 2 * K4, NULL), 9);
	CHECK_EQ(vtop_mem_map_translate(m, base + 599 * M2 + K4, NULL), 600);
	vtop_mem_map_free(&m);
}

static void leaf_arena(void)
{
	leaf_arena_one("1");
	leaf_arena_one("0");
}

/*
 * vtop__map_set_one_excl() (the vtophys map's fast path) against
 * vtop__map_set_ranges() on a twin map: random ranges around 1 GiB, some
 * in one slot with its tables there (applied by the fast path: the same
 * entries, sizes and counts), the others refused with nothing changed.
 */
#define FP_START	(G1 - 2 * M2)
#define FP_PAGES	((5 * M2) / K4)

static uint64_t fp_seed = 0x9E3779B97F4A7C15ULL;

static uint64_t fp_rnd(void)
{
	fp_seed ^= fp_seed << 13;
	fp_seed ^= fp_seed >> 7;
	fp_seed ^= fp_seed << 17;
	return fp_seed;
}

static bool fp_same(struct vtop_mem_map *a, struct vtop_mem_map *b)
{
	unsigned int sa, sb;
	size_t i;

	for (i = 0; i < FP_PAGES; i++) {
		uint64_t va = FP_START + i * K4;

		if (vtop__map_lookup(a, va, &sa) != vtop__map_lookup(b, va, &sb) ||
		    sa != sb)
			return false;
	}
	return true;
}

static void one_slot_fast_path(void)
{
	struct vtop_mem_map *a = new_map(NULL), *b = new_map(NULL);
	static uint64_t before[FP_PAGES];
	int i, fast = 0, fast_2m = 0, refused = 0;
	unsigned int sh;
	size_t k;

	for (i = 0; i < 3000; i++) {
		struct vtop_map_range r = { .allow_2m = fp_rnd() & 1 };
		uint64_t an2m = 0, an4k = 0, bn2m = 7, bn4k = 7;

		switch (fp_rnd() % 4) {
		case 0:		/* a whole slot */
			r.va = FP_START + (fp_rnd() % 5) * M2;
			r.len = M2;
			break;
		case 1:		/* a few pages anywhere, maybe across a slot */
			r.va = FP_START + (fp_rnd() % (FP_PAGES - 8)) * K4;
			r.len = (1 + fp_rnd() % 8) * K4;
			break;
		default:	/* pages inside one slot */
			r.va = FP_START + (fp_rnd() % 5) * M2 +
			       (fp_rnd() % 512) * K4;
			r.len = (1 + fp_rnd() % ((FP_START + 5 * M2 - r.va) / K4 < 64 ?
						 (FP_START + 5 * M2 - r.va) / K4 : 64)) * K4;
			break;
		}
		r.value = fp_rnd() % 3 ? (fp_rnd() & ~(K4 - 1)) : DEF;
		CHECK_EQ(vtop__map_set_ranges(a, &r, 1, &an2m, &an4k), 0);
		for (k = 0; k < FP_PAGES; k++)
			before[k] = vtop__map_lookup(b, FP_START + k * K4, &sh);
		if (vtop__map_set_one_excl(b, &r, &bn2m, &bn4k)) {
			fast++;
			fast_2m += bn2m == 1;
			CHECK_EQ(bn2m, an2m);
			CHECK_EQ(bn4k, an4k);
		} else {
			refused++;
			for (k = 0; k < FP_PAGES; k++)
				if (before[k] != vtop__map_lookup(b, FP_START + k * K4, &sh))
					break;
			CHECK_EQ(k, FP_PAGES);
			CHECK_EQ(vtop__map_set_ranges(b, &r, 1, NULL, NULL), 0);
		}
		if (!fp_same(a, b)) {
			CHECK(!"the maps differ");
			break;
		}
	}
	/* every path was taken */
	CHECK(fast > 100);
	CHECK(fast_2m > 10);
	CHECK(refused > 10);
	vtop_mem_map_free(&a);
	vtop_mem_map_free(&b);
}

/*
 * vtop__map_fill_slot_excl() against vtop__map_fill_segs() on a twin map:
 * random segment lists (in order, contiguous in VA, random DMA addresses
 * and page sizes), mostly inside one slot: the same entries and counts,
 * or a refusal that changed nothing.
 */
static void slot_fill_fast_path(void)
{
	struct vtop_mem_map *a = new_map(NULL), *b = new_map(NULL);
	static uint64_t before[FP_PAGES];
	struct vtop_segment segs[16];
	int i, fast = 0, multi = 0, refused = 0;
	unsigned int sh;
	uint32_t nr, k;
	size_t p;

	for (i = 0; i < 3000; i++) {
		uint64_t an2m = 0, an4k = 0, bn2m = 7, bn4k = 7, va;

		nr = 1 + fp_rnd() % 16;
		if (fp_rnd() % 8 == 0) {
			/* one whole slot, one segment */
			nr = 1;
			va = FP_START + (fp_rnd() % 5) * M2;
		} else {
			va = FP_START + (fp_rnd() % (FP_PAGES - 16 * 4)) * K4;
		}
		for (k = 0; k < nr; k++) {
			segs[k] = (struct vtop_segment){
				.vaddr = va,
				.len = nr == 1 && !(va % M2) ? M2 :
				       (1 + fp_rnd() % 4) * K4,
				.dma_addr = (fp_rnd() % 4096) * K4,
				.page_shift = fp_rnd() & 1 ? 21 : 12,
			};
			va += segs[k].len;
		}
		CHECK_EQ(vtop__map_fill_segs(a, segs, nr, &an2m, &an4k), 0);
		for (p = 0; p < FP_PAGES; p++)
			before[p] = vtop__map_lookup(b, FP_START + p * K4, &sh);
		if (vtop__map_fill_slot_excl(b, segs, nr, &bn2m, &bn4k)) {
			fast++;
			multi += nr > 1;
			CHECK_EQ(bn2m, an2m);
			CHECK_EQ(bn4k, an4k);
		} else {
			refused++;
			for (p = 0; p < FP_PAGES; p++)
				if (before[p] != vtop__map_lookup(b, FP_START + p * K4, &sh))
					break;
			CHECK_EQ(p, FP_PAGES);
			CHECK_EQ(vtop__map_fill_segs(b, segs, nr, NULL, NULL), 0);
		}
		if (!fp_same(a, b)) {
			CHECK(!"the maps differ");
			break;
		}
	}
	CHECK(fast > 100);
	CHECK(multi > 100);
	CHECK(refused > 10);
	vtop_mem_map_free(&a);
	vtop_mem_map_free(&b);
}

HOST_MAIN(
	HOST_TEST(spdk_vectors),
	HOST_TEST(alignment),
	HOST_TEST(set_clear_4k),
	HOST_TEST(entry_sizes),
	HOST_TEST(cross_1g),
	HOST_TEST(size_without_contig),
	HOST_TEST(contig_mixed),
	HOST_TEST(contig_sizes),
	HOST_TEST(contig_sz_ops),
	HOST_TEST(batched_ranges),
	HOST_TEST(free_null),
	HOST_TEST(many_tables),
	HOST_TEST(leaf_arena),
	HOST_TEST(one_slot_fast_path),
	HOST_TEST(slot_fill_fast_path),
)
