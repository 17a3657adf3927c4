// SPDX-License-Identifier: GPL-2.0-only
/*
 * Readers call vtop_vtophys() in a loop while writers register and
 * unregister other regions through /dev/vtop (some sharing 2 MiB slots
 * with the live memory) and a third thread allocates and frees maps that
 * replay every registration. A region that stays live must always
 * translate to the address pagemap gives, with no torn or stale value.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG		4096UL
#define HP		(2UL << 20)
#define WRITERS		2
#define REGIONS		3
#define REGION_PAGES	8
#define ROUNDS		150
#define LIVE_PAGES	(512 - WRITERS * REGIONS * REGION_PAGES)

struct region {
	char *va;
	uint64_t phys[REGION_PAGES];	/* valid while seq is odd */
	atomic_uint seq;
};

static char *slot;			/* one 2 MiB-aligned THP-less slot */
static uint64_t live_phys[LIVE_PAGES];
static struct region regions[WRITERS][REGIONS];
static atomic_bool stop;
static atomic_long bad, checks;

static void *reader(void *arg)
{
	unsigned int w, k, s1, s2, i;
	long n = 0;
	bool ok;

	(void)arg;
	while (!atomic_load(&stop)) {
		for (i = 0; i < LIVE_PAGES; i++) {
			if (vtop_vtophys(slot + i * PG + i, NULL) !=
			    live_phys[i] + i) {
				fprintf(stderr, "# live page %u wrong\n", i);
				atomic_fetch_add(&bad, 1);
			}
			n++;
		}
		for (w = 0; w < WRITERS; w++) {
			for (k = 0; k < REGIONS; k++) {
				struct region *r = &regions[w][k];

				s1 = atomic_load(&r->seq);
				if (!(s1 & 1))
					continue;
				ok = true;
				for (i = 0; i < REGION_PAGES; i++)
					if (vtop_vtophys(r->va + i * PG, NULL) !=
					    r->phys[i])
						ok = false;
				s2 = atomic_load(&r->seq);
				if (s1 == s2 && !ok) {
					fprintf(stderr, "# stale region %u/%u\n",
						w, k);
					atomic_fetch_add(&bad, 1);
				}
				n++;
			}
		}
	}
	atomic_fetch_add(&checks, n);
	return NULL;
}

static void *writer(void *arg)
{
	long id = (long)arg;
	struct region *r;
	uint64_t pfn = 0;
	unsigned int round, i;
	int rc;

	for (round = 0; round < ROUNDS; round++) {
		r = &regions[id][round % REGIONS];
		rc = vtop_mem_register(r->va, REGION_PAGES * PG);
		if (rc) {
			fprintf(stderr, "# register: %s\n", vtop_last_error());
			atomic_fetch_add(&bad, 1);
			continue;
		}
		/* pinned now: the physical addresses stay put */
		for (i = 0; i < REGION_PAGES; i++) {
			if (vt_pagemap_pfn((uintptr_t)r->va + i * PG, &pfn))
				atomic_fetch_add(&bad, 1);
			r->phys[i] = pfn << 12;
		}
		atomic_fetch_add(&r->seq, 1);	/* odd: live */
		sched_yield();
		atomic_fetch_add(&r->seq, 1);	/* even: going away */
		if (vtop_mem_unregister(r->va, REGION_PAGES * PG))
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static int replay_cb(void *ctx, struct vtop_mem_map *map,
		     enum vtop_mem_map_notify_action action, void *vaddr,
		     size_t size)
{
	(void)ctx;
	(void)map;
	(void)action;
	/* memory being announced translates */
	if (vtop_vtophys(vaddr, NULL) == VTOP_VTOPHYS_ERROR ||
	    vtop_vtophys((char *)vaddr + size - 1, NULL) == VTOP_VTOPHYS_ERROR)
		atomic_fetch_add(&bad, 1);
	return 0;
}

static void *churn(void *arg)
{
	struct vtop_mem_map_ops ops = { .notify_cb = replay_cb };
	struct vtop_mem_map *m;

	(void)arg;
	while (!atomic_load(&stop)) {
		m = vtop_mem_map_alloc(0, &ops, NULL);
		if (!m)
			atomic_fetch_add(&bad, 1);
		vtop_mem_map_free(&m);
		usleep(1000);
	}
	return NULL;
}

static uint64_t stats_regs(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	vtop_mem_get_stats(&st);
	return st.nr_registrations;
}

FIXTURE(conc) {
	void *mem;
	struct vt_snap snap;
};

FIXTURE_SETUP(conc)
{
	int rc;

	ASSERT_EQ(0, vt_snap(&self->snap));
	/* one 2 MiB slot of 4 KiB pages, shared by everybody */
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 2 * HP, &self->mem));
	slot = (char *)(((uintptr_t)self->mem + HP - 1) & ~(HP - 1));
	rc = vtop_env_init(NULL);
	if (rc == -ENOENT && access("/sys/module/vtop", F_OK))
		SKIP(return, "vtop module not loaded");
	ASSERT_EQ(0, rc) TH_LOG("%s", vtop_last_error());
}

FIXTURE_TEARDOWN(conc)
{
	vtop_env_fini();
	if (self->mem)
		vt_buf_free(self->mem, 2 * HP);
}

TEST_F_TIMEOUT(conc, readers_vs_writers, 300)
{
	pthread_t rd[2], wr[WRITERS], ch;
	uint64_t pfn;
	long w, k;
	unsigned int i;

	ASSERT_EQ(0, vtop_mem_register(slot, LIVE_PAGES * PG))
		TH_LOG("%s", vtop_last_error());
	for (i = 0; i < LIVE_PAGES; i++) {
		ASSERT_EQ(0, vt_pagemap_pfn((uintptr_t)slot + i * PG, &pfn));
		live_phys[i] = pfn << 12;
	}
	/* the writers' regions fill the rest of the slot */
	for (w = 0; w < WRITERS; w++)
		for (k = 0; k < REGIONS; k++)
			regions[w][k].va = slot + (LIVE_PAGES +
				(w * REGIONS + k) * REGION_PAGES) * PG;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&rd[i], NULL, reader, NULL));
	ASSERT_EQ(0, pthread_create(&ch, NULL, churn, NULL));
	for (w = 0; w < WRITERS; w++)
		ASSERT_EQ(0, pthread_create(&wr[w], NULL, writer, (void *)w));
	for (w = 0; w < WRITERS; w++)
		pthread_join(wr[w], NULL);
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	pthread_join(ch, NULL);

	EXPECT_EQ(0, atomic_load(&bad));
	EXPECT_LT(0, atomic_load(&checks));
	ksft_print_msg("%ld translations checked\n", atomic_load(&checks));
	EXPECT_EQ(1, stats_regs());
	EXPECT_EQ(0, vtop_mem_unregister(slot, LIVE_PAGES * PG));
	VT_EXPECT_NO_LEAK(self->snap);
}

TEST_HARNESS_MAIN
