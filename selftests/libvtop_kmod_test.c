// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop's kmod backend and the module's paging (VTOP_PIN_PARTIAL,
 * VTOP_GET_SEGS_PARTIAL): a registration with more segments than the
 * backend's first chunk is translated right for every page, and the
 * backend keeps no scratch memory that grows with the largest
 * registration ever made (it used to keep 32 bytes per 4 KiB page of it
 * for the life of the environment).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG	4096UL
#define MiB	(1UL << 20)

#define LV_INIT_OR_SKIP() do { \
	int __rc = vtop_env_init(NULL); \
	if (__rc == -ENOENT && access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
	ASSERT_EQ(0, __rc) TH_LOG("vtop_env_init: %s", vtop_last_error()); \
} while (0)

/*
 * 4 KiB pages faulted in backwards, each right after a page of a second
 * buffer (@other, as long): neighbours in the first buffer are almost
 * never physically contiguous, so it has about one segment per page.
 */
static char *map_scattered(size_t len, char **other)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off = len;

	if (p == MAP_FAILED || q == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	madvise(q, len, MADV_NOHUGEPAGE);
	while (off) {
		off -= PG;
		q[off] = 1;
		p[off] = 1;
	}
	*other = q;
	return p;
}

static char *map_reversed(size_t len)
{
	char *q, *p = map_scattered(len, &q);

	if (p)
		munmap(q, len);
	return p;
}

TEST(many_segments)
{
	const size_t len = 2 * MiB;
	struct vt_snap base;
	struct vtop_segment *segs;
	uint32_t nr = len / PG;
	uint64_t pfn, size;
	size_t i;
	long want;
	char *p, *q;

	ASSERT_EQ(0, vt_snap(&base));
	LV_INIT_OR_SKIP();
	p = map_scattered(len, &q);
	ASSERT_NE(NULL, p);
	want = vt_expected_segs((uintptr_t)p, len, NULL, 0);
	ASSERT_LT(0, want);
	if (want <= 64) {
		vtop_env_fini();
		munmap(p, len);
		munmap(q, len);
		SKIP(return, "only %ld segments: nothing to page", want);
	}
	ASSERT_EQ(0, vtop_mem_register(p, len)) TH_LOG("%s", vtop_last_error());
	for (i = 0; i < len / PG; i++) {
		ASSERT_EQ(0, vt_pagemap_pfn((uintptr_t)p + i * PG, &pfn));
		size = PG;
		EXPECT_EQ(pfn * PG + 7, vtop_vtophys(p + i * PG + 7, &size))
			TH_LOG("page %zu", i);
	}
	segs = calloc(nr, sizeof(*segs));
	ASSERT_NE(NULL, segs);
	ASSERT_EQ(0, vtop_mem_get_segs(p, len, segs, &nr));
	VT_EXPECT_SEGS(segs, nr, p, len);
	free(segs);
	ASSERT_EQ(0, vtop_mem_unregister(p, len));
	vtop_env_fini();
	munmap(p, len);
	munmap(q, len);
	VT_EXPECT_NO_LEAK(base);
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * Register and unregister 64 MiB of hugetlb memory (16384 pages of 4 KiB,
 * 32 segments): the heap is back within 64 KiB of where it was. The old
 * backend kept a 512 KiB segment array for it until vtop_env_fini().
 */
TEST(no_scratch_kept)
{
	const size_t len = 64 * MiB;
	struct vt_snap base;
	size_t before, after;
	char *small, *big;
	int ret;

	ASSERT_EQ(0, vt_snap(&base));
	LV_INIT_OR_SKIP();
	ret = vt_buf_alloc(VT_KIND_HUGETLB, len, (void **)&big);
	if (ret == -EOPNOTSUPP)
		SKIP(vtop_env_fini(); return, "no 32 free hugetlb pages");
	ASSERT_EQ(0, ret);
	small = map_reversed(PG);
	ASSERT_NE(NULL, small);
	/* the environment's own allocations happen here */
	ASSERT_EQ(0, vtop_mem_register(small, PG));
	ASSERT_EQ(0, vtop_mem_unregister(small, PG));
	before = heap_bytes();
	ASSERT_EQ(0, vtop_mem_register(big, len)) TH_LOG("%s",
							 vtop_last_error());
	ASSERT_EQ(0, vtop_mem_unregister(big, len));
	after = heap_bytes();
	EXPECT_GT(before + 64 * 1024, after)
		TH_LOG("heap %zu -> %zu bytes after a 64 MiB registration",
		       before, after);
	vtop_env_fini();
	vt_buf_free(big, len);
	munmap(small, PG);
	VT_EXPECT_NO_LEAK(base);
}

TEST_HARNESS_MAIN
