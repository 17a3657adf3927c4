// SPDX-License-Identifier: GPL-2.0-only
/*
 * Invalidation events (VTOP_FEATURE_EVENTS): for every kind of memory (4 KiB
 * anonymous, THP, hugetlb, memfd/shmem) each operation that tears down or
 * replaces the mapping of a pinned range queues exactly one record per pin,
 * with its handle, range, reason and seq; the operations tested here that
 * keep the same pages mapped queue none (others, listed as spurious in the
 * uapi header, do: a split of a pinned THP by a partial mprotect(), reclaim
 * of pinned shared pages). Then the channel itself: read() and its errors,
 * poll/epoll readiness, the event page, overflow and GET_INVALIDATED,
 * UNPIN of a pin with a queued record, fork, close with records queued,
 * counters, and PIN/UNPIN/munmap from several threads with every
 * invalidation accounted for.
 *
 * What fork() does to a pinned range depends on the kind (see
 * fork_expected()): 4 KiB anonymous pages that may be pinned are copied
 * for the child and the parent's page tables only lose write permission
 * elsewhere (ignored: PROTECTION_PAGE); a memfd mapping is shared, nothing
 * is copied; but a pinned THP is split in the parent (copy_huge_pmd) and a
 * private hugetlb mapping is invalidated as a whole (copy_hugetlb_page_range):
 * both send MMU_NOTIFY_CLEAR, so the parent gets one spurious CLEAR record
 * although its frames stay. The test asserts exactly that, per kind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#ifndef MADV_FREE
#define MADV_FREE	8
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC	0x0001U
#endif

#define EV_MAX		64

/* the memfd kind, next to the kinds vtop_test_util knows */
#define KIND_MEMFD	100

static const char *kind_name(int kind)
{
	return kind == KIND_MEMFD ? "memfd" : vt_kind_name(kind);
}

static uint64_t page_seq(const struct vtop_event_page *p)
{
	return __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	return 0;
}

/* ---- one buffer of each kind, pinned and invalidated -------------------- */

FIXTURE(ev) {
	int fd;				/* O_NONBLOCK */
	int memfd;
	char *buf;
	size_t len;			/* 3 granules */
	size_t gran;
	struct vtop_event_page *page;	/* the fd's event page */
	struct vt_snap base;
	struct vtop_event evs[EV_MAX];
};

FIXTURE_VARIANT(ev) {
	int kind;
};

FIXTURE_VARIANT_ADD(ev, anon_4k) {
	.kind = VT_KIND_4K,
};

FIXTURE_VARIANT_ADD(ev, thp) {
	.kind = VT_KIND_THP,
};

FIXTURE_VARIANT_ADD(ev, hugetlb_2m) {
	.kind = VT_KIND_HUGETLB,
};

FIXTURE_VARIANT_ADD(ev, memfd) {
	.kind = KIND_MEMFD,
};

static int memfd_buf(size_t len, int *memfd, char **buf)
{
	char *p;
	size_t i;
	int fd;

	fd = memfd_create("vtop_events", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len)) {
		close(fd);
		return -errno;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	for (i = 0; i < len; i += VT_PAGE_SIZE)
		p[i] = 1;
	*memfd = fd;
	*buf = p;
	return 0;
}

FIXTURE_SETUP(ev)
{
	void *p = NULL;
	int ret;

	self->fd = -1;
	self->memfd = -1;
	self->buf = NULL;
	self->page = MAP_FAILED;
	ASSERT_EQ(0, vt_snap(&self->base));
	VT_OPEN_OR_SKIP(self->fd);
	ASSERT_EQ(0, set_nonblock(self->fd));

	if (variant->kind == KIND_MEMFD) {
		self->gran = VT_PAGE_SIZE;
		self->len = 3 * self->gran;
		ret = memfd_buf(self->len, &self->memfd, &self->buf);
		ASSERT_EQ(0, ret) TH_LOG("memfd: %s", strerror(-ret));
	} else {
		self->gran = vt_kind_granule(variant->kind);
		self->len = 3 * self->gran;
		ret = vt_buf_alloc(variant->kind, self->len, &p);
		if (ret == -EOPNOTSUPP)
			SKIP(return, "the kernel gave no %s memory",
			     kind_name(variant->kind));
		ASSERT_EQ(0, ret) TH_LOG("%s buffer: %s",
					 kind_name(variant->kind),
					 strerror(-ret));
		self->buf = p;
	}
	self->page = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED,
			  self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->page) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0ULL, self->page->seq);
}

FIXTURE_TEARDOWN(ev)
{
	if (self->page != MAP_FAILED)
		munmap(self->page, VT_PAGE_SIZE);
	if (self->fd >= 0)
		close(self->fd);
	if (self->buf)
		munmap(self->buf, self->len);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->fd >= 0)
		VT_EXPECT_NO_LEAK(self->base);
}

#define PIN(off, len, h) \
	ASSERT_EQ(0, vt_pin_simple(self->fd, self->buf + (off), (len), (h)))

/* read every queued record: exactly @n */
#define DRAIN(n) \
	ASSERT_EQ((long)(n), vt_drain_events(self->fd, self->evs, EV_MAX))

/* record @i is for pin @h on [off, off + len) with @reason */
static void expect_rec(struct __test_metadata *_metadata,
		       const struct vtop_event *e, uint64_t h, uint32_t reason,
		       const void *addr, size_t len)
{
	EXPECT_EQ(sizeof(*e), e->size);
	EXPECT_EQ(reason, e->reason);
	EXPECT_EQ(h, e->handle);
	EXPECT_EQ((uintptr_t)addr, e->vaddr);
	EXPECT_EQ(len, e->length);
	EXPECT_NE(0ULL, e->seq);
	EXPECT_EQ(0ULL, e->__reserved);
}

/* INFO's event counters */
static void expect_info(struct __test_metadata *_metadata, int fd,
			uint32_t nr_inv, uint64_t inv_bytes, uint32_t queued)
{
	struct vtop_info info;

	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_TRUE(info.features & VTOP_FEATURE_EVENTS);
	EXPECT_EQ(nr_inv, info.nr_invalidated);
	EXPECT_EQ(inv_bytes, info.invalidated_bytes);
	EXPECT_EQ(queued, info.nr_queued_events);
}

