// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The inline lookups of vtop.h (vtop_mem_map_lookup, vtop_vtophys_lookup)
 * read the map's layout directly: they must answer exactly what the
 * exported functions answer, for every kind of entry, and against a model.
 */
#define HOST_FILE "lookup_test"
#include "fake_backend.h"

#define DEF	0xDEADBEEF0BADF00DULL
#define K4	0x1000ULL
#define M2	0x200000ULL
#define G1	0x40000000ULL
#define LIMIT	0x1000000000000ULL
#define BASE	(7 * G1)
#define P(va)	((void *)(uintptr_t)(va))

/* Model of a map over [BASE, BASE + 2 GiB) in 4 KiB pages. */
#define NPAGES	(2 * G1 / K4)
static uint64_t *model;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_map_at(struct vtop_mem_map *m, uint64_t va)
{
	uint64_t want = DEF;

	if (va >= BASE && va < BASE + 2 * G1)
		want = model[(va - BASE) / K4];
	CHECK_EQ(vtop_mem_map_lookup(m, va), want);
	CHECK_EQ(vtop_mem_map_translate(m, va, NULL), want);
}

/* Random 4 KiB, 2 MiB and clear operations; every page checked after. */
static void map_matches_model(void)
{
	struct vtop_mem_map *m = vtop_mem_map_alloc(DEF, NULL, NULL);
	uint64_t s = 0x1234567, i, k, va, len, val;

	REQUIRE(m);
	model = malloc(NPAGES * sizeof(*model));
	REQUIRE(model);
	for (i = 0; i < NPAGES; i++)
		model[i] = DEF;
	for (k = 0; k < 3000; k++) {
		uint64_t op = rnd(&s) % 4;

		if (op == 0) {		/* whole 2 MiB slots */
			va = BASE + rnd(&s) % (2 * G1 / M2 - 4) * M2;
			len = (1 + rnd(&s) % 3) * M2;
		} else {		/* pages, maybe crossing a slot */
			va = BASE + rnd(&s) % (NPAGES - 1024) * K4;
			len = (1 + rnd(&s) % 700) * K4;
		}
		val = op == 3 ? DEF : rnd(&s) & ~(K4 - 1);
		if (op == 3)
			CHECK_EQ(vtop_mem_map_clear_translation(m, va, len), 0);
		else
			CHECK_EQ(vtop_mem_map_set_translation(m, va, len, val),
				 0);
		for (i = 0; i < len / K4; i++)
			model[(va - BASE) / K4 + i] = val;
	}
	for (i = 0; i < NPAGES; i += 1 + rnd(&s) % 7)
		check_map_at(m, BASE + i * K4 + rnd(&s) % K4);
	/* Outside the model, at the edges and beyond 2^48. */
	check_map_at(m, 0);
	check_map_at(m, BASE - 1);
	check_map_at(m, BASE + 2 * G1);
	CHECK_EQ(vtop_mem_map_lookup(m, LIMIT - 1), DEF);
	CHECK_EQ(vtop_mem_map_lookup(m, LIMIT), DEF);
	CHECK_EQ(vtop_mem_map_lookup(m, UINT64_MAX), DEF);
	vtop_mem_map_free(&m);
	free(model);
}

static unsigned int shift_2m_from_4m(uint64_t va)
{
	return (va >= BASE + 2 * M2 && va < BASE + 8 * M2) ? 21 : 12;
}

static uint64_t phys_scattered(uint64_t va)
{
	uint64_t page = va / K4;

	/* 2 MiB pages stay linear inside; 4 KiB pages scatter. */
	if (shift_2m_from_4m(va) == 21)
		return 0x200000000ULL + (va - BASE);
	return 0x400000000ULL + ((page * 7919) % 65536) * K4;
}

