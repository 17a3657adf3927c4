// SPDX-License-Identifier: GPL-2.0-only
/*
 * Limits and privileges: RLIMIT_MEMLOCK enforced exactly at the boundary
 * for a process without CAP_IPC_LOCK (and bypassed with it), the per-fd
 * pin count and byte limits (module parameters), and the open-time
 * capability check (CAP_SYS_RAWIO or CAP_SYS_ADMIN, judged at open).
 * Each test runs in its own process, so dropped capabilities and lowered
 * limits go away with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/capability.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define NPAGES	16
#define LEN	(NPAGES * VT_PAGE_SIZE)

static char *map_populated(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* the fd's INFO shows @npins pins of @bytes and the counters agree */
static void expect_state(struct __test_metadata *_metadata, int fd,
			 const struct vt_snap *base, uint32_t npins,
			 uint64_t bytes)
{
	struct vtop_info info;
	struct vt_snap now;

	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(npins, info.nr_pins);
	EXPECT_EQ(bytes, info.pinned_bytes);
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(base->vmpin_kb + bytes / 1024, now.vmpin_kb);
	EXPECT_EQ(base->foll_pins + (int64_t)(bytes / VT_PAGE_SIZE),
		  now.foll_pins);
	EXPECT_EQ(now.vmpin_kb * 1024, info.mm_pinned_bytes);
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

/*
 * Without CAP_IPC_LOCK: RLIMIT_MEMLOCK = VmPin now + NPAGES pages. NPAGES
 * pin, one more does not (-ENOMEM), and a failed pin charges nothing.
 */
TEST(memlock_boundary)
{
	struct vtop_segment segs[NPAGES + 1];
	struct vtop_info info;
	struct vt_snap base;
	uint64_t h1, h2, limit;
	uint32_t nr;
	char *a;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN + VT_PAGE_SIZE);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_cap_drop(CAP_IPC_LOCK));
	ASSERT_EQ(0, vt_cap_effective(CAP_IPC_LOCK));
	ASSERT_EQ(0, vt_snap(&base));
	limit = base.vmpin_kb * 1024 + LEN;
	ASSERT_EQ(0, set_memlock(limit));

	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(0ULL, info.caps & VTOP_CAP_IPC_LOCK);
	EXPECT_EQ(limit, info.memlock_limit);

	/* one page over, in one pin */
	nr = NPAGES + 1;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a, LEN + VT_PAGE_SIZE, 0, segs, &nr,
				  NULL));
	expect_state(_metadata, fd, &base, 0, 0);
	/* exactly at the limit */
	nr = NPAGES + 1;
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h1));
	expect_state(_metadata, fd, &base, 1, LEN);
	/* one more page: over */
	nr = NPAGES + 1;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a + LEN, VT_PAGE_SIZE, 0, segs, &nr,
				  NULL));
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a, VT_PAGE_SIZE, VTOP_PIN_READONLY,
				  segs, &nr, NULL));
	expect_state(_metadata, fd, &base, 1, LEN);
	ASSERT_EQ(0, vt_unpin(fd, h1));
	expect_state(_metadata, fd, &base, 0, 0);

	/* the same boundary reached by two pins */
	nr = NPAGES + 1;
	ASSERT_EQ(0, vt_pin(fd, a, LEN / 2, 0, segs, &nr, &h1));
	nr = NPAGES + 1;
	ASSERT_EQ(0, vt_pin(fd, a + LEN / 2, LEN / 2, 0, segs, &nr, &h2));
	expect_state(_metadata, fd, &base, 2, LEN);
	nr = NPAGES + 1;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a + LEN, VT_PAGE_SIZE, 0, segs, &nr,
				  NULL));
	expect_state(_metadata, fd, &base, 2, LEN);
	ASSERT_EQ(0, vt_unpin(fd, h2));
	/* room again for what was freed, not more */
	nr = NPAGES + 1;
	ASSERT_EQ(0, vt_pin(fd, a + LEN / 2, LEN / 2, 0, segs, &nr, &h2));
	nr = NPAGES + 1;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a, VT_PAGE_SIZE, 0, segs, &nr, NULL));
	ASSERT_EQ(0, vt_unpin(fd, h1));
	ASSERT_EQ(0, vt_unpin(fd, h2));
	expect_state(_metadata, fd, &base, 0, 0);

	/* the limit is shared by every fd of the address space */
	{
		int fd2 = vt_open();

		ASSERT_LE(0, fd2);
		nr = NPAGES + 1;
		ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h1));
		nr = NPAGES + 1;
		EXPECT_EQ(-ENOMEM, vt_pin(fd2, a, VT_PAGE_SIZE, 0, segs, &nr,
					  NULL));
		ASSERT_EQ(0, vt_info(fd2, &info));
		EXPECT_EQ(0U, info.nr_pins);
		close(fd2);
		ASSERT_EQ(0, vt_unpin(fd, h1));
	}

	/* RLIMIT_MEMLOCK 0: nothing at all */
	ASSERT_EQ(0, set_memlock(base.vmpin_kb * 1024));
	nr = NPAGES + 1;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a, VT_PAGE_SIZE, 0, segs, &nr, NULL));
	expect_state(_metadata, fd, &base, 0, 0);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(a, LEN + VT_PAGE_SIZE);
}

