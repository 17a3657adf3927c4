// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop's DMA allocator through /dev/vtop (since 0.4): slab objects and
 * large buffers carry the DMA address pagemap reports, are contiguous for
 * their whole size (2 MiB on hugetlb pages), are pinned while allocated and
 * not after; foreign frees are -EINVAL; threads allocate concurrently.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG	4096UL
#define HP	(2UL << 20)

static uint32_t lib_pins(void)
{
	struct vtop_info info = { .size = sizeof(info) };

	if (vtop_env_get_info(&info))
		return UINT32_MAX;
	return info.nr_pins;
}

/* Every page of [p, p + len) against pagemap: contiguous from @dma. */
static int check_contig(const void *p, size_t len, uint64_t dma)
{
	uintptr_t va = (uintptr_t)p, pg;
	uint64_t pfn;
	int rc;

	for (pg = va & ~(PG - 1); pg < va + len; pg += PG) {
		rc = vt_pagemap_pfn(pg, &pfn);
		if (rc)
			return rc;
		if ((pfn << 12) != (dma & ~(PG - 1)) + (pg - (va & ~(PG - 1))))
			return -ERANGE;
	}
	return 0;
}

FIXTURE(dma) {
	struct vt_snap snap;
};

FIXTURE_SETUP(dma)
{
	int rc;

	ASSERT_EQ(0, vt_snap(&self->snap));
	rc = vtop_env_init(NULL);
	if (rc == -ENOENT && access("/sys/module/vtop", F_OK))
		SKIP(return, "vtop module not loaded");
	ASSERT_EQ(0, rc) TH_LOG("vtop_env_init: %s", vtop_last_error());
}

FIXTURE_TEARDOWN(dma)
{
	vtop_env_fini();
	VT_EXPECT_NO_LEAK(self->snap);
}

TEST_F(dma, sizes_match_pagemap)
{
	static const size_t sizes[] = { 1, 64, 100, 512, 4096, 5000,
					64 * 1024, HP - PG, HP };
	uint64_t dma[9], size;
	unsigned char *p[9];
	size_t i;

	for (i = 0; i < 9; i++) {
		p[i] = vtop_dma_zmalloc(sizes[i], 0, &dma[i]);
		ASSERT_NE(NULL, p[i]) TH_LOG("%zu: %s", sizes[i],
					    vtop_last_error());
		EXPECT_EQ(0, p[i][sizes[i] - 1]);
		memset(p[i], 0xa5, sizes[i]);
		EXPECT_EQ(dma[i], vtop_vtophys(p[i], NULL));
		size = sizes[i];
		EXPECT_EQ(dma[i], vtop_vtophys(p[i], &size));
		EXPECT_EQ(sizes[i], size);
		EXPECT_EQ(0, check_contig(p[i], sizes[i], dma[i]))
			TH_LOG("size %zu not contiguous", sizes[i]);
	}
	EXPECT_EQ(0, (uintptr_t)p[8] % HP);	/* a hugetlb page of its own */
	EXPECT_LT(0, lib_pins());
	for (i = 0; i < 9; i++)
		EXPECT_EQ(0, vtop_dma_free(p[i]));
}

TEST_F(dma, slab_one_pin)
{
	uint64_t dma;
	void *p[256];
	uint32_t before;
	int i;

	p[0] = vtop_dma_malloc(64, 64, &dma);
	ASSERT_NE(NULL, p[0]);
	before = lib_pins();
	for (i = 1; i < 256; i++) {
		p[i] = vtop_dma_malloc(64, 64, &dma);
		ASSERT_NE(NULL, p[i]);
		EXPECT_EQ(0, (uintptr_t)p[i] % 64);
		EXPECT_EQ(0, check_contig(p[i], 64, dma));
	}
	EXPECT_EQ(before, lib_pins());
	for (i = 0; i < 256; i++)
		EXPECT_EQ(0, vtop_dma_free(p[i]));
}

TEST_F(dma, foreign_free)
{
	char *heap = malloc(4096), *p;
	int local = 0;

	ASSERT_NE(NULL, heap);
	EXPECT_EQ(-EINVAL, vtop_dma_free(heap));
	EXPECT_EQ(-EINVAL, vtop_dma_free(&local));
	p = vtop_dma_malloc(3 * PG, 0, NULL);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EINVAL, vtop_dma_free(p + PG));
	EXPECT_EQ(0, vtop_dma_free(p));
	EXPECT_EQ(-EINVAL, vtop_dma_free(p));
	EXPECT_EQ(0, vtop_dma_free(NULL));
	free(heap);
}

static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	uint64_t dma;
	void *p;
	size_t n;
	int i;

	for (i = 0; i < 500; i++) {
		n = 1 + rand_r(&seed) % (i % 10 ? 4096 : 3 * 4096);
		p = vtop_dma_malloc(n, 0, &dma);
		if (!p || dma != vtop_vtophys(p, NULL))
			return (void *)1;
		memset(p, i, n);
		if (vtop_dma_free(p))
			return (void *)2;
	}
	return NULL;
}

TEST_F(dma, threads)
{
	pthread_t t[4];
	void *ret;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker,
					    (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
}

TEST_HARNESS_MAIN
