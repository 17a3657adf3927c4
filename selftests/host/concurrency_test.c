// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Lock-free translation against concurrent writers: readers must never see
 * a torn value, and pages that stay live must always translate right.
 */
#define HOST_FILE "concurrency_test"
#include "fake_backend.h"

#define DEF	0xDEADBEEF0BADF00DULL
#define K4	0x1000ULL
#define M2	0x200000ULL
#define G1	0x40000000ULL
#define AREA	(8 * G1)	/* slots 0..7 of the area are shared */

#define READERS	2
#define WRITERS	2
#define ROUNDS	1500

static atomic_bool stop;
static atomic_long reads, bad;

/* Values whose halves agree: a torn read shows up as a mismatch. */
static uint64_t mk(uint32_t x)
{
	return (uint64_t)x << 32 | x;
}

static bool whole(uint64_t v)
{
	return v == DEF || (v >> 32) == (v & 0xffffffffULL);
}

/* live pages: even pages of slots 0..3, all of slot 4 (one 2 MiB entry) */
static uint64_t live_val(uint64_t va)
{
	return mk((uint32_t)(va >> 12) * 2654435761U | 1);
}

static bool is_live(uint64_t va)
{
	uint64_t off = va - AREA;

	return (off < 4 * M2 && !((off >> 12) & 1)) ||
	       (off >= 4 * M2 && off < 5 * M2);
}

static struct vtop_mem_map *map;

static void *map_reader(void *arg)
{
	uint64_t va, v, n = 0, size;

	(void)arg;
	while (!atomic_load(&stop)) {
		for (va = AREA; va < AREA + 8 * M2; va += K4) {
			v = vtop_mem_map_translate(map, va, NULL);
			if (is_live(va)) {
				uint64_t want = va < AREA + 4 * M2 ?
						live_val(va) :
						live_val(AREA + 4 * M2);

				if (v != want) {
					fprintf(stderr, "# 0x%llx: 0x%llx != 0x%llx\n",
						(unsigned long long)va,
						(unsigned long long)v,
						(unsigned long long)want);
					atomic_fetch_add(&bad, 1);
				}
			} else if (!whole(v)) {
				atomic_fetch_add(&bad, 1);
			}
			n++;
		}
		/* the 2 MiB live entry is one run whatever happens next to it */
		size = 4 * M2;
		v = vtop_mem_map_translate(map, AREA + 4 * M2 + 8, &size);
		if (v != live_val(AREA + 4 * M2) || size < M2 - 8)
			atomic_fetch_add(&bad, 1);
	}
	atomic_fetch_add(&reads, (long)n);
	return NULL;
}