/* Pins of the whole buffer and of its first granule; munmap: two UNMAPs. */
TEST_F(ev, munmap)
{
	uint64_t a, b, seqs;
	struct vt_snap now;

	PIN(0, self->len, &a);
	PIN(0, self->gran, &b);
	DRAIN(0);
	expect_info(_metadata, self->fd, 0, 0, 0);

	ASSERT_EQ(0, munmap(self->buf, self->len));
	expect_info(_metadata, self->fd, 2, self->len + self->gran, 2);
	EXPECT_EQ(2ULL, page_seq(self->page));
	DRAIN(2);
	/* one callback per pin, in the interval tree's order */
	if (self->evs[0].handle != a) {
		struct vtop_event t = self->evs[0];

		self->evs[0] = self->evs[1];
		self->evs[1] = t;
	}
	expect_rec(_metadata, &self->evs[0], a, VTOP_EVENT_UNMAP, self->buf,
		   self->len);
	expect_rec(_metadata, &self->evs[1], b, VTOP_EVENT_UNMAP, self->buf,
		   self->gran);
	seqs = self->evs[0].seq | self->evs[1].seq;
	EXPECT_EQ(3ULL, seqs);
	expect_info(_metadata, self->fd, 2, self->len + self->gran, 0);

	/* still pinned and charged until UNPIN */
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(self->base.vmpin_kb + (self->len + self->gran) / 1024,
		  now.vmpin_kb);
	/* the address range is gone: a second munmap finds nothing */
	ASSERT_EQ(0, munmap(self->buf, self->len));
	DRAIN(0);

	ASSERT_EQ(0, vt_unpin(self->fd, a));
	ASSERT_EQ(0, vt_unpin(self->fd, b));
	expect_info(_metadata, self->fd, 0, 0, 0);
	EXPECT_EQ(2ULL, page_seq(self->page));
	VT_EXPECT_NO_LEAK(self->base);
}

/* munmap of the middle granule: only the pin that spans it */
TEST_F(ev, partial_munmap)
{
	uint64_t a, b, c;

	PIN(0, self->len, &a);
	PIN(0, self->gran, &b);
	PIN(2 * self->gran, self->gran, &c);
	ASSERT_EQ(0, munmap(self->buf + self->gran, self->gran));
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], a, VTOP_EVENT_UNMAP, self->buf,
		   self->len);
	EXPECT_EQ(1ULL, self->evs[0].seq);
	EXPECT_EQ(1ULL, page_seq(self->page));
	expect_info(_metadata, self->fd, 1, self->len, 0);

	/* the rest of the range stays mapped and usable */
	self->buf[0] = 2;
	self->buf[2 * self->gran] = 2;
	DRAIN(0);
	ASSERT_EQ(0, vt_unpin(self->fd, a));
	ASSERT_EQ(0, vt_unpin(self->fd, b));
	ASSERT_EQ(0, vt_unpin(self->fd, c));
}

/* a reserved, aligned place to move the buffer to */
static char *move_target(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *q;

	if (p == MAP_FAILED)
		return NULL;
	q = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (q > p)
		munmap(p, q - p);
	munmap(q + len, p + len + align - (q + len));
	return q;
}

/*
 * mremap: shrinking unmaps the tail (an event for the pin there only),
 * growing in place changes nothing (hugetlb refuses to grow: -EINVAL),
 * moving invalidates the old range (hugetlb moves its page tables under
 * MMU_NOTIFY_CLEAR, the others under MMU_NOTIFY_UNMAP).
 */
TEST_F(ev, mremap)
{
	bool huge = variant->kind == VT_KIND_HUGETLB;
	size_t two = 2 * self->gran;
	uint64_t a, b;
	char *p, *dst, *old;

	PIN(0, self->gran, &a);
	PIN(two, self->gran, &b);

	p = mremap(self->buf, self->len, two, 0);
	ASSERT_EQ(self->buf, p) TH_LOG("shrink: %s", strerror(errno));
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], b, VTOP_EVENT_UNMAP,
		   self->buf + two, self->gran);

	p = mremap(self->buf, two, self->len, 0);
	if (huge) {
		EXPECT_EQ(MAP_FAILED, p);
		EXPECT_EQ(EINVAL, errno);
		self->len = two;
	} else {
		ASSERT_EQ(self->buf, p) TH_LOG("grow: %s", strerror(errno));
	}
	DRAIN(0);
	self->buf[0] = 3;
	DRAIN(0);

	dst = move_target(self->len, VT_HPAGE_SIZE);
	ASSERT_NE(NULL, dst);
	p = mremap(self->buf, self->len, self->len,
		   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, p) TH_LOG("move: %s", strerror(errno));
	old = self->buf;
	self->buf = dst;
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], a,
		   huge ? VTOP_EVENT_CLEAR : VTOP_EVENT_UNMAP, old, self->gran);
	EXPECT_EQ(2ULL, self->evs[0].seq);
	EXPECT_EQ(2ULL, page_seq(self->page));
	expect_info(_metadata, self->fd, 2, 2 * self->gran, 0);
	ASSERT_EQ(0, vt_unpin(self->fd, a));
	ASSERT_EQ(0, vt_unpin(self->fd, b));
	expect_info(_metadata, self->fd, 0, 0, 0);
}

/* MADV_DONTNEED of one granule: CLEAR for the pins there, once */
TEST_F(ev, madv_dontneed)
{
	uint64_t a, b;

	PIN(0, self->len, &a);
	PIN(0, self->gran, &b);
	ASSERT_EQ(0, madvise(self->buf + self->gran, self->gran,
			     MADV_DONTNEED));
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], a, VTOP_EVENT_CLEAR, self->buf,
		   self->len);
	/* a second invalidation of the same pin: nothing more */
	ASSERT_EQ(0, madvise(self->buf + 2 * self->gran, self->gran,
			     MADV_DONTNEED));
	DRAIN(0);
	ASSERT_EQ(0, munmap(self->buf + self->gran, 2 * self->gran));
	DRAIN(0);
	/* the other pin's turn */
	ASSERT_EQ(0, madvise(self->buf, self->gran, MADV_DONTNEED));
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], b, VTOP_EVENT_CLEAR, self->buf,
		   self->gran);
	EXPECT_EQ(2ULL, self->evs[0].seq);
	ASSERT_EQ(0, vt_unpin(self->fd, a));
	ASSERT_EQ(0, vt_unpin(self->fd, b));
}