static void vtophys_matches(void)
{
	const struct vtop_mem_map *vm;
	uint64_t va;

	fake.phys = phys_scattered;
	fake.shift = shift_2m_from_4m;
	fake_init();
	vm = vtop_vtophys_map();
	REQUIRE(vm);
	CHECK(vtop_vtophys_map() == vm);
	/* 4 KiB pages, then hugepages, then 4 KiB pages again. */
	CHECK_EQ(vtop_mem_register(P(BASE + K4), 2 * M2 - K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 2 * M2), 6 * M2), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 8 * M2), 3 * K4), 0);
	for (va = BASE - K4; va < BASE + 9 * M2; va += 997) {
		uint64_t want = vtop_vtophys(P(va), NULL);

		CHECK_EQ(vtop_vtophys_lookup(vm, P(va)), want);
		if (va >= BASE + K4 && va < BASE + 8 * M2 + 3 * K4)
			CHECK_EQ(want, phys_scattered(va & ~(K4 - 1)) +
				 (va & (K4 - 1)));
		else
			CHECK_EQ(want, VTOP_VTOPHYS_ERROR);
	}
	CHECK_EQ(vtop_mem_unregister(P(BASE + 2 * M2), 6 * M2), 0);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 3 * M2 + 5)),
		 VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + K4 + 5)),
		 phys_scattered(BASE + K4) + 5);
	vtop_env_fini();
}

/*
 * The edges the inline lookup tests on its own path: the last level-1
 * entry below 2^48 (set, so that a wrong bound on the level-1 index would
 * answer for it or past it), everything at and above 2^48, never-set
 * areas, and 4 KiB leaves next to 2 MiB entries in one level-2 table.
 */
static void check_both(struct vtop_mem_map *m, uint64_t va, uint64_t want)
{
	CHECK_EQ(vtop_mem_map_lookup(m, va), want);
	CHECK_EQ(vtop_mem_map_translate(m, va, NULL), want);
}

static void lookup_edges(void)
{
	struct vtop_mem_map *m = vtop_mem_map_alloc(DEF, NULL, NULL);
	const uint64_t v2 = 0x5000000000ULL, v4 = 0x6000001000ULL;
	const uint64_t x = BASE + 64 * M2;

	REQUIRE(m);
	/* The top 2 MiB slots below 2^48: a 2 MiB entry, then a leaf. */
	CHECK_EQ(vtop_mem_map_set_translation(m, LIMIT - 2 * M2, M2, v2), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, LIMIT - K4, K4, v4), 0);
	check_both(m, LIMIT - 2 * M2, v2);
	check_both(m, LIMIT - M2 - 1, v2);
	check_both(m, LIMIT - M2, DEF);
	check_both(m, LIMIT - K4 - 1, DEF);
	check_both(m, LIMIT - K4, v4);
	check_both(m, LIMIT - 1, v4);
	check_both(m, LIMIT - 2 * M2 - 1, DEF);
	check_both(m, LIMIT - G1 - 1, DEF);	/* the l1 entry before */
	/* At and above 2^48: the default, never an alias of a low entry. */
	CHECK_EQ(vtop_mem_map_set_translation(m, 0, M2, v2 + M2), 0);
	check_both(m, 0, v2 + M2);
	CHECK_EQ(vtop_mem_map_lookup(m, LIMIT), DEF);
	CHECK_EQ(vtop_mem_map_lookup(m, LIMIT + LIMIT - 1), DEF);
	CHECK_EQ(vtop_mem_map_lookup(m, 1ULL << 63), DEF);
	CHECK_EQ(vtop_mem_map_lookup(m, UINT64_MAX - M2 + 1), DEF);
	CHECK_EQ(vtop_mem_map_lookup(m, UINT64_MAX), DEF);
	/* 2 MiB, a leaf with one page, 2 MiB: each boundary. */
	CHECK_EQ(vtop_mem_map_set_translation(m, x, M2, v2), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, x + M2 + K4, K4, v4), 0);
	CHECK_EQ(vtop_mem_map_set_translation(m, x + 2 * M2, M2,
					      UINT64_MAX), 0);
	check_both(m, x - 1, DEF);
	check_both(m, x, v2);
	check_both(m, x + M2 - 1, v2);
	check_both(m, x + M2, DEF);
	check_both(m, x + M2 + K4, v4);
	check_both(m, x + M2 + 2 * K4 - 1, v4);
	check_both(m, x + M2 + 2 * K4, DEF);
	check_both(m, x + 2 * M2 - 1, DEF);
	check_both(m, x + 2 * M2, UINT64_MAX);
	check_both(m, x + 3 * M2 - 1, UINT64_MAX);
	check_both(m, x + 3 * M2, DEF);
	/* The leaf's slot back to one 2 MiB entry. */
	CHECK_EQ(vtop_mem_map_set_translation(m, x + M2, M2, v2 + M2), 0);
	check_both(m, x + M2, v2 + M2);
	check_both(m, x + M2 + K4, v2 + M2);
	vtop_mem_map_free(&m);
}

