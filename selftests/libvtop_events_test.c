// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop's invalidation events against the module (issue 10): memory
 * unmapped while registered and mapped again at the same address is
 * translated to its new frames (checked against /proc/self/pagemap) and
 * registers again; the old pages are unpinned (VmPin, FOLL_PIN counters,
 * RLIMIT_MEMLOCK without CAP_IPC_LOCK); consumer maps get INVALIDATE once;
 * the event descriptor and the event thread work; operations that keep the
 * pages mapped invalidate nothing.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif

#define PG	4096UL
#define HP	(2UL << 20)

/* Initialize with @flags; SKIP without the module or without events. */
#define EV_INIT_OR_SKIP(fl) do { \
	struct vtop_env_opts __o = VTOP_ENV_OPTS_INIT; \
	struct vtop_info __i = { .size = sizeof(__i) }; \
	int __rc = vtop_env_init(NULL); \
	if (__rc == -ENOENT && access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
	ASSERT_EQ(0, __rc) TH_LOG("vtop_env_init: %s", vtop_last_error()); \
	ASSERT_EQ(0, vtop_env_get_info(&__i)); \
	vtop_env_fini(); \
	if (!(__i.features & VTOP_FEATURE_EVENTS)) \
		SKIP(return, "the module has no invalidation events"); \
	__o.flags = (fl); \
	ASSERT_EQ(0, vtop_env_init(&__o)) TH_LOG("%s", vtop_last_error()); \
} while (0)

/* ---- a consumer that logs ----------------------------------------------- */

struct note {
	int action;
	uintptr_t va;
	size_t len;
	uint64_t vtophys;	/* vtop_vtophys(va) during the callback */
	struct timespec at;
};

static struct note notes[64];
static int nnotes;
static pthread_mutex_t nl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nc = PTHREAD_COND_INITIALIZER;

static int note_cb(void *ctx, struct vtop_mem_map *map,
		   enum vtop_mem_map_notify_action action, void *vaddr,
		   size_t len)
{
	struct note n = { .action = action, .va = (uintptr_t)vaddr,
			  .len = len, .vtophys = vtop_vtophys(vaddr, NULL) };

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &n.at);
	pthread_mutex_lock(&nl);
	if (nnotes < 64)
		notes[nnotes++] = n;
	pthread_cond_broadcast(&nc);
	pthread_mutex_unlock(&nl);
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER)
		return vtop_mem_map_set_translation(map, (uintptr_t)vaddr, len,
						    1);
	return vtop_mem_map_clear_translation(map, (uintptr_t)vaddr, len);
}

static struct vtop_mem_map *note_map(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = note_cb,
					.size = sizeof(ops) };

	nnotes = 0;
	return vtop_mem_map_alloc(0, &ops, NULL);
}

/* every page's vtop_vtophys() is its pagemap address: 0, or -errno */
static int vtophys_is_pagemap(const char *buf, size_t len)
{
	uint64_t pfn;
	size_t off;
	int rc;

	for (off = 0; off < len; off += PG) {
		rc = vt_pagemap_pfn((uintptr_t)buf + off, &pfn);
		if (rc)
			return rc;
		if (vtop_vtophys(buf + off + 9, NULL) != (pfn << 12) + 9)
			return -EINVAL;
	}
	return 0;
}

static struct vtop_info info(void)
{
	struct vtop_info i = { .size = sizeof(i) };

	vtop_env_get_info(&i);
	return i;
}

static struct vtop_mem_stats stats(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	vtop_mem_get_stats(&st);
	return st;
}

/* munmap @buf and map new memory of @kind at the same address, touched */
static int remap_fixed(enum vt_kind kind, char *buf, size_t len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	void *p;

	if (munmap(buf, len))
		return -errno;
	if (kind == VT_KIND_HUGETLB)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	p = mmap(buf, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (kind == VT_KIND_THP)
		madvise(p, len, MADV_HUGEPAGE);
	else if (kind == VT_KIND_4K)
		madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0x3c, len);
	return 0;
}

static int set_memlock(uint64_t bytes)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	rl.rlim_cur = bytes;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < bytes)
		rl.rlim_max = bytes;
	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

/* ---- the "Why" scenario, for the three kinds of memory ------------------ */

FIXTURE(remap) {
	char *buf;
	struct vt_snap snap;
};

FIXTURE_VARIANT(remap) {
	enum vt_kind kind;
};

