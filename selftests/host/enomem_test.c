// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Allocation failures: every allocation a call makes is failed in turn; the
 * call must return -ENOMEM and leave the map (and registrations) exactly as
 * they were, with nothing leaked (ASan's leak check runs at exit).
 */
#define HOST_FILE "enomem_test"
#include "fake_backend.h"

#define DEF	0xDEADBEEF0BADF00DULL
#define K4	0x1000ULL
#define M2	0x200000ULL
#define G1	0x40000000ULL

static int fail_countdown = -1;	/* fail when it reaches 0; -1: never */
static int nr_allocs;

static void *failing_calloc(size_t n, size_t s)
{
	nr_allocs++;
	if (fail_countdown >= 0 && fail_countdown-- == 0)
		return NULL;
	return calloc(n, s);
}

/* A window of pages to compare before and after a failed call. */
#define WIN_START	(G1 - 2 * M2)
#define WIN_PAGES	((4 * M2 + 2 * K4) / K4)

struct snap {
	uint64_t v[WIN_PAGES];
	unsigned int shift[WIN_PAGES];
};

static void take(struct vtop_mem_map *m, struct snap *s)
{
	size_t i;

	for (i = 0; i < WIN_PAGES; i++)
		s->v[i] = vtop__map_lookup(m, WIN_START + i * K4, &s->shift[i]);
}

static bool same(const struct snap *a, const struct snap *b)
{
	return !memcmp(a, b, sizeof(*a));
}

typedef int (*op_fn)(struct vtop_mem_map *m);

/*
 * Run @op with the 0th, 1st, ... allocation failing until it succeeds;
 * every failure must be -ENOMEM with the map unchanged. Returns how many
 * failures were injected.
 */
static int fail_each(struct vtop_mem_map *m, op_fn op)
{
	static struct snap before, after;
	int k, rc;

	for (k = 0;; k++) {
		take(m, &before);
		fail_countdown = k;
		rc = op(m);
		fail_countdown = -1;
		if (!rc)
			return k;
		CHECK_EQ(rc, -ENOMEM);
		take(m, &after);
		CHECK(same(&before, &after));
		if (k > 100) {
			CHECK(!"op never succeeded");
			return k;
		}
	}
}

/*
 * [1G - 2M - 4K, 1G + 2M + 4K): two level-2 tables, a leaf on each side
 * and a 2 MiB entry on each side of 1 GiB.
 */
static int op_cross(struct vtop_mem_map *m)
{
	return vtop_mem_map_set_translation(m, G1 - M2 - K4, 2 * M2 + 2 * K4,
					    42);
}

/* Splits the 2 MiB entry op_cross made: one leaf. */
static int op_split(struct vtop_mem_map *m)
{
	return vtop_mem_map_set_translation(m, G1 - M2 + K4, K4, 43);
}

/* Splits the slot below again; its leaf was kept. */
static int op_reuse(struct vtop_mem_map *m)
{
	return vtop_mem_map_set_translation(m, G1 - M2 - K4, K4, 44);
}

static void set_enomem(void)
{
	struct vtop_mem_map *m;
	int n;

	vtop__calloc_hook = failing_calloc;
	m = vtop_mem_map_alloc(DEF, NULL, NULL);
	REQUIRE(m);
	/* 2 l2 tables, 2 leaves, and the two pool arrays: 6 allocations */
	n = fail_each(m, op_cross);
	CHECK_EQ(n, 6);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - M2 - 2 * K4, NULL), DEF);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - M2 - K4, NULL), 42);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - 1, NULL), 42);
	CHECK_EQ(vtop_mem_map_translate(m, G1 + M2 + K4 - 1, NULL), 42);
	CHECK_EQ(vtop_mem_map_translate(m, G1 + M2 + K4, NULL), DEF);

	/* a slot whose leaf exists (inactive) needs no allocation */
	CHECK_EQ(vtop_mem_map_set_translation(m, G1 - 2 * M2, M2, 7), 0);
	CHECK_EQ(fail_each(m, op_reuse), 0);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - 2 * M2, NULL), 7);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - M2 - K4, NULL), 44);

	n = fail_each(m, op_split);
	CHECK_EQ(n, 2);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - M2, NULL), 42);
	CHECK_EQ(vtop_mem_map_translate(m, G1 - M2 + K4, NULL), 43);

	/* clearing what was set allocates nothing */
	nr_allocs = 0;
	CHECK_EQ(vtop_mem_map_clear_translation(m, G1 - 2 * M2, 4 * M2), 0);
	CHECK_EQ(nr_allocs, 0);
	vtop_mem_map_free(&m);
}

static void alloc_enomem(void)
{
	struct vtop_mem_map *m;

	vtop__calloc_hook = failing_calloc;
	fail_countdown = 0;
	errno = 0;
	m = vtop_mem_map_alloc(DEF, NULL, NULL);
	CHECK(m == NULL);
	CHECK_EQ(errno, ENOMEM);
	fail_countdown = -1;
}

/* Registration: every allocation failing in turn leaves nothing behind. */
static int notified;

static int count_cb(void *ctx, struct vtop_mem_map *map,
		    enum vtop_mem_map_notify_action action, void *vaddr,
		    size_t size)
{
	(void)ctx;
	(void)map;
	(void)vaddr;
	(void)size;
	notified += action == VTOP_MEM_MAP_NOTIFY_REGISTER ? 1 : -1;
	return 0;
}

static void register_enomem(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = count_cb };
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_mem_map *m;
	uint64_t va;
	int k, rc, i;

	fake_init();
	vtop__calloc_hook = failing_calloc;
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	/* some registrations already in the tree */
	for (i = 0; i < 16; i++)
		REQUIRE(vtop_mem_register((void *)(uintptr_t)(G1 + i * M2),
					  K4) == 0);
	va = 3 * G1 + M2 - K4;
	for (k = 0;; k++) {
		fail_countdown = k;
		nr_allocs = 0;
		rc = vtop_mem_register((void *)(uintptr_t)va, M2 + 2 * K4);
		fail_countdown = -1;

		if (!rc)
			break;
		CHECK_EQ(rc, -ENOMEM);
		CHECK_EQ(atomic_load(&fake.live), 16);
		/* no node, no pin */
		if (!k)
			CHECK_EQ(atomic_load(&fake.pins_total), 16);
		CHECK_EQ(notified, 16);
		CHECK_EQ(vtop_vtophys((void *)(uintptr_t)va, NULL),
			 VTOP_VTOPHYS_ERROR);
		REQUIRE(k < 100);
	}
	/*
	 * Seven allocations, each failed once: the registration's tree node
	 * (before anything is pinned), then the vtophys map's l2 pool and
	 * table, leaf pool and three leaves (4 KiB pages: the whole middle
	 * slot needs a leaf, too). The one segment needs no range array.
	 */
	CHECK_EQ(k, 7);
	CHECK_EQ(nr_allocs, 7);
	CHECK_EQ(notified, 17);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.nr_registrations, 17);
	CHECK_EQ(vtop_vtophys((void *)(uintptr_t)(va + M2), NULL),
		 fake.phys(va + M2));
	vtop_mem_map_free(&m);
	CHECK_EQ(notified, 0);
}

HOST_MAIN(
	HOST_TEST(set_enomem),
	HOST_TEST(alloc_enomem),
	HOST_TEST(register_enomem),
)