/* with CAP_IPC_LOCK the limit does not apply */
TEST(memlock_bypassed_with_cap_ipc_lock)
{
	struct vtop_segment segs[NPAGES];
	struct vtop_info info;
	struct vt_snap base;
	uint32_t nr = NPAGES;
	uint64_t h;
	char *a;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	if (vt_cap_effective(CAP_IPC_LOCK) != 1)
		SKIP(return, "no CAP_IPC_LOCK to begin with");
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_snap(&base));
	ASSERT_EQ(0, set_memlock(base.vmpin_kb * 1024 + VT_PAGE_SIZE));
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(VTOP_CAP_IPC_LOCK, info.caps & VTOP_CAP_IPC_LOCK);
	EXPECT_EQ(~0ULL, info.memlock_limit);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	expect_state(_metadata, fd, &base, 1, LEN);
	ASSERT_EQ(0, vt_unpin(fd, h));
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(a, LEN);
}

/* ---- bookkeeping is charged before it is allocated -------------------- */

#define GiB	(1ULL << 30)
#define TiB	(1ULL << 40)
#define NTHREADS	8
#define ROUNDS		32

/* a hole of @len bytes in the address space: mapped, then unmapped */
static void *va_hole(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

struct flood {
	int fd;
	void *addr;
	uint64_t len;
	int unexpected;		/* results other than -ENOMEM */
	int last;
};

static void *flood_thread(void *arg)
{
	struct flood *f = arg;
	int i, ret;

	for (i = 0; i < ROUNDS; i++) {
		uint32_t nr = 0;

		ret = vt_pin(f->fd, f->addr, f->len, 0, NULL, &nr, NULL);
		if (ret != -ENOMEM) {
			f->unexpected++;
			f->last = ret;
		}
	}
	return NULL;
}

static volatile int sampling;

/* the highest VmallocUsed seen while the flood ran */
static void *vmalloc_sampler(void *arg)
{
	uint64_t *peak = arg, kb;

	while (sampling)
		if (!vt_meminfo_kb("VmallocUsed", &kb) && kb > *peak)
			*peak = kb;
	return NULL;
}

/*
 * RLIMIT_MEMLOCK 64 KiB, no CAP_IPC_LOCK: 8 threads PIN 16 GiB and 1 TiB
 * of address space that is not even mapped, over and over. Every PIN fails
 * with -ENOMEM before the module allocates its page array (32 MiB of
 * vmalloc for 16 GiB): VmallocUsed stays where it was. On a module that
 * allocates before it checks the limit each of these PINs first
 * vmallocs the array, and the sampler sees it.
 */
TEST(memlock_checked_before_allocating)
{
	const uint64_t lens[] = { 16 * GiB, TiB };
	struct flood fl[NTHREADS];
	pthread_t th[NTHREADS], sampler;
	uint64_t base_kb, peak_kb;
	struct vt_snap snap;
	unsigned int l, i;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	ASSERT_EQ(0, vt_cap_drop(CAP_IPC_LOCK));
	ASSERT_EQ(0, vt_snap(&snap));
	ASSERT_EQ(0, set_memlock(snap.vmpin_kb * 1024 + 64 * 1024));

	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		void *hole = va_hole(lens[l]);

		ASSERT_NE(NULL, hole);
		ASSERT_EQ(0, vt_meminfo_kb("VmallocUsed", &base_kb));
		peak_kb = base_kb;
		sampling = 1;
		ASSERT_EQ(0, pthread_create(&sampler, NULL, vmalloc_sampler,
					    &peak_kb));
		for (i = 0; i < NTHREADS; i++) {
			fl[i] = (struct flood){ .fd = fd, .addr = hole,
						.len = lens[l] };
			ASSERT_EQ(0, pthread_create(&th[i], NULL,
						    flood_thread, &fl[i]));
		}
		for (i = 0; i < NTHREADS; i++) {
			ASSERT_EQ(0, pthread_join(th[i], NULL));
			EXPECT_EQ(0, fl[i].unexpected)
				TH_LOG("%llu GiB: thread %u got %d",
				       (unsigned long long)(lens[l] / GiB), i,
				       fl[i].last);
		}
		sampling = 0;
		ASSERT_EQ(0, pthread_join(sampler, NULL));
		/* one page array of the 16 GiB PIN alone is 32 MiB */
		EXPECT_GT(base_kb + 8 * 1024, peak_kb)
			TH_LOG("%llu GiB: VmallocUsed %llu kB -> peak %llu kB",
			       (unsigned long long)(lens[l] / GiB),
			       (unsigned long long)base_kb,
			       (unsigned long long)peak_kb);
	}
	expect_state(_metadata, fd, &snap, 0, 0);
	close(fd);
	VT_EXPECT_NO_LEAK(snap);
}