/* MADV_FREE: anonymous memory only (hugetlb and shmem: -EINVAL, no event) */
TEST_F(ev, madv_free)
{
	bool anon = variant->kind == VT_KIND_4K || variant->kind == VT_KIND_THP;
	uint64_t a;

	PIN(0, self->len, &a);
	if (anon) {
		ASSERT_EQ(0, madvise(self->buf, self->gran, MADV_FREE));
		DRAIN(1);
		expect_rec(_metadata, &self->evs[0], a, VTOP_EVENT_CLEAR,
			   self->buf, self->len);
	} else {
		EXPECT_EQ(-1, madvise(self->buf, self->gran, MADV_FREE));
		EXPECT_EQ(EINVAL, errno);
		DRAIN(0);
		EXPECT_EQ(0ULL, page_seq(self->page));
	}
	ASSERT_EQ(0, vt_unpin(self->fd, a));
}

/* MADV_REMOVE, hole punching and truncation of the memfd */
TEST_F(ev, memfd_remove_punch_truncate)
{
	uint64_t a, b, c, d;

	if (variant->kind != KIND_MEMFD)
		SKIP(return, "memfd only");
	PIN(0, VT_PAGE_SIZE, &a);
	PIN(VT_PAGE_SIZE, VT_PAGE_SIZE, &b);
	PIN(2 * VT_PAGE_SIZE, VT_PAGE_SIZE, &c);
	PIN(0, self->len, &d);

	ASSERT_EQ(0, madvise(self->buf, VT_PAGE_SIZE, MADV_REMOVE));
	DRAIN(2);
	EXPECT_EQ(VTOP_EVENT_CLEAR, self->evs[0].reason);
	EXPECT_EQ(VTOP_EVENT_CLEAR, self->evs[1].reason);
	EXPECT_TRUE((self->evs[0].handle == a && self->evs[1].handle == d) ||
		    (self->evs[0].handle == d && self->evs[1].handle == a));

	ASSERT_EQ(0, fallocate(self->memfd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       VT_PAGE_SIZE, VT_PAGE_SIZE));
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], b, VTOP_EVENT_CLEAR,
		   self->buf + VT_PAGE_SIZE, VT_PAGE_SIZE);

	ASSERT_EQ(0, ftruncate(self->memfd, 2 * VT_PAGE_SIZE));
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], c, VTOP_EVENT_CLEAR,
		   self->buf + 2 * VT_PAGE_SIZE, VT_PAGE_SIZE);
	EXPECT_EQ(4ULL, self->evs[0].seq);
	EXPECT_EQ(4ULL, page_seq(self->page));
	expect_info(_metadata, self->fd, 4, 3 * VT_PAGE_SIZE + self->len, 0);

	ASSERT_EQ(0, vt_unpin(self->fd, a));
	ASSERT_EQ(0, vt_unpin(self->fd, b));
	ASSERT_EQ(0, vt_unpin(self->fd, c));
	ASSERT_EQ(0, vt_unpin(self->fd, d));
	expect_info(_metadata, self->fd, 0, 0, 0);
}

/* mprotect away and back, then writes: the same pages stay, no event */
TEST_F(ev, mprotect_none)
{
	uint64_t a;
	size_t i;

	PIN(0, self->len, &a);
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	for (i = 0; i < self->len; i += VT_PAGE_SIZE)
		self->buf[i] = 4;
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_NONE));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	DRAIN(0);
	EXPECT_EQ(0ULL, page_seq(self->page));
	expect_info(_metadata, self->fd, 0, 0, 0);
	ASSERT_EQ(0, vt_unpin(self->fd, a));
}

/* records fork() makes the parent get for a pinned range (header comment) */
static int fork_expected(int kind)
{
	return kind == VT_KIND_THP || kind == VT_KIND_HUGETLB;
}

/*
 * fork: the child cannot use the fd (read, mmap, ioctl: -EACCES; poll:
 * EPOLLERR) and its munmap of its copy is no event; the parent gets what
 * fork_expected() says, and a munmap in the parent afterwards is an
 * event for every pin not invalidated yet.
 */
TEST_F(ev, fork)
{
	int spurious = fork_expected(variant->kind);
	struct vtop_info info = { .size = sizeof(info) };
	uint64_t a, b;
	int status;
	pid_t pid;

	PIN(0, self->len, &a);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
		struct vtop_event e;
		int bad = 0;
		void *m;

		if (read(self->fd, &e, sizeof(e)) != -1 || errno != EACCES)
			bad |= 1;
		m = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED,
			 self->fd, 0);
		if (m != MAP_FAILED || errno != EACCES)
			bad |= 2;
		if (ioctl(self->fd, VTOP_IOC_INFO, &info) != -1 ||
		    errno != EACCES)
			bad |= 4;
		if (poll(&pfd, 1, 0) != 1 || pfd.revents != POLLERR)
			bad |= 8;
		/* the child's copy of the inherited event page is readable */
		if (self->page->version != 1)
			bad |= 16;
		self->buf[0] = 5;
		if (munmap(self->buf, self->len))
			bad |= 32;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	DRAIN(spurious);
	TH_LOG("%s: fork gave the parent %d record(s)",
	       kind_name(variant->kind), spurious);
	if (spurious)
		expect_rec(_metadata, &self->evs[0], a, VTOP_EVENT_CLEAR,
			   self->buf, self->len);

	PIN(0, self->len, &b);
	ASSERT_EQ(0, munmap(self->buf, self->len));
	DRAIN(spurious ? 1 : 2);
	if (spurious) {
		expect_rec(_metadata, &self->evs[0], b, VTOP_EVENT_UNMAP,
			   self->buf, self->len);
	} else {
		EXPECT_NE(self->evs[0].handle, self->evs[1].handle);
		EXPECT_EQ(VTOP_EVENT_UNMAP, self->evs[0].reason);
		EXPECT_EQ(VTOP_EVENT_UNMAP, self->evs[1].reason);
	}
	EXPECT_EQ(2ULL, page_seq(self->page));
	ASSERT_EQ(0, vt_unpin(self->fd, a));
	ASSERT_EQ(0, vt_unpin(self->fd, b));
}

