// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pin of 16 GiB of address space: PIN, GET_SEGS and UNPIN of 4M pages
 * must give the CPU away now and then (cond_resched()), or a kernel without
 * full preemption reports a soft lockup. The memory is one 2 MiB memfd of
 * 4 KiB pages mapped 8192 times side by side, so 16 GiB of address space
 * costs 2 MiB of memory (plus 32 MiB of page tables and the module's
 * 32 MiB page array); every page is its own segment where the pages are
 * not physically contiguous. The soft-lockup detector is made sensitive
 * (kernel.watchdog_thresh 1: a CPU that does not schedule for 2 s is
 * reported) for the run and restored after; the runner fails the test on
 * the "BUG: soft lockup" line in the kernel log, and so does the test.
 *
 * VTOP_BIGPIN_GIB sets the size (default 16).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/klog.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define CHUNK		(2 * MiB)
#define THRESH		"/proc/sys/kernel/watchdog_thresh"

FIXTURE(bigpin) {
	char saved[32];
	int fd;
	int memfd;
	char *area;
	uint64_t len;
	struct vt_snap base;
};

FIXTURE_SETUP(bigpin)
{
	const char *env = getenv("VTOP_BIGPIN_GIB");
	uint64_t off;
	long n;

	self->saved[0] = 0;
	self->memfd = -1;
	self->area = MAP_FAILED;
	self->len = (env ? strtoull(env, NULL, 0) : 16) * GiB;
	VT_OPEN_OR_SKIP(self->fd);
	ASSERT_EQ(0, vt_snap(&self->base));
	if (access("/proc/sys/kernel/soft_watchdog", F_OK))
		SKIP(return, "no soft-lockup detector in this kernel");
	n = vt_read_file(THRESH, self->saved, sizeof(self->saved));
	ASSERT_LT(0, n);
	self->saved[strcspn(self->saved, "\n")] = 0;

	self->memfd = memfd_create("vtop-bigpin", MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, ftruncate(self->memfd, CHUNK));
	self->area = mmap(NULL, self->len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	for (off = 0; off < self->len; off += CHUNK)
		ASSERT_EQ(self->area + off,
			  mmap(self->area + off, CHUNK, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED | MAP_POPULATE,
			       self->memfd, 0))
			TH_LOG("mapping 0x%llx", (unsigned long long)off);
	ASSERT_EQ(0, vt_write_file(THRESH, "1"));
}

FIXTURE_TEARDOWN(bigpin)
{
	if (self->saved[0])
		EXPECT_EQ(0, vt_write_file(THRESH, self->saved));
	if (self->area != MAP_FAILED)
		munmap(self->area, self->len);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->fd >= 0) {
		close(self->fd);
		VT_EXPECT_NO_LEAK(self->base);
	}
}

/* the kernel log since boot names a soft lockup */
static int soft_lockup_logged(void)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf;
	int n, found;

	if (len <= 0)
		return -1;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	n = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = 0;
	found = strstr(buf, "soft lockup") != NULL;
	free(buf);
	return found;
}

TEST_F(bigpin, no_soft_lockup)
{
	uint64_t pages = self->len / VT_PAGE_SIZE, h, off = 0;
	struct vtop_segment segs[256];
	struct vtop_get_segs g;
	struct vtop_pin p = {
		.size = sizeof(p), .flags = VTOP_PIN_READONLY,
		.vaddr = (uintptr_t)self->area, .length = self->len,
	};
	uint32_t total, seen = 0;
	struct vtop_info info;

	ASSERT_EQ(0, soft_lockup_logged());
	ASSERT_EQ(0, vt_info(self->fd, &info));
	/* the module that has PARTIAL has the cond_resched() calls too */
	if (info.features & VTOP_FEATURE_PARTIAL)
		p.flags |= VTOP_PIN_PARTIAL;
	else
		TH_LOG("module without VTOP_PIN_PARTIAL: -ENOBUFS expected");
	/* the pages stay pinned (READONLY: nothing to dirty at UNPIN) */
	p.segs = (uintptr_t)segs;
	p.nr_segs = 0;
	if (!(p.flags & VTOP_PIN_PARTIAL)) {
		EXPECT_EQ(-ENOBUFS, vt_ioctl(self->fd, VTOP_IOC_PIN, &p));
		EXPECT_EQ(0, soft_lockup_logged());
		return;
	}
	ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_PIN, &p));
	h = p.handle;
	total = p.nr_segs;
	TH_LOG("%llu pages in %u segments", (unsigned long long)pages, total);
	EXPECT_LE(self->len / CHUNK, total);

	/* the whole list, 256 at a time */
	while (off < self->len) {
		g = (struct vtop_get_segs){
			.size = sizeof(g), .flags = VTOP_GET_SEGS_PARTIAL,
			.handle = h, .offset = off,
			.segs = (uintptr_t)segs, .nr_segs = 256,
		};
		ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_GET_SEGS, &g));
		ASSERT_EQ(total - seen, g.nr_segs);
		seen += g.nr_segs < 256 ? g.nr_segs : 256;
		off = segs[(g.nr_segs < 256 ? g.nr_segs : 256) - 1].vaddr +
		      segs[(g.nr_segs < 256 ? g.nr_segs : 256) - 1].len -
		      (uintptr_t)self->area;
	}
	EXPECT_EQ(total, seen);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(self->len, info.pinned_bytes);
	ASSERT_EQ(0, vt_unpin(self->fd, h));
	EXPECT_EQ(0, soft_lockup_logged());
}

TEST_HARNESS_MAIN