FIXTURE_VARIANT_ADD(remap, small) { .kind = VT_KIND_4K };
FIXTURE_VARIANT_ADD(remap, thp) { .kind = VT_KIND_THP };
FIXTURE_VARIANT_ADD(remap, hugetlb) { .kind = VT_KIND_HUGETLB };

FIXTURE_SETUP(remap)
{
	void *p = NULL;
	int rc;

	ASSERT_EQ(0, vt_snap(&self->snap));
	rc = vt_buf_alloc(variant->kind, HP, &p);
	if (rc == -EOPNOTSUPP)
		SKIP(return, "no %s memory", vt_kind_name(variant->kind));
	ASSERT_EQ(0, rc);
	self->buf = p;
}

FIXTURE_TEARDOWN(remap)
{
	vtop_env_fini();
	if (self->buf)
		munmap(self->buf, HP);
}

/*
 * Register 2 MiB, munmap it, mmap new memory at the same address: the
 * translation is never the old frame's, registering the new memory
 * succeeds, and the old pages are unpinned and uncharged -- with
 * RLIMIT_MEMLOCK leaving room for one 2 MiB registration only.
 */
TEST_F(remap, munmap_mmap_fixed)
{
	const struct vtop_mem_map *vm;
	struct vtop_mem_map *m;
	uint64_t old_pa, pfn;
	struct vt_snap now;

	EV_INIT_OR_SKIP(0);
	/* without CAP_IPC_LOCK, room for this registration only */
	ASSERT_EQ(0, vt_cap_drop(CAP_IPC_LOCK));
	ASSERT_EQ(0, set_memlock(self->snap.vmpin_kb * 1024 + HP));
	m = note_map();
	ASSERT_NE(NULL, m);
	vm = vtop_vtophys_map();
	ASSERT_NE(NULL, vm);
	ASSERT_EQ(0, vtop_mem_register(self->buf, HP))
		TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vtophys_is_pagemap(self->buf, HP));
	old_pa = vtop_vtophys(self->buf, NULL);
	ASSERT_EQ(1, nnotes);	/* REGISTER */
	nnotes = 0;

	ASSERT_EQ(0, remap_fixed(variant->kind, self->buf, HP));
	ASSERT_EQ(0, vt_pagemap_pfn((uintptr_t)self->buf, &pfn));
	/* invalidated, not processed yet: the exported call refuses it */
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf, NULL));
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf + HP - 1, NULL));
	/* ... and so does the inline lookup, once that call marked it */
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys_lookup(vm, self->buf));
	EXPECT_EQ(1, info().nr_invalidated);
	EXPECT_EQ(0, nnotes);

	/* the new memory registers (the old registration goes first) */
	ASSERT_EQ(0, vtop_mem_register(self->buf, HP))
		TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(2, nnotes);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_INVALIDATE, notes[0].action);
	EXPECT_EQ((uintptr_t)self->buf, notes[0].va);
	EXPECT_EQ(HP, notes[0].len);
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, notes[0].vtophys);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_REGISTER, notes[1].action);
	/* the new frames' addresses, page by page */
	EXPECT_EQ(0, vtophys_is_pagemap(self->buf, HP));
	EXPECT_EQ(pfn << 12, vtop_vtophys(self->buf, NULL));
	EXPECT_EQ(pfn << 12, vtop_vtophys_lookup(vm, self->buf));
	EXPECT_NE(old_pa, vtop_vtophys(self->buf, NULL));
	/* one pin, nothing invalidated, the charge of 2 MiB only */
	EXPECT_EQ(1, info().nr_pins);
	EXPECT_EQ(0, info().nr_invalidated);
	EXPECT_EQ(HP, info().pinned_bytes);
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(self->snap.vmpin_kb + HP / 1024, now.vmpin_kb);
	EXPECT_EQ(1, stats().invalidations);

	EXPECT_EQ(0, vtop_mem_unregister(self->buf, HP));
	vtop_mem_map_free(&m);
	VT_EXPECT_NO_LEAK(self->snap);
}