/* after unpinning invalidated pins every counter is back at the start */
TEST_F(ev, counters_balance)
{
	struct vtop_info info;
	uint64_t h[3];
	struct vt_snap now;
	int i;

	for (i = 0; i < 3; i++)
		PIN(i * self->gran, self->gran, &h[i]);
	ASSERT_EQ(0, munmap(self->buf, 2 * self->gran));
	expect_info(_metadata, self->fd, 2, 2 * self->gran, 2);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(3U, info.nr_pins);
	EXPECT_EQ(self->len, info.pinned_bytes);
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(self->base.vmpin_kb + self->len / 1024, now.vmpin_kb);
	EXPECT_EQ(now.vmpin_kb * 1024, info.mm_pinned_bytes);

	/* UNPIN of a pin whose record is queued removes the record */
	ASSERT_EQ(0, vt_unpin(self->fd, h[0]));
	expect_info(_metadata, self->fd, 1, self->gran, 1);
	DRAIN(1);
	expect_rec(_metadata, &self->evs[0], h[1], VTOP_EVENT_UNMAP,
		   self->buf + self->gran, self->gran);
	ASSERT_EQ(0, vt_unpin(self->fd, h[1]));
	ASSERT_EQ(0, vt_unpin(self->fd, h[2]));
	expect_info(_metadata, self->fd, 0, 0, 0);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(0U, info.nr_pins);
	EXPECT_EQ(0ULL, info.pinned_bytes);
	EXPECT_EQ(self->base.vmpin_kb * 1024, info.mm_pinned_bytes);
	EXPECT_EQ(2ULL, page_seq(self->page));
	VT_EXPECT_NO_LEAK(self->base);
}

/* ---- the channel --------------------------------------------------------- */

/* a 4 KiB anonymous buffer of @pages pages, written */
static char *anon(size_t pages)
{
	void *p = NULL;

	if (vt_buf_alloc(VT_KIND_4K, pages * VT_PAGE_SIZE, &p))
		return NULL;
	return p;
}

static int open_nb(void)
{
	int fd = vt_open();

	if (fd >= 0 && set_nonblock(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

#define OPEN_NB(fd) do { \
	VT_OPEN_OR_SKIP(fd); \
	ASSERT_EQ(0, set_nonblock(fd)); \
} while (0)

TEST(read_errors)
{
	struct vtop_event evs[2];
	uint64_t h;
	char *p, *ro;
	int fd;

	OPEN_NB(fd);
	p = anon(1);
	ASSERT_NE(NULL, p);
	/* empty, O_NONBLOCK */
	EXPECT_EQ(-EAGAIN, vt_read_events(fd, evs, 2));
	/* a buffer smaller than one record, even when one is queued */
	EXPECT_EQ(-1, read(fd, evs, sizeof(evs[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(fd, evs, 0));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h));
	ASSERT_EQ(0, munmap(p, VT_PAGE_SIZE));
	EXPECT_EQ(-1, read(fd, evs, sizeof(evs[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	/* -EFAULT consumes nothing */
	EXPECT_EQ(-1, syscall(SYS_read, fd, (void *)8, sizeof(evs[0])));
	EXPECT_EQ(EFAULT, errno);
	ro = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, read(fd, ro, sizeof(evs[0])));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, VT_PAGE_SIZE);
	/* a buffer of one record and a half: one record, 48 bytes */
	EXPECT_EQ((ssize_t)sizeof(evs[0]),
		  read(fd, evs, sizeof(evs[0]) + sizeof(evs[0]) / 2));
	EXPECT_EQ(h, evs[0].handle);
	EXPECT_EQ(VTOP_EVENT_UNMAP, evs[0].reason);
	EXPECT_EQ(-EAGAIN, vt_read_events(fd, evs, 2));
	ASSERT_EQ(0, vt_unpin(fd, h));
	close(fd);
}

struct blocker {
	int fd;
	long n;
	struct vtop_event e;
};

static void *blocking_read(void *arg)
{
	struct blocker *b = arg;

	b->n = vt_read_events(b->fd, &b->e, 1);
	return NULL;
}

/* poll and epoll: not ready, ready after an invalidation, not after reading */
TEST(poll_epoll)
{
	struct epoll_event ee = { .events = EPOLLIN }, out;
	struct pollfd pfd;
	struct blocker b;
	pthread_t t;
	uint64_t h, h2;
	int fd, ep, fl;
	char *p;

	OPEN_NB(fd);
	p = anon(2);
	ASSERT_NE(NULL, p);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee));
	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h));

	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLRDNORM };
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	ASSERT_EQ(0, munmap(p, VT_PAGE_SIZE));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents);
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ((uint32_t)EPOLLIN, out.events);
	/* level-triggered: still ready until read */
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));

	EXPECT_EQ(1, vt_read_events(fd, &b.e, 1));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	/* a blocking reader and an epoll waiter are woken by munmap */
	ASSERT_EQ(0, vt_pin_simple(fd, p + VT_PAGE_SIZE, VT_PAGE_SIZE, &h2));
	fl = fcntl(fd, F_GETFL);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
	b.fd = fd;
	b.n = -1000;
	ASSERT_EQ(0, pthread_create(&t, NULL, blocking_read, &b));
	usleep(200000);
	EXPECT_EQ(-1000, b.n);
	ASSERT_EQ(0, munmap(p + VT_PAGE_SIZE, VT_PAGE_SIZE));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, b.n);
	EXPECT_EQ(h2, b.e.handle);
	EXPECT_EQ(2ULL, b.e.seq);
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	ASSERT_EQ(0, vt_unpin(fd, h));
	ASSERT_EQ(0, vt_unpin(fd, h2));
	close(ep);
	close(fd);
}

/* a blocked read() returns on a signal */
static void on_alarm(int sig)
{
	(void)sig;
}

TEST(read_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct vtop_event e;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(-1, read(fd, &e, sizeof(e)));
	EXPECT_EQ(EINTR, errno);
	close(fd);
}