/*
 * With CAP_IPC_LOCK (no RLIMIT_MEMLOCK to stop it) a PIN whose bookkeeping
 * would pass INT_MAX bytes: 1 TiB of hugetlb address space (reserved, not
 * faulted in), and one page over VTOP_PIN_MAX_PAGES. It fails with
 * -EOVERFLOW up front: nothing pinned, charged or allocated.
 */
TEST(pin_too_long_fails_up_front)
{
	uint64_t max_len = (uint64_t)VTOP_PIN_MAX_PAGES * VT_PAGE_SIZE;
	uint64_t base_kb, now_kb;
	struct vtop_info info;
	struct vt_snap snap;
	uint32_t nr = 0;
	void *huge, *hole;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	if (vt_cap_effective(CAP_IPC_LOCK) != 1)
		SKIP(return, "no CAP_IPC_LOCK");
	ASSERT_EQ(0, vt_info(fd, &info));
	ASSERT_EQ(VTOP_FEATURE_PIN_MAX, info.features & VTOP_FEATURE_PIN_MAX);
	ASSERT_EQ(0, vt_snap(&snap));
	ASSERT_EQ(0, vt_meminfo_kb("VmallocUsed", &base_kb));

	huge = mmap(NULL, TiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE,
		    -1, 0);
	if (huge != MAP_FAILED) {
		EXPECT_EQ(-EOVERFLOW, vt_pin(fd, huge, TiB, 0, NULL, &nr,
					     NULL));
		expect_state(_metadata, fd, &snap, 0, 0);
		munmap(huge, TiB);
	} else {
		TH_LOG("no 1 TiB hugetlb mapping (%s): address space only",
		       strerror(errno));
	}
	/* a hole long enough for both: the end stays below TASK_SIZE */
	hole = va_hole(TiB);
	ASSERT_NE(NULL, hole);
	EXPECT_EQ(-EOVERFLOW, vt_pin(fd, hole, max_len + VT_PAGE_SIZE, 0,
				     NULL, &nr, NULL));
	EXPECT_EQ(-EOVERFLOW, vt_pin(fd, hole, TiB, VTOP_PIN_READONLY, NULL,
				     &nr, NULL));
	expect_state(_metadata, fd, &snap, 0, 0);
	ASSERT_EQ(0, vt_meminfo_kb("VmallocUsed", &now_kb));
	EXPECT_GT(base_kb + 8 * 1024, now_kb);
	close(fd);
	VT_EXPECT_NO_LEAK(snap);
}

/* ---- per-fd limits (module parameters) ----------------------------------- */

FIXTURE(fdlimit) {
	uint64_t max_pins, max_bytes;	/* as found, restored afterwards */
	int saved;
};