/* vtop_vtophys_lookup() at the same edges: VTOP_VTOPHYS_ERROR. */
static void vtophys_lookup_edges(void)
{
	const struct vtop_mem_map *vm;
	static const uint64_t vas[] = {
		0, K4, BASE - 1, LIMIT - 1, LIMIT, 1ULL << 63, UINT64_MAX,
	};
	unsigned int i;

	fake.phys = phys_scattered;
	fake.shift = shift_2m_from_4m;
	fake_init();
	vm = vtop_vtophys_map();
	REQUIRE(vm);
	CHECK_EQ(vtop_mem_register(P(BASE), 4 * M2), 0);
	for (i = 0; i < sizeof(vas) / sizeof(vas[0]); i++) {
		if (sizeof(void *) < 8 && vas[i] > UINTPTR_MAX)
			continue;
		CHECK_EQ(vtop_vtophys_lookup(vm, P(vas[i])),
			 VTOP_VTOPHYS_ERROR);
		CHECK_EQ(vtop_vtophys(P(vas[i]), NULL), VTOP_VTOPHYS_ERROR);
	}
	/* Registered: 4 KiB pages, then a 2 MiB page, next to each other. */
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 2 * M2 - 1)),
		 phys_scattered(BASE + 2 * M2 - K4) + K4 - 1);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 2 * M2)),
		 phys_scattered(BASE + 2 * M2));
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 4 * M2 - 1)),
		 phys_scattered(BASE + 4 * M2 - K4) + K4 - 1);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 4 * M2)),
		 VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 4 * M2), 0);
	vtop_env_fini();
}

/* From inside a callback the map is handed out without taking the lock. */
static const struct vtop_mem_map *cb_seen;

static int cb(void *ctx, struct vtop_mem_map *map,
	      enum vtop_mem_map_notify_action action, void *vaddr, size_t size)
{
	(void)ctx;
	(void)map;
	(void)size;
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER) {
		cb_seen = vtop_vtophys_map();
		if (!cb_seen || vtop_vtophys_lookup(cb_seen, vaddr) !=
				vtop_vtophys(vaddr, NULL))
			return -EIO;
	}
	return 0;
}

static void vtophys_map_in_callback(void)
{
	static const struct vtop_mem_map_ops ops = { .notify_cb = cb };
	struct vtop_mem_map *m;

	fake_init();
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_mem_register(P(BASE), M2), 0);
	CHECK(cb_seen && cb_seen == vtop_vtophys_map());
	CHECK_EQ(vtop_mem_unregister(P(BASE), M2), 0);
	vtop_mem_map_free(&m);
	vtop_env_fini();
}

HOST_MAIN(
	HOST_TEST(map_matches_model),
	HOST_TEST(lookup_edges),
	HOST_TEST(vtophys_matches),
	HOST_TEST(vtophys_lookup_edges),
	HOST_TEST(vtophys_map_in_callback),
)