TEST(mmap_rules)
{
	struct vtop_event_page *pg;
	struct vtop_event e;
	void *m;
	uint64_t h;
	char *p;
	int fd;

	OPEN_NB(fd);
	p = anon(1);
	ASSERT_NE(NULL, p);

	m = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EPERM, errno);
	m = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, VT_PAGE_SIZE);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);
	m = mmap(NULL, 2 * VT_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);
	m = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);

	pg = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pg) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(sizeof(*pg), pg->size);
	EXPECT_EQ(1U, pg->version);
	EXPECT_EQ(0ULL, pg->seq);
	EXPECT_EQ(0ULL, pg->overflows);
	/* never writable, never larger */
	EXPECT_EQ(-1, mprotect(pg, VT_PAGE_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mremap(pg, VT_PAGE_SIZE, 2 * VT_PAGE_SIZE,
				     MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h));
	ASSERT_EQ(0, munmap(p, VT_PAGE_SIZE));
	EXPECT_EQ(1ULL, page_seq(pg));
	ASSERT_EQ(1, vt_read_events(fd, &e, 1));
	EXPECT_EQ(page_seq(pg), e.seq);
	/* mapped by pfn (VM_PFNMAP): madvise() cannot zap it */
	EXPECT_EQ(-1, madvise(pg, VT_PAGE_SIZE, MADV_DONTNEED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1ULL, page_seq(pg));
	EXPECT_EQ(1U, pg->version);
	ASSERT_EQ(0, vt_unpin(fd, h));
	/* the mapping keeps the file: still readable after close */
	close(fd);
	EXPECT_EQ(1ULL, page_seq(pg));
	ASSERT_EQ(0, munmap(pg, VT_PAGE_SIZE));
}

/* ---- overflow ------------------------------------------------------------ */

#define NOVF	5

FIXTURE(ovf) {
	uint64_t saved;
	bool restore;
};

FIXTURE_SETUP(ovf)
{
	self->restore = false;
	if (access("/sys/module/vtop/parameters/max_queued_events", W_OK))
		SKIP(return, "no writable max_queued_events");
	ASSERT_EQ(0, vt_param_read("max_queued_events", &self->saved));
	ASSERT_EQ(1024ULL, self->saved);
	self->restore = true;
}

FIXTURE_TEARDOWN(ovf)
{
	if (self->restore)
		EXPECT_EQ(0, vt_param_write("max_queued_events", self->saved));
}

TEST_F(ovf, overflow_and_recovery)
{
	uint64_t h[NOVF], got[NOVF + 1], seq, h2;
	struct vtop_event_page *pg;
	struct vtop_event e[NOVF + 2];
	uint32_t nr;
	int fd, i, j;
	char *p;

	OPEN_NB(fd);
	pg = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pg);
	p = anon(NOVF + 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, vt_param_write("max_queued_events", 2));
	for (i = 0; i < NOVF; i++)
		ASSERT_EQ(0, vt_pin_simple(fd, p + i * VT_PAGE_SIZE,
					   VT_PAGE_SIZE, &h[i]));
	for (i = 0; i < NOVF; i++)
		ASSERT_EQ(0, munmap(p + i * VT_PAGE_SIZE, VT_PAGE_SIZE));

	EXPECT_EQ((uint64_t)NOVF, page_seq(pg));
	EXPECT_EQ((uint64_t)NOVF - 2, pg->overflows);
	expect_info(_metadata, fd, NOVF, NOVF * VT_PAGE_SIZE, 2);

	/* the queued records one by one, then the overflow record */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, vt_read_events(fd, &e[i], 1));
		EXPECT_EQ(h[i], e[i].handle);
		EXPECT_EQ((uint64_t)i + 1, e[i].seq);
	}
	ASSERT_EQ(1, vt_read_events(fd, &e[2], 1));
	EXPECT_EQ(sizeof(e[2]), e[2].size);
	EXPECT_EQ(VTOP_EVENT_OVERFLOW, e[2].reason);
	EXPECT_EQ(0ULL, e[2].handle);
	EXPECT_EQ(0ULL, e[2].vaddr);
	EXPECT_EQ(0ULL, e[2].length);
	EXPECT_EQ((uint64_t)NOVF, e[2].seq);
	EXPECT_EQ(-EAGAIN, vt_read_events(fd, e, NOVF + 2));

	/* every invalidated pin, whether its record was queued or not */
	nr = 2;
	EXPECT_EQ(-ENOBUFS, vt_get_invalidated(fd, got, &nr, &seq));
	EXPECT_EQ((uint32_t)NOVF, nr);
	nr = NOVF + 1;
	got[NOVF] = 0xdead;
	ASSERT_EQ(0, vt_get_invalidated(fd, got, &nr, &seq));
	EXPECT_EQ((uint32_t)NOVF, nr);
	EXPECT_EQ((uint64_t)NOVF, seq);
	EXPECT_EQ(0xdeadULL, got[NOVF]);
	for (i = 0; i < NOVF; i++) {
		int found = 0;

		for (j = 0; j < NOVF; j++)
			found += got[j] == h[i];
		EXPECT_EQ(1, found) TH_LOG("handle %d", i);
	}

	/* recovery: unpin all; the next invalidation is queued again */
	for (i = 0; i < NOVF; i++)
		ASSERT_EQ(0, vt_unpin(fd, h[i]));
	expect_info(_metadata, fd, 0, 0, 0);
	nr = NOVF;
	ASSERT_EQ(0, vt_get_invalidated(fd, got, &nr, &seq));
	EXPECT_EQ(0U, nr);
	ASSERT_EQ(0, vt_pin_simple(fd, p + NOVF * VT_PAGE_SIZE, VT_PAGE_SIZE,
				   &h2));
	ASSERT_EQ(0, munmap(p + NOVF * VT_PAGE_SIZE, VT_PAGE_SIZE));
	ASSERT_EQ(1, vt_read_events(fd, e, NOVF + 2));
	EXPECT_EQ(h2, e[0].handle);
	EXPECT_EQ(VTOP_EVENT_UNMAP, e[0].reason);
	EXPECT_EQ((uint64_t)NOVF + 1, e[0].seq);
	EXPECT_EQ(-EAGAIN, vt_read_events(fd, e, NOVF + 2));
	EXPECT_EQ((uint64_t)NOVF - 2, pg->overflows);

	/* max_queued_events 0: every invalidation is an overflow */
	ASSERT_EQ(0, vt_param_write("max_queued_events", 0));
	ASSERT_EQ(0, vt_unpin(fd, h2));
	p = anon(1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h2));
	ASSERT_EQ(0, munmap(p, VT_PAGE_SIZE));
	ASSERT_EQ(1, vt_read_events(fd, e, NOVF + 2));
	EXPECT_EQ(VTOP_EVENT_OVERFLOW, e[0].reason);
	EXPECT_EQ((uint64_t)NOVF + 2, e[0].seq);
	EXPECT_EQ((uint64_t)NOVF - 1, pg->overflows);
	ASSERT_EQ(0, vt_unpin(fd, h2));
	munmap(pg, VT_PAGE_SIZE);
	close(fd);
}

