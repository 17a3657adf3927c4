// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * <vtop/spdk_env_mem.h> (issue 16 item 5): code written against SPDK's
 * memory API -- the functions below use spdk_ names only, as SPDK's
 * test/env/memory/memory_ut.c and an SPDK driver's queue set-up do --
 * compiled and run on libvtop (through the fake backend).
 */
#define HOST_FILE "spdk_compat_test"
#include "fake_backend.h"

#include <vtop/spdk_env_mem.h>

#define VALUE_4KB	0x1000ULL
#define VALUE_2MB	0x200000ULL

/* ---- SPDK-style code: nothing below names libvtop ----------------------- */

struct ut_ctx {
	int regs;
	struct spdk_mem_map *seen;
};

static int test_notify(void *cb_ctx, struct spdk_mem_map *map,
		       enum spdk_mem_map_notify_action action, void *vaddr,
		       size_t size)
{
	struct ut_ctx *c = cb_ctx;

	c->seen = map;
	if (action == SPDK_MEM_MAP_NOTIFY_REGISTER) {
		c->regs++;
		return spdk_mem_map_set_translation(map, (uint64_t)vaddr, size,
						    (uint64_t)vaddr + 0x1000000000ULL);
	}
	c->regs--;
	return spdk_mem_map_clear_translation(map, (uint64_t)vaddr, size);
}

static int test_contig(uint64_t addr1, uint64_t addr2)
{
	return addr2 == addr1 + VALUE_2MB;
}

static const struct spdk_mem_map_ops test_ops = {
	.notify_cb = test_notify,
	.are_contiguous = test_contig,
};

static int spdk_style_registration(struct ut_ctx *c)
{
	struct spdk_mem_map *map;
	uint64_t size;
	int bad = 0;

	if (spdk_mem_register((void *)(4 * VALUE_2MB), 2 * VALUE_2MB))
		return 1;
	/* replayed on alloc */
	map = spdk_mem_map_alloc(0xDEADBEEF0BADF00DULL, &test_ops, c);
	if (!map || c->regs != 1 || c->seen != map)
		return 2;
	size = 2 * VALUE_2MB;
	bad |= spdk_mem_map_translate(map, 4 * VALUE_2MB, &size) !=
	       4 * VALUE_2MB + 0x1000000000ULL;
	bad |= size != VALUE_2MB;	/* same value in both: not a stride */
	bad |= spdk_mem_register((void *)(0), 5 * VALUE_2MB) != -EBUSY;
	bad |= spdk_mem_unregister((void *)(5 * VALUE_2MB), VALUE_2MB) != -ERANGE;
	bad |= spdk_mem_unregister((void *)(4 * VALUE_2MB), VALUE_2MB) != -ERANGE;
	bad |= spdk_mem_unregister((void *)(8 * VALUE_2MB), VALUE_2MB) != -EINVAL;
	bad |= spdk_mem_register((void *)1234, VALUE_2MB) != -EINVAL;
	bad |= spdk_vtophys((void *)(4 * VALUE_2MB + 8), NULL) == SPDK_VTOPHYS_ERROR;
	if (bad)
		return 3;
	if (spdk_mem_unregister((void *)(4 * VALUE_2MB), 2 * VALUE_2MB) ||
	    c->regs != 0)
		return 4;
	if (spdk_mem_map_translate(map, 4 * VALUE_2MB, NULL) !=
	    0xDEADBEEF0BADF00DULL)
		return 5;
	spdk_mem_map_free(&map);
	return map != NULL ? 6 : 0;
}

/* The memory_ut translation vectors, on a plain map. */
static int spdk_style_translation(void)
{
	struct spdk_mem_map *map = spdk_mem_map_alloc(0xDEADBEEF0BADF00DULL,
						      &test_ops, NULL);
	uint64_t addr, size;

	/* a map with a notify_cb and nothing registered: no callback runs */
	if (!map)
		return 1;
	if (spdk_mem_map_set_translation(map, VALUE_2MB, 1234, VALUE_2MB) != -EINVAL ||
	    spdk_mem_map_set_translation(map, 1234, VALUE_2MB, VALUE_2MB) != -EINVAL)
		return 2;
	if (spdk_mem_map_set_translation(map, 0, VALUE_2MB, 0) ||
	    spdk_mem_map_set_translation(map, VALUE_2MB, VALUE_2MB, VALUE_2MB) ||
	    spdk_mem_map_set_translation(map, 2 * VALUE_2MB, VALUE_2MB, 2 * VALUE_2MB))
		return 3;
	size = 3 * VALUE_2MB;
	addr = spdk_mem_map_translate(map, 0, &size);
	if (addr != 0 || size != 3 * VALUE_2MB)
		return 4;
	size = VALUE_4KB;
	if (spdk_mem_map_translate(map, VALUE_2MB + 5, &size) != VALUE_2MB ||
	    size != VALUE_4KB)
		return 5;
	if (spdk_mem_map_clear_translation(map, VALUE_2MB, VALUE_2MB) ||
	    spdk_mem_map_translate(map, VALUE_2MB, NULL) != 0xDEADBEEF0BADF00DULL)
		return 6;
	spdk_mem_map_free(&map);
	return 0;
}

/* A driver's queue set-up: DMA memory with its address. */
static int spdk_style_dma(void)
{
	uint64_t phys = 0, phys2 = 0;
	uint8_t *sq, *prp;
	size_t i;

	sq = spdk_dma_zmalloc(64 * 64, 4096, &phys);
	prp = spdk_zmalloc(4096, 4096, &phys2, SPDK_ENV_SOCKET_ID_ANY,
			   SPDK_MALLOC_DMA);
	if (!sq || !prp || phys != spdk_vtophys(sq, NULL) ||
	    phys2 != spdk_vtophys(prp, NULL) || ((uintptr_t)sq & 4095))
		return 1;
	for (i = 0; i < 4096; i++)
		if (sq[i] || prp[i])
			return 2;
	if (spdk_malloc(64, 0, NULL, SPDK_ENV_SOCKET_ID_ANY, 0) != NULL)
		return 3;
	spdk_dma_free(sq);
	spdk_free(prp);
	spdk_dma_free(NULL);
	sq = spdk_dma_malloc_socket(100, 0, NULL, 0);
	if (!sq)
		return 4;
	spdk_dma_free(sq);
	return 0;
}

/* ---- the harness -------------------------------------------------------- */

static void registration(void)
{
	struct ut_ctx c = { 0 };

	fake_init();
	CHECK_EQ(spdk_style_registration(&c), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
}

static void translation(void)
{
	fake_init();
	CHECK_EQ(spdk_style_translation(), 0);
}

static void dma(void)
{
	fake_init();
	CHECK_EQ(spdk_style_dma(), 0);
}

HOST_MAIN(
	HOST_TEST(registration),
	HOST_TEST(translation),
	HOST_TEST(dma),
)
