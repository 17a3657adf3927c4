// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SPDK's error order for register/unregister (issue 16 item 3): the
 * -EINVAL/-EBUSY/-ERANGE cases of SPDK's test/env/memory/memory_ut.c
 * (test_mem_map_registration, test_mem_4kb_register_notify), replayed on
 * libvtop through the fake backend at the same addresses, with a map
 * that counts the live registrations it was told about. Unregister checks,
 * in SPDK's order: alignment (-EINVAL); the first page registered but not
 * the start of a registration (-ERANGE); any page not registered
 * (-EINVAL); the page after the range inside the same registration
 * (-ERANGE).
 */
#define HOST_FILE "spdk_order_test"
#include "fake_backend.h"

#define K4	0x1000ULL
#define M2	0x200000ULL
#define P(va)	((void *)(uintptr_t)(va))

static int live;	/* registrations the counting map holds */

static int count_cb(void *ctx, struct vtop_mem_map *map,
		    enum vtop_mem_map_notify_action action, void *vaddr,
		    size_t size)
{
	(void)ctx;
	(void)map;
	(void)vaddr;
	(void)size;
	live += action == VTOP_MEM_MAP_NOTIFY_REGISTER ? 1 : -1;
	return 0;
}

static struct vtop_mem_map *count_map(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = count_cb,
					.size = sizeof(ops) };

	return vtop_mem_map_alloc(0xDEADBEEF0BADF00DULL, &ops, NULL);
}

/* memory_ut.c: test_mem_map_registration */
static void spdk_registration(void)
{
	struct vtop_mem_map *map;

	fake_init();
	map = count_map();
	REQUIRE(map);
	CHECK_EQ(vtop_mem_unregister(P(M2), M2), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(M2), 1234), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(1234), M2), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(M2), M2), 0);
	CHECK_EQ(vtop_mem_register(P(0), 3 * M2), -EBUSY);
	CHECK_EQ(vtop_mem_unregister(P(M2), M2), 0);
	CHECK_EQ(vtop_mem_register(P(0), 3 * M2), 0);
	CHECK_EQ(vtop_mem_unregister(P(M2), M2), -ERANGE);	/* middle */
	CHECK_EQ(vtop_mem_unregister(P(0), M2), -ERANGE);	/* first */
	CHECK_EQ(vtop_mem_unregister(P(2 * M2), M2), -ERANGE);	/* third */
	CHECK_EQ(live, 1);
	CHECK_EQ(vtop_mem_unregister(P(0), 3 * M2), 0);
	CHECK_EQ(live, 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	vtop_mem_map_free(&map);
	CHECK(map == NULL);
}

/* memory_ut.c: test_mem_4kb_register_notify, its error cases */
static void spdk_4kb_register_notify(void)
{
	struct vtop_mem_map *map;
	uint64_t off;

	fake_init();
	map = count_map();
	REQUIRE(map);
	/* a registered 4 KiB page inside the range: -EBUSY */
	CHECK_EQ(vtop_mem_register(P(M2 - K4), K4), 0);
	CHECK_EQ(vtop_mem_register(P(M2 - K4), 2 * K4), -EBUSY);
	CHECK_EQ(vtop_mem_register(P(0), M2), -EBUSY);
	CHECK_EQ(vtop_mem_register(P(M2 - K4), M2 + K4), -EBUSY);
	CHECK_EQ(live, 1);
	CHECK_EQ(vtop_mem_unregister(P(M2 - K4), K4), 0);
	CHECK_EQ(live, 0);
	/* ranges running past the registration: -EINVAL */
	CHECK_EQ(vtop_mem_register(P(0), K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(0), 2 * K4), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(0), M2), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(0), M2 + K4), -EINVAL);
	CHECK_EQ(live, 1);
	CHECK_EQ(vtop_mem_unregister(P(0), K4), 0);
	/* the same with the page at the end of the 2 MiB page */
	CHECK_EQ(vtop_mem_register(P(M2 - K4), K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(M2 - K4), 2 * K4), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(0), M2), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(M2 - K4), M2 + K4), -EINVAL);
	CHECK_EQ(live, 1);
	CHECK_EQ(vtop_mem_unregister(P(M2 - K4), K4), 0);
	CHECK_EQ(live, 0);
	/* adjacent registrations go at once */
	CHECK_EQ(vtop_mem_register(P(0), K4), 0);
	CHECK_EQ(vtop_mem_register(P(K4), K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(0), 2 * K4), 0);
	for (off = 0; off < M2; off += K4)
		CHECK_EQ(vtop_mem_register(P(off), K4), 0);
	CHECK_EQ(live, (int)(M2 / K4));
	CHECK_EQ(vtop_mem_unregister(P(0), M2), 0);
	CHECK_EQ(live, 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	vtop_mem_map_free(&map);
}

/*
 * The case SPDK decides differently from "every page first": the first
 * page is registered but starts nothing, and the range also runs over
 * unregistered pages. SPDK returns -ERANGE (its first-page check comes
 * before the walk that finds the unregistered pages).
 */
static void erange_before_einval(void)
{
	uint64_t a = 16 * M2;

	fake_init();
	CHECK_EQ(vtop_mem_register(P(a), 2 * K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(a + K4), 2 * K4), -ERANGE);
	CHECK_EQ(vtop_mem_unregister(P(a + K4), M2), -ERANGE);
	/* an unregistered first page: -EINVAL, even if a split follows */
	CHECK_EQ(vtop_mem_unregister(P(a - K4), 2 * K4), -EINVAL);
	/* all registered, the end splits: -ERANGE */
	CHECK_EQ(vtop_mem_unregister(P(a), K4), -ERANGE);
	CHECK_EQ(atomic_load(&fake.live), 1);
	CHECK(vtop_vtophys(P(a + K4), NULL) != VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_unregister(P(a), 2 * K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
}

HOST_MAIN(
	HOST_TEST(spdk_registration),
	HOST_TEST(spdk_4kb_register_notify),
	HOST_TEST(erange_before_einval),
)