/* ---- lifetime ------------------------------------------------------------ */

/* close with records queued, and exit with pins and records (runner checks) */
TEST(close_undrained)
{
	struct vt_snap base;
	uint64_t h;
	int fd, i, status;
	char *p;
	pid_t pid;

	ASSERT_EQ(0, vt_snap(&base));
	OPEN_NB(fd);
	p = anon(4);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, vt_pin_simple(fd, p + i * VT_PAGE_SIZE,
					   VT_PAGE_SIZE, &h));
	ASSERT_EQ(0, munmap(p, 2 * VT_PAGE_SIZE));
	expect_info(_metadata, fd, 2, 2 * VT_PAGE_SIZE, 2);
	close(fd);
	munmap(p, 4 * VT_PAGE_SIZE);
	VT_EXPECT_NO_LEAK(base);

	/* a process that exits with pins, records and a mapped event page */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int cfd = open_nb();

		p = anon(4);
		if (cfd < 0 || !p)
			_exit(1);
		if (mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED, cfd, 0) ==
		    MAP_FAILED)
			_exit(2);
		for (i = 0; i < 4; i++)
			if (vt_pin_simple(cfd, p + i * VT_PAGE_SIZE,
					  VT_PAGE_SIZE, &h))
				_exit(3);
		munmap(p, VT_PAGE_SIZE);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* PIN of an unmapped range fails and leaves nothing; the same range twice */
TEST(pin_unmapped_and_twice)
{
	struct vtop_event e[4];
	uint64_t h, h2;
	int fd;
	char *p;

	OPEN_NB(fd);
	p = anon(2);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p + VT_PAGE_SIZE, VT_PAGE_SIZE));
	EXPECT_EQ(-EFAULT, vt_pin_simple(fd, p, 2 * VT_PAGE_SIZE, &h));
	expect_info(_metadata, fd, 0, 0, 0);

	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h));
	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h2));
	ASSERT_EQ(0, munmap(p, VT_PAGE_SIZE));
	ASSERT_EQ(2, vt_drain_events(fd, e, 4));
	EXPECT_NE(e[0].handle, e[1].handle);
	EXPECT_TRUE(e[0].handle == h || e[0].handle == h2);
	EXPECT_TRUE(e[1].handle == h || e[1].handle == h2);
	ASSERT_EQ(0, vt_unpin(fd, h));
	ASSERT_EQ(0, vt_unpin(fd, h2));
	close(fd);
}

/* ---- threads ------------------------------------------------------------- */

#define NWORKERS	4
#define NITER		150
#define NPINS		(NWORKERS * NITER)

enum { M_WAIT, M_UNPIN_FIRST, M_RACE };

struct conc {
	int fd;
	atomic_int workers_done;
	atomic_int stop;
	pthread_mutex_t lock;
	uint64_t handle[NPINS];
	int mode[NPINS];
	int seen[NPINS];	/* records read for pin i */
	int unknown;		/* records for no pin of ours */
	int bad_order;		/* seq not increasing */
	int errors;
	int nr_read;
	uint64_t last_seq;
};