static void *map_writer(void *arg)
{
	long id = (long)arg;
	uint64_t va, r;
	uint32_t g;

	for (r = 0; r < ROUNDS; r++) {
		g = (uint32_t)(r * WRITERS + id) + 1;
		/* odd pages next to live ones, in shared leaves */
		for (va = AREA + K4 + id * K4 * 2; va < AREA + 4 * M2;
		     va += 61 * K4 * 2)
			if (vtop_mem_map_set_translation(map, va, K4, mk(g)))
				atomic_fetch_add(&bad, 1);
		/* flip slots 5..7 between 2 MiB entries and leaves */
		va = AREA + (5 + (r + id) % 3) * M2;
		if (vtop_mem_map_set_translation(map, va, M2, mk(g)) ||
		    vtop_mem_map_set_translation(map, va + (r % 512) * K4, K4,
						 mk(g + 1)) ||
		    (r % 3 == 0 && vtop_mem_map_clear_translation(map, va, M2)))
			atomic_fetch_add(&bad, 1);
		/* new level-2 tables elsewhere */
		va = (16 + (r * WRITERS + id) % 200) * G1 + (r % 512) * M2;
		if (vtop_mem_map_set_translation(map, va, K4, mk(g)))
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static int equal_contig(uint64_t a, uint64_t b)
{
	return a == b;
}

static void map_readers_vs_writers(void)
{
	struct vtop_mem_map_ops ops = { .are_contiguous = equal_contig };
	pthread_t rd[READERS], wr[WRITERS];
	uint64_t va;
	long i;

	map = vtop_mem_map_alloc(DEF, &ops, NULL);
	REQUIRE(map);
	for (va = AREA; va < AREA + 4 * M2; va += 2 * K4)
		REQUIRE(vtop_mem_map_set_translation(map, va, K4,
						     live_val(va)) == 0);
	REQUIRE(vtop_mem_map_set_translation(map, AREA + 4 * M2, M2,
					     live_val(AREA + 4 * M2)) == 0);
	for (i = 0; i < READERS; i++)
		REQUIRE(!pthread_create(&rd[i], NULL, map_reader, NULL));
	for (i = 0; i < WRITERS; i++)
		REQUIRE(!pthread_create(&wr[i], NULL, map_writer, (void *)i));
	for (i = 0; i < WRITERS; i++)
		pthread_join(wr[i], NULL);
	atomic_store(&stop, true);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK(atomic_load(&reads) > 0);
	printf("# %ld translations checked\n", atomic_load(&reads));
	vtop_mem_map_free(&map);
}

/* ---- registrations ------------------------------------------------------ */

/*
 * Each writer owns regions in slots shared with the live region; a region
 * is "published" (its seq odd) between a successful register and the
 * start of its unregister. A reader whose check brackets a stable odd seq
 * must see the right address.
 */
#define REGIONS	4
#define BASE	(3 * G1)

struct region {
	uint64_t va, len;
	atomic_uint seq;
};

static struct region regions[WRITERS][REGIONS];

static unsigned int shift_hugepages(uint64_t va)
{
	/* a "hugetlb" area for 2 MiB entries */
	return va >= BASE + 8 * M2 && va < BASE + 12 * M2 ? 21 : 12;
}

static bool check_addr(uint64_t va)
{
	return vtop_vtophys((void *)(uintptr_t)va, NULL) ==
	       fake_phys_linear(va);
}

static void *reg_reader(void *arg)
{
	uint64_t off, n = 0, size;
	unsigned int w, k, s1, s2;
	bool ok;

	(void)arg;
	while (!atomic_load(&stop)) {
		/* the live registrations: BASE + [0, 4M) minus writer pages */
		for (off = 0; off < 2 * M2; off += 3 * K4 + 8)
			if (off % M2 < M2 - 16 * K4 && !check_addr(BASE + off))
				atomic_fetch_add(&bad, 1);
		size = 4 * M2;
		if (vtop_vtophys((void *)(uintptr_t)(BASE + 8 * M2), &size) !=
		    fake_phys_linear(BASE + 8 * M2) || size < 2 * M2)
			atomic_fetch_add(&bad, 1);
		for (w = 0; w < WRITERS; w++) {
			for (k = 0; k < REGIONS; k++) {
				struct region *r = &regions[w][k];

				s1 = atomic_load(&r->seq);
				if (!(s1 & 1))
					continue;
				ok = check_addr(r->va) &&
				     check_addr(r->va + r->len - 1);
				s2 = atomic_load(&r->seq);
				if (s1 == s2 && !ok) {
					fprintf(stderr, "# stale: region %u/%u\n",
						w, k);
					atomic_fetch_add(&bad, 1);
				}
				n++;
			}
		}
	}
	atomic_fetch_add(&reads, (long)n);
	return NULL;
}

static void *reg_writer(void *arg)
{
	long id = (long)arg;
	struct region *g;
	unsigned int r;
	int rc;

	for (r = 0; r < ROUNDS; r++) {
		g = &regions[id][r % REGIONS];

		rc = vtop_mem_register((void *)(uintptr_t)g->va, g->len);
		if (rc) {
			fprintf(stderr, "# register: %d %s\n", rc,
				vtop_last_error());
			atomic_fetch_add(&bad, 1);
			continue;
		}
		atomic_fetch_add(&g->seq, 1);	/* odd: live */
		sched_yield();
		atomic_fetch_add(&g->seq, 1);	/* even: going */
		rc = vtop_mem_unregister((void *)(uintptr_t)g->va, g->len);
		if (rc)
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static int replay_cb(void *ctx, struct vtop_mem_map *m,
		     enum vtop_mem_map_notify_action action, void *vaddr,
		     size_t size)
{
	(void)ctx;
	(void)m;
	/* registered memory translates while its maps are told */
	if (!check_addr((uintptr_t)vaddr) ||
	    !check_addr((uintptr_t)vaddr + size - 1))
		atomic_fetch_add(&bad, 1);
	(void)action;
	return 0;
}

static void *map_churn(void *arg)
{
	struct vtop_mem_map_ops ops = { .notify_cb = replay_cb };
	struct vtop_mem_map *m;

	(void)arg;
	while (!atomic_load(&stop)) {
		m = vtop_mem_map_alloc(0, &ops, NULL);
		if (!m)
			atomic_fetch_add(&bad, 1);
		vtop_mem_map_free(&m);
	}
	return NULL;
}

static void registration_readers_vs_writers(void)
{
	pthread_t rd[READERS], wr[WRITERS], churn;
	long i, k;

	fake.shift = shift_hugepages;
	fake_init();
	/* live: two slots minus 16 pages at the end of each, for writers */
	REQUIRE(vtop_mem_register((void *)(uintptr_t)BASE, M2 - 16 * K4) == 0);
	REQUIRE(vtop_mem_register((void *)(uintptr_t)(BASE + M2),
				  M2 - 16 * K4) == 0);
	/* live: two 2 MiB entries */
	REQUIRE(vtop_mem_register((void *)(uintptr_t)(BASE + 8 * M2),
				  2 * M2) == 0);
	for (i = 0; i < WRITERS; i++) {
		for (k = 0; k < REGIONS; k++) {
			struct region *g = &regions[i][k];

			switch (k) {
			case 0:	/* next to the live pages, same leaf */
				g->va = BASE + i * M2 + M2 - 16 * K4;
				g->len = 8 * K4;
				break;
			case 1:
				g->va = BASE + i * M2 + M2 - 8 * K4;
				g->len = 8 * K4;
				break;
			case 2:	/* 2 MiB entries */
				g->va = BASE + (10 + i) * M2;
				g->len = M2;
				break;
			default: /* its own level-2 table */
				g->va = (20 + i) * G1 - K4;
				g->len = M2 + 2 * K4;
				break;
			}
		}
	}
	for (i = 0; i < READERS; i++)
		REQUIRE(!pthread_create(&rd[i], NULL, reg_reader, NULL));
	REQUIRE(!pthread_create(&churn, NULL, map_churn, NULL));
	for (i = 0; i < WRITERS; i++)
		REQUIRE(!pthread_create(&wr[i], NULL, reg_writer, (void *)i));
	for (i = 0; i < WRITERS; i++)
		pthread_join(wr[i], NULL);
	atomic_store(&stop, true);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	pthread_join(churn, NULL);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK(atomic_load(&reads) > 0);
	CHECK_EQ(atomic_load(&fake.live), 3);
	printf("# %ld region checks\n", atomic_load(&reads));
}

HOST_MAIN(
	HOST_TEST(map_readers_vs_writers),
	HOST_TEST(registration_readers_vs_writers),
)