FIXTURE_SETUP(fdlimit)
{
	int ret;

	self->saved = 0;
	if (access("/sys/module/vtop", F_OK))
		SKIP(return, "vtop module not loaded");
	ret = vt_param_read("max_pins_per_fd", &self->max_pins);
	ASSERT_EQ(0, ret) TH_LOG("max_pins_per_fd: %s", strerror(-ret));
	ret = vt_param_read("max_pin_bytes_per_fd", &self->max_bytes);
	ASSERT_EQ(0, ret) TH_LOG("max_pin_bytes_per_fd: %s", strerror(-ret));
	self->saved = 1;
}

/* in the parent, so the parameters come back even if the test crashed */
FIXTURE_TEARDOWN_PARENT(fdlimit)
{
	if (!self->saved)
		return;
	EXPECT_EQ(0, vt_param_write("max_pins_per_fd", self->max_pins));
	EXPECT_EQ(0, vt_param_write("max_pin_bytes_per_fd", self->max_bytes));
}

TEST_F(fdlimit, max_pins_per_fd)
{
	struct vtop_segment segs[NPAGES];
	uint64_t h[4], spare;
	struct vtop_info info;
	struct vt_snap base;
	uint32_t nr;
	int fd, fd2, i;
	char *a;

	ASSERT_EQ(0, vt_param_write("max_pins_per_fd", 3));
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_snap(&base));
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(3U, info.max_pins);

	for (i = 0; i < 3; i++) {
		nr = NPAGES;
		ASSERT_EQ(0, vt_pin(fd, a + i * VT_PAGE_SIZE, VT_PAGE_SIZE, 0,
				    segs, &nr, &h[i]));
	}
	nr = NPAGES;
	EXPECT_EQ(-ENOSPC, vt_pin(fd, a + 3 * VT_PAGE_SIZE, VT_PAGE_SIZE, 0,
				  segs, &nr, &h[3]));
	expect_state(_metadata, fd, &base, 3, 3 * VT_PAGE_SIZE);

	/* per fd: another fd has its own 3 */
	fd2 = vt_open();
	ASSERT_LE(0, fd2);
	for (i = 0; i < 3; i++) {
		nr = NPAGES;
		ASSERT_EQ(0, vt_pin(fd2, a, VT_PAGE_SIZE, 0, segs, &nr,
				    &spare));
	}
	nr = NPAGES;
	EXPECT_EQ(-ENOSPC, vt_pin(fd2, a, VT_PAGE_SIZE, 0, segs, &nr, &spare));
	close(fd2);

	/* a slot freed is a slot to use */
	ASSERT_EQ(0, vt_unpin(fd, h[1]));
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, a + 3 * VT_PAGE_SIZE, VT_PAGE_SIZE, 0, segs,
			    &nr, &h[1]));
	nr = NPAGES;
	EXPECT_EQ(-ENOSPC, vt_pin(fd, a, VT_PAGE_SIZE, 0, segs, &nr, &spare));
	expect_state(_metadata, fd, &base, 3, 3 * VT_PAGE_SIZE);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(a, LEN);
}