static int conc_find(struct conc *c, uint64_t h)
{
	int i;

	for (i = 0; i < NPINS; i++)
		if (c->handle[i] == h)
			return i;
	return -1;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	struct vtop_event e[16];
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	long n, i;

	for (;;) {
		int done = atomic_load(&c->stop);

		poll(&pfd, 1, 50);
		n = vt_read_events(c->fd, e, 16);
		if (n == -EAGAIN) {
			if (done)
				break;
			continue;
		}
		if (n < 0) {
			__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
			break;
		}
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < n; i++) {
			int k = conc_find(c, e[i].handle);

			if (e[i].seq <= c->last_seq)
				c->bad_order++;
			c->last_seq = e[i].seq;
			if (k < 0 || e[i].reason != VTOP_EVENT_UNMAP)
				c->unknown++;
			else
				c->seen[k]++;
			c->nr_read++;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

struct worker {
	struct conc *c;
	int id;
};

static int seen(struct conc *c, int k)
{
	int s;

	pthread_mutex_lock(&c->lock);
	s = c->seen[k];
	pthread_mutex_unlock(&c->lock);
	return s;
}

static void *conc_worker(void *arg)
{
	struct worker *w = arg;
	struct conc *c = w->c;
	int i;

	for (i = 0; i < NITER; i++) {
		int k = w->id * NITER + i, mode = (i + w->id) % 3, t;
		uint64_t h;
		char *p = anon(2);

		if (!p || vt_pin_simple(c->fd, p, 2 * VT_PAGE_SIZE, &h)) {
			__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
			break;
		}
		pthread_mutex_lock(&c->lock);
		c->handle[k] = h;
		c->mode[k] = mode;
		pthread_mutex_unlock(&c->lock);
		switch (mode) {
		case M_WAIT:
			munmap(p, 2 * VT_PAGE_SIZE);
			for (t = 0; t < 10000 && !seen(c, k); t++)
				usleep(1000);
			if (vt_unpin(c->fd, h))
				__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
			break;
		case M_UNPIN_FIRST:
			if (vt_unpin(c->fd, h))
				__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
			munmap(p, 2 * VT_PAGE_SIZE);
			break;
		default:
			munmap(p, VT_PAGE_SIZE);
			if (vt_unpin(c->fd, h))
				__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
			munmap(p + VT_PAGE_SIZE, VT_PAGE_SIZE);
			break;
		}
	}
	atomic_fetch_add(&c->workers_done, 1);
	return NULL;
}

/*
 * Threads pin, munmap and unpin concurrently while one reads. A pin
 * munmapped and then unpinned only after its record was read (M_WAIT) is
 * seen exactly once; one unpinned before munmap (M_UNPIN_FIRST) never; one
 * whose UNPIN races with the reader (M_RACE) at most once. Every one of
 * M_WAIT and M_RACE counts in seq, which ends at their number; records
 * come in increasing seq; nothing unknown, nothing left behind.
 */
TEST(concurrent_pin_unpin_munmap)
{
	struct worker w[NWORKERS];
	pthread_t tw[NWORKERS], tr;
	struct vtop_event_page *pg;
	struct vt_snap base;
	struct conc *c;
	int i, invalidated = 0, wait_seen = 0;

	ASSERT_EQ(0, vt_snap(&base));
	c = calloc(1, sizeof(*c));
	ASSERT_NE(NULL, c);
	OPEN_NB(c->fd);
	pthread_mutex_init(&c->lock, NULL);
	pg = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED, c->fd, 0);
	ASSERT_NE(MAP_FAILED, pg);

	ASSERT_EQ(0, pthread_create(&tr, NULL, conc_reader, c));
	for (i = 0; i < NWORKERS; i++) {
		w[i].c = c;
		w[i].id = i;
		ASSERT_EQ(0, pthread_create(&tw[i], NULL, conc_worker, &w[i]));
	}
	for (i = 0; i < NWORKERS; i++)
		ASSERT_EQ(0, pthread_join(tw[i], NULL));
	atomic_store(&c->stop, 1);
	ASSERT_EQ(0, pthread_join(tr, NULL));

	EXPECT_EQ(0, c->errors);
	EXPECT_EQ(0, c->unknown);
	EXPECT_EQ(0, c->bad_order);
	for (i = 0; i < NPINS; i++) {
		switch (c->mode[i]) {
		case M_WAIT:
			EXPECT_EQ(1, c->seen[i]) TH_LOG("pin %d", i);
			invalidated++;
			wait_seen++;
			break;
		case M_UNPIN_FIRST:
			EXPECT_EQ(0, c->seen[i]) TH_LOG("pin %d", i);
			break;
		default:
			EXPECT_GE(1, c->seen[i]) TH_LOG("pin %d", i);
			invalidated++;
			break;
		}
	}
	EXPECT_EQ((uint64_t)invalidated, page_seq(pg));
	EXPECT_EQ(0ULL, pg->overflows);
	TH_LOG("%d pins, %d invalidated, %d records read (%d awaited)",
	       NPINS, invalidated, c->nr_read, wait_seen);
	expect_info(_metadata, c->fd, 0, 0, 0);
	munmap(pg, VT_PAGE_SIZE);
	close(c->fd);
	VT_EXPECT_NO_LEAK(base);
	free(c);
}

/* ---- hardening ----------------------------------------------------------- */

#define TOG_THREADS	2
#define TOG_LEN		(64UL << 20)

struct tog {
	char *page;		/* the 2 MiB block this toggler changes */
	atomic_int *stop;
	atomic_long done;	/* toggles so far */
	int err;
};

/* mprotect a block PROT_READ <-> PROT_READ | PROT_EXEC until told to stop */
static void *toggler(void *arg)
{
	struct tog *t = arg;

	while (!atomic_load(t->stop)) {
		if (mprotect(t->page, VT_HPAGE_SIZE, PROT_READ | PROT_EXEC) ||
		    mprotect(t->page, VT_HPAGE_SIZE, PROT_READ)) {
			t->err = errno;
			break;
		}
		atomic_fetch_add(&t->done, 1);
	}
	return NULL;
}

/* pages pinned by FOLL_PIN so far, system-wide (per-cpu counts folded) */
static int foll_pins_acquired(uint64_t *n)
{
	vt_write_file("/proc/sys/vm/stat_refresh", "1");
	return vt_vmstat("nr_foll_pin_acquired", n);
}

/*
 * mprotect() inside a range being pinned changes none of its pages
 * (MMU_NOTIFY_PROTECTION_VMA): PIN must not pin the range again for it.
 * Two threads toggle PROT_EXEC on pages inside a 64 MiB range, running
 * before PIN starts and until it returns. PIN must return 0 having pinned
 * the range once: nr_foll_pin_acquired grows by the pages of the range
 * once (counted in whole ranges: other pinners may add a few pages), where a PIN that started over on every mprotect() pins it again
 * and again (as long as the toggling goes on: the livelock; here the
 * toggling stops only when PIN returns) and, if it ever returns, has
 * acquired a multiple of them.
 *
 * The toggled blocks are 2 MiB aligned: an mprotect() that splits a VMA
 * at an address that is not makes the kernel announce a CLEAR over the
 * 2 MiB around it (vma_adjust_trans_huge(), THP or not), which rightly
 * makes PIN pin again. The range is also pinned once before (pin a), as a
 * witness: if anything else invalidates it meanwhile (a CLEAR record for
 * pin a), PIN may rightly pin again or give up (-EAGAIN), the try proves
 * nothing and the test tries again, up to TOG_TRIES times.
 */
#define TOG_TRIES	4

/* 1: PIN pinned once, 0: the range was invalidated meanwhile, -1: fail */
static int pin_while_mprotect_try(struct __test_metadata *_metadata, int fd)
{
	struct vtop_segment *segs = NULL;
	struct tog t[TOG_THREADS];
	pthread_t th[TOG_THREADS];
	uint64_t a, h = 0, before, after;
	atomic_int stop = 0;
	long toggles = 0, n;
	struct vtop_event e[4];
	struct vtop_info info;
	int i, ret, res = -1;
	uint32_t nr;
	char *buf;

	/* 2 MiB aligned: the toggled blocks split it at aligned addresses */
	buf = move_target(TOG_LEN, VT_HPAGE_SIZE);
	if (!buf || mmap(buf, TOG_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
		return -1;
	madvise(buf, TOG_LEN, MADV_NOHUGEPAGE);
	memset(buf, 1, TOG_LEN);
	if (mprotect(buf, TOG_LEN, PROT_READ) ||
	    vt_pin_alloc(fd, buf, TOG_LEN, VTOP_PIN_READONLY, &segs, &nr,
			 &a)) {
		munmap(buf, TOG_LEN);
		return -1;
	}
	free(segs);
	segs = NULL;

	for (i = 0; i < TOG_THREADS; i++) {
		t[i].page = buf + TOG_LEN / 2 + (size_t)i * 2 * VT_HPAGE_SIZE;
		t[i].stop = &stop;
		atomic_store(&t[i].done, 0);
		t[i].err = 0;
		if (pthread_create(&th[i], NULL, toggler, &t[i]))
			abort();
	}
	/* every toggler is running before PIN starts */
	for (i = 0; i < TOG_THREADS; i++)
		while (!atomic_load(&t[i].done) && !t[i].err)
			sched_yield();
	foll_pins_acquired(&before);
	ret = vt_pin_alloc(fd, buf, TOG_LEN, VTOP_PIN_READONLY, &segs, &nr,
			   &h);
	atomic_store(&stop, 1);
	for (i = 0; i < TOG_THREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, t[i].err);
		toggles += atomic_load(&t[i].done);
	}
	foll_pins_acquired(&after);
	free(segs);

	n = vt_read_events(fd, e, 4);
	for (i = 0; i < n; i++)
		TH_LOG("record: reason %u, pin %s", e[i].reason,
		       e[i].handle == a ? "a" : "b");
	vt_info(fd, &info);
	TH_LOG("%ld toggles; PIN: %d, acquired %.2f times the range's pages; %u pin(s) invalidated",
	       toggles, ret,
	       (double)(after - before) / (TOG_LEN / VT_PAGE_SIZE),
	       info.nr_invalidated);
	if (info.nr_invalidated) {
		res = 0;	/* the range itself changed: no proof */
	} else {
		EXPECT_EQ(0, ret) TH_LOG("PIN: %s", strerror(-ret));
		/* whole rounds: another pinner may add a page or two */
		EXPECT_EQ(1, (after - before) / (TOG_LEN / VT_PAGE_SIZE))
			TH_LOG("PIN pinned the range more than once");
		if (!ret && (after - before) / (TOG_LEN / VT_PAGE_SIZE) == 1)
			res = 1;
	}
	if (!ret)
		vt_unpin(fd, h);
	vt_unpin(fd, a);
	munmap(buf, TOG_LEN);
	return res;
}

TEST(pin_while_mprotect)
{
	uint64_t acq;
	int fd, i, res = 0;

	OPEN_NB(fd);
	if (foll_pins_acquired(&acq))
		SKIP(return, "no nr_foll_pin_acquired in /proc/vmstat");
	for (i = 0; i < TOG_TRIES && !res; i++)
		res = pin_while_mprotect_try(_metadata, fd);
	close(fd);
	EXPECT_NE(-1, res);
	if (!res)
		SKIP(return, "the range was invalidated in every try");
}

/*
 * The event page: never executable (mmap -EPERM, mprotect -EACCES) and
 * never taken by GUP: a PIN of it fails as for any VM_PFNMAP range.
 */
TEST(event_page_hardening)
{
	struct vtop_event_page *pg;
	struct vtop_segment seg;
	uint32_t nr = 1;
	uint64_t h;
	void *m;
	int fd;

	OPEN_NB(fd);
	m = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EPERM, errno);
	if (m != MAP_FAILED)
		munmap(m, VT_PAGE_SIZE);

	pg = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pg) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(1U, pg->version);
	EXPECT_EQ(-1, mprotect(pg, VT_PAGE_SIZE, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);

	h = 0;
	EXPECT_EQ(-EFAULT, vt_pin(fd, pg, VT_PAGE_SIZE, VTOP_PIN_READONLY,
				  &seg, &nr, &h));
	if (h)
		vt_unpin(fd, h);
	EXPECT_EQ(-EFAULT, vt_pin_simple(fd, pg, VT_PAGE_SIZE, &h));
	expect_info(_metadata, fd, 0, 0, 0);
	EXPECT_EQ(1U, pg->version);
	ASSERT_EQ(0, munmap(pg, VT_PAGE_SIZE));
	close(fd);
}

struct slow_reader {
	int fd;
	void *buf;		/* a userfaultfd-registered, missing page */
	ssize_t n;
	int err;
};

static void *slow_read(void *arg)
{
	struct slow_reader *r = arg;

	r->n = read(r->fd, r->buf, sizeof(struct vtop_event));
	r->err = r->n < 0 ? errno : 0;
	return NULL;
}

/*
 * An O_NONBLOCK read() never waits for another reader: one reader is held
 * in a fault on its buffer (userfaultfd, resolved by the test) while it
 * copies the first of two records out; a second, O_NONBLOCK, read() then
 * fails with -EAGAIN at once instead of waiting for the first reader (with
 * the bug it waits: an alarm ends the wait with -EINTR, or it returns the
 * second record once the fault is resolved).
 */
TEST(nonblock_read_busy)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register ureg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct slow_reader r = { .n = -1000 };
	struct uffd_msg msg;
	struct uffdio_copy cp;
	struct vtop_event e;
	sigset_t alrm, old;
	uint64_t h[2];
	char *src, *p;
	pthread_t t;
	ssize_t n;
	int fd, uffd;

	OPEN_NB(fd);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0 && (errno == ENOSYS || errno == EPERM))
		SKIP(return, "no userfaultfd: %s", strerror(errno));
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	r.buf = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	ureg.range.start = (uintptr_t)r.buf;
	ureg.range.len = VT_PAGE_SIZE;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &ureg));

	/* two records queued */
	p = anon(2);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, vt_pin_simple(fd, p, VT_PAGE_SIZE, &h[0]));
	ASSERT_EQ(0, vt_pin_simple(fd, p + VT_PAGE_SIZE, VT_PAGE_SIZE, &h[1]));
	ASSERT_EQ(0, munmap(p, 2 * VT_PAGE_SIZE));

	/* SIGALRM for this thread only: the reader's fault is not disturbed */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &alrm, &old));
	r.fd = fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, slow_read, &r));
	ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, &old, NULL));
	/* the reader faults in its copy to user memory, inside read() */
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	alarm(5);	/* only ends a wait the bug would make */
	n = read(fd, &e, sizeof(e));
	EXPECT_EQ(-1, n) TH_LOG("read %zd bytes after waiting", n);
	EXPECT_EQ(EAGAIN, errno);
	alarm(0);

	src = anon(1);
	ASSERT_NE(NULL, src);
	cp = (struct uffdio_copy){ .dst = (uintptr_t)r.buf,
				   .src = (uintptr_t)src,
				   .len = VT_PAGE_SIZE };
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ((ssize_t)sizeof(e), r.n) TH_LOG("%s", strerror(r.err));
	/* whatever the two readers did not take is still there */
	if (n < 0) {
		EXPECT_EQ(1, vt_read_events(fd, &e, 1));
	}
	EXPECT_EQ(-EAGAIN, vt_read_events(fd, &e, 1));

	ASSERT_EQ(0, vt_unpin(fd, h[0]));
	ASSERT_EQ(0, vt_unpin(fd, h[1]));
	munmap(src, VT_PAGE_SIZE);
	munmap(r.buf, VT_PAGE_SIZE);
	close(uffd);
	close(fd);
}

TEST_HARNESS_MAIN