/* Unmapped and not registered again: processing alone unpins. */
TEST_F(remap, munmap_then_process)
{
	struct vtop_mem_map *m;
	struct pollfd p = { .events = POLLIN };

	EV_INIT_OR_SKIP(0);
	m = note_map();
	ASSERT_NE(NULL, m);
	p.fd = vtop_env_get_event_fd();
	ASSERT_LE(0, p.fd) TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vtop_mem_register(self->buf, HP));
	nnotes = 0;
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, munmap(self->buf, HP));
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(1, vtop_mem_process_events());
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(1, nnotes);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_INVALIDATE, notes[0].action);
	EXPECT_EQ(0, vtop_mem_map_translate(m, (uintptr_t)self->buf, NULL));
	EXPECT_EQ(0, info().nr_pins);
	EXPECT_EQ(0, vtop_mem_process_events());
	/* unregistering it afterwards: not registered any more */
	EXPECT_EQ(-EINVAL, vtop_mem_unregister(self->buf, HP));
	EXPECT_EQ(1, nnotes);
	VT_EXPECT_NO_LEAK(self->snap);
	self->buf = NULL;
	vtop_mem_map_free(&m);
}

/* ---- what invalidates and what does not ---------------------------------- */

/* madvise(MADV_DONTNEED) of one page: the whole registration goes. */
TEST(dontneed_one_page)
{
	struct vtop_mem_map *m;
	struct vt_snap snap;
	char *buf;

	ASSERT_EQ(0, vt_snap(&snap));
	EV_INIT_OR_SKIP(0);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 16 * PG, (void **)&buf));
	m = note_map();
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, vtop_mem_register(buf, 16 * PG));
	nnotes = 0;
	ASSERT_EQ(0, madvise(buf + 5 * PG, PG, MADV_DONTNEED));
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(buf, NULL));
	EXPECT_EQ(1, vtop_mem_process_events());
	ASSERT_EQ(1, nnotes);
	EXPECT_EQ((uintptr_t)buf, notes[0].va);
	EXPECT_EQ(16 * PG, notes[0].len);
	/* what is still mapped registers again; the cleared page too */
	memset(buf, 1, 16 * PG);
	EXPECT_EQ(0, vtop_mem_register(buf, 16 * PG));
	EXPECT_EQ(0, vtophys_is_pagemap(buf, 16 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(buf, 16 * PG));
	vtop_mem_map_free(&m);
	vtop_env_fini();
	vt_buf_free(buf, 16 * PG);
	VT_EXPECT_NO_LEAK(snap);
}

/* mprotect keeps the pages mapped: nothing is invalidated. */
TEST(mprotect_keeps)
{
	struct vtop_mem_map *m;
	char *buf;

	EV_INIT_OR_SKIP(0);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 8 * PG, (void **)&buf));
	m = note_map();
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, vtop_mem_register(buf, 8 * PG));
	ASSERT_EQ(0, mprotect(buf, 8 * PG, PROT_READ));
	ASSERT_EQ(0, mprotect(buf, 8 * PG, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, vtophys_is_pagemap(buf, 8 * PG));
	EXPECT_EQ(0, vtop_mem_process_events());
	EXPECT_EQ(1, nnotes);	/* REGISTER only */
	EXPECT_EQ(0, vtop_mem_unregister(buf, 8 * PG));
	vtop_mem_map_free(&m);
	vtop_env_fini();
	vt_buf_free(buf, 8 * PG);
}

/* ---- the event thread ------------------------------------------------------ */

static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L +
	       (b->tv_nsec - a->tv_nsec);
}

TEST(event_thread)
{
	struct timespec t0, deadline;
	struct vtop_mem_map *m;
	struct vt_snap snap;
	char *buf;
	int rc = 0;

	ASSERT_EQ(0, vt_snap(&snap));
	EV_INIT_OR_SKIP(VTOP_ENV_EVENT_THREAD);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&buf));
	m = note_map();
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, vtop_mem_register(buf, 4 * PG));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, munmap(buf, 4 * PG));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&nl);
	while (nnotes < 2 && rc == 0)
		rc = pthread_cond_timedwait(&nc, &nl, &deadline);
	pthread_mutex_unlock(&nl);
	ASSERT_EQ(2, nnotes);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_INVALIDATE, notes[1].action);
	/* not a benchmark (TCG guest): a sanity bound, and the number */
	EXPECT_GT(2000000000L, ns_between(&t0, &notes[1].at));
	ksft_print_msg("munmap to INVALIDATE callback on the event thread: %ld us\n",
		       ns_between(&t0, &notes[1].at) / 1000);
	EXPECT_EQ(0, info().nr_pins);
	vtop_env_fini();
	vtop_mem_map_free(&m);
	VT_EXPECT_NO_LEAK(snap);
}

TEST_HARNESS_MAIN