TEST_F(fdlimit, max_pin_bytes_per_fd)
{
	const uint64_t cap = 8 * VT_PAGE_SIZE;
	struct vtop_segment segs[NPAGES];
	struct vtop_info info;
	struct vt_snap base;
	uint64_t h1, h2;
	uint32_t nr;
	char *a;
	int fd, fd2;

	ASSERT_EQ(0, vt_param_write("max_pin_bytes_per_fd", cap));
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_snap(&base));
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(cap, info.max_pin_bytes);

	/* over in one pin */
	nr = NPAGES;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a, cap + VT_PAGE_SIZE, 0, segs, &nr,
				  NULL));
	expect_state(_metadata, fd, &base, 0, 0);
	/* exactly the cap */
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, a, cap, 0, segs, &nr, &h1));
	nr = NPAGES;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a, VT_PAGE_SIZE, 0, segs, &nr, NULL));
	expect_state(_metadata, fd, &base, 1, cap);
	ASSERT_EQ(0, vt_unpin(fd, h1));

	/* reached by two pins */
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, a, cap / 2, 0, segs, &nr, &h1));
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, a + cap / 2, cap / 2, VTOP_PIN_READONLY, segs,
			    &nr, &h2));
	nr = NPAGES;
	EXPECT_EQ(-ENOMEM, vt_pin(fd, a + cap, VT_PAGE_SIZE, 0, segs, &nr,
				  NULL));
	expect_state(_metadata, fd, &base, 2, cap);

	/* per fd: another fd may pin its own cap */
	fd2 = vt_open();
	ASSERT_LE(0, fd2);
	nr = NPAGES;
	EXPECT_EQ(0, vt_pin(fd2, a, cap, 0, segs, &nr, NULL));
	close(fd2);

	ASSERT_EQ(0, vt_unpin(fd, h1));
	ASSERT_EQ(0, vt_unpin(fd, h2));
	expect_state(_metadata, fd, &base, 0, 0);

	/* 0: no cap but RLIMIT_MEMLOCK (root: none) */
	ASSERT_EQ(0, vt_param_write("max_pin_bytes_per_fd", 0));
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h1));
	expect_state(_metadata, fd, &base, 1, LEN);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(a, LEN);
}

/* ---- privileges ------------------------------------------------------------ */

TEST(node_mode)
{
	struct stat st;

	if (access("/sys/module/vtop", F_OK))
		SKIP(return, "vtop module not loaded");
	ASSERT_EQ(0, stat(VTOP_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777U);
	EXPECT_EQ(0U, st.st_uid);
}

TEST(open_needs_rawio_or_admin)
{
	int fd;

	VT_OPEN_OR_SKIP(fd);
	close(fd);
	ASSERT_EQ(0, vt_cap_drop(CAP_SYS_RAWIO));
	ASSERT_EQ(0, vt_cap_drop(CAP_SYS_ADMIN));
	ASSERT_EQ(0, vt_cap_effective(CAP_SYS_RAWIO));
	ASSERT_EQ(0, vt_cap_effective(CAP_SYS_ADMIN));
	/* still uid 0 and the node is 0600 root: only the module says no */
	EXPECT_EQ(-EPERM, vt_open());
}

TEST(open_with_rawio_only)
{
	struct vtop_segment segs[NPAGES];
	struct vtop_info info;
	uint32_t nr = NPAGES;
	uint64_t h;
	char *a;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	close(fd);
	ASSERT_EQ(0, vt_cap_drop(CAP_SYS_ADMIN));
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(VTOP_CAP_PHYS_ADDRS, info.caps & VTOP_CAP_PHYS_ADDRS);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	EXPECT_NE(0ULL, (unsigned long long)segs[0].dma_addr);
	ASSERT_EQ(0, vt_unpin(fd, h));
	close(fd);
	munmap(a, LEN);
}

TEST(open_with_admin_only)
{
	struct vtop_info info;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	close(fd);
	ASSERT_EQ(0, vt_cap_drop(CAP_SYS_RAWIO));
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(VTOP_CAP_PHYS_ADDRS, info.caps & VTOP_CAP_PHYS_ADDRS);
	close(fd);
}

/* the check is made at open: dropping the capabilities later changes nothing */
TEST(caps_judged_at_open)
{
	struct vtop_segment segs[NPAGES], want[NPAGES];
	struct vtop_info info;
	uint32_t nr = NPAGES;
	long nwant;
	uint64_t h;
	char *a;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	/* pagemap hides PFNs without CAP_SYS_ADMIN: predict them now */
	nwant = vt_expected_segs((uintptr_t)a, LEN, want, NPAGES);
	ASSERT_LT(0, nwant);
	ASSERT_EQ(0, vt_cap_drop(CAP_SYS_RAWIO));
	ASSERT_EQ(0, vt_cap_drop(CAP_SYS_ADMIN));
	ASSERT_EQ(-EPERM, vt_open());
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(VTOP_CAP_PHYS_ADDRS, info.caps & VTOP_CAP_PHYS_ADDRS);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	ASSERT_EQ((uint32_t)nwant, nr);
	EXPECT_EQ(0, memcmp(want, segs, nr * sizeof(segs[0])));
	ASSERT_EQ(0, vt_unpin(fd, h));
	close(fd);
	munmap(a, LEN);
}

TEST_HARNESS_MAIN
