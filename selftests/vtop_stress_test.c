// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of /dev/vtop: for VTOP_STRESS_SECONDS (default 5; the
 * debug lane runs 60) several threads pin, re-read and unpin random ranges
 * of mixed memory (4 KiB pages, THP, hugetlb, shared memfd) on their own fds
 * and on fds shared by all, while
 *   - a mutator munmaps, re-maps, mprotects and MADV_DONTNEEDs those ranges,
 *   - a forker forks children that try the inherited fds (-EACCES) and exit,
 *   - a churner replaces the shared fds under the pinners (dup, dup2, close:
 *     the old file is released with its pins while ioctls may be in flight)
 *     and closes fresh fds that still hold pins,
 *   - a drainer polls the shared fds and reads their invalidation records.
 * Each pinner also reads the records of its own fd (it alone pins and
 * unpins there, so the check is exact): a record only for a pin it holds,
 * at most one per pin, never beyond the event page's seq; at the end, after
 * a last drain, GET_INVALIDATED lists exactly the pins it got a record for.
 * Every call must succeed or fail with an errno the ABI documents for that
 * situation; at the end every counter balances: no FOLL_PIN page is
 * outstanding, VmPin and the module's live pins are back where they were.
 * Run it under lockdep and KASAN (the debug kernel) to make races visible.
 *
 * With $VTOP_TEST_PCI (a device bound to uio_pci_generic or vfio-pci), one
 * pinner and half the churned fds are ATTACHed: their pins are DMA-mapped.
 *
 * Environment: VTOP_STRESS_SECONDS (1..3600), VTOP_STRESS_SEED, VTOP_TEST_PCI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		(21 << 26)
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define VTOP_STATS	"/sys/kernel/debug/vtop/stats"
#define NR_ARENAS	6
#define ARENA_LEN	(4UL << 20)
#define NR_SLOTS	3	/* fds shared by every pinner */
#define NR_PINNERS	4
#define MAX_LIVE	8	/* pins a pinner holds at once */
#define MAX_PIN_PAGES	64	/* usual pin size; 1 in 16 is a whole arena */
#define MAX_SECONDS	3600

enum arena_kind { A_4K, A_THP, A_HUGETLB, A_MEMFD };

struct arena {
	char *base;
	enum arena_kind kind;
	int memfd;		/* A_MEMFD: backing file */
};

struct live {
	int slot;		/* -1: the pinner's own fd */
	uint64_t handle;
	uint64_t len;
	bool ev;		/* own fd: its record was read */
};

static struct {
	struct arena arena[NR_ARENAS];
	/* $VTOP_TEST_PCI, if set: fds attached to it pin in IOVA mode */
	bool have_dev;
	struct vtop_attach dev;
	atomic_ulong attached;
	int slot_fd[NR_SLOTS];
	atomic_bool go, stop;
	/* outcome counters */
	atomic_ulong pins, pin_fail, unpins, get_segs, forks, churns, mutations;
	atomic_ulong events, shared_events, get_inv;
	atomic_ulong bad;
	pthread_mutex_t bad_lock;
	char bad_msg[256];
} st;

/* record an unexpected result; the test fails at the end */
static void bad(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&st.bad, 1) == 0) {
		pthread_mutex_lock(&st.bad_lock);
		va_start(ap, fmt);
		vsnprintf(st.bad_msg, sizeof(st.bad_msg), fmt, ap);
		va_end(ap);
		pthread_mutex_unlock(&st.bad_lock);
	}
}

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static size_t arena_granule(const struct arena *a)
{
	return a->kind == A_HUGETLB ? VT_HPAGE_SIZE : VT_PAGE_SIZE;
}

/*
 * (Re)map [off, off + len) of arena @a at its fixed place, into a hole or,
 * with @replace, over what is there (MAP_FIXED). Returns 0 or -errno; a hugetlb range whose pool is exhausted (its old pages still
 * pinned) is mapped with 4 KiB pages instead.
 */
static int arena_map(struct arena *a, size_t off, size_t len, bool replace)
{
	int fixed = replace ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | fixed;
	char *want = a->base + off, *p;

	switch (a->kind) {
	case A_HUGETLB:
		p = mmap(want, len, prot, flags | MAP_HUGETLB | MAP_HUGE_2MB,
			 -1, 0);
		if (p == MAP_FAILED && errno == ENOMEM)
			p = mmap(want, len, prot, flags, -1, 0);
		break;
	case A_MEMFD:
		p = mmap(want, len, prot, MAP_SHARED | fixed, a->memfd, off);
		break;
	default:
		p = mmap(want, len, prot, flags, -1, 0);
		if (p != MAP_FAILED)
			madvise(p, len, a->kind == A_THP ? MADV_HUGEPAGE :
				MADV_NOHUGEPAGE);
		break;
	}
	if (p == MAP_FAILED)
		return -errno;
	if (p != want) {
		/* a kernel without MAP_FIXED_NOREPLACE put it elsewhere */
		munmap(p, len);
		return -EEXIST;
	}
	return 0;
}

static int arenas_create(bool hugetlb)
{
	static const enum arena_kind kinds[NR_ARENAS] = {
		A_4K, A_THP, A_HUGETLB, A_MEMFD, A_4K, A_THP,
	};
	char *resv;
	int i, ret;

	/* one 2 MiB-aligned reservation, then each arena mapped into it */
	resv = mmap(NULL, (NR_ARENAS + 1) * ARENA_LEN, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return -errno;
	resv = (char *)(((uintptr_t)resv + VT_HPAGE_SIZE - 1) &
			~(uintptr_t)(VT_HPAGE_SIZE - 1));
	for (i = 0; i < NR_ARENAS; i++) {
		struct arena *a = &st.arena[i];

		a->base = resv + i * ARENA_LEN;
		a->kind = kinds[i];
		a->memfd = -1;
		if (a->kind == A_HUGETLB && !hugetlb)
			a->kind = A_4K;
		if (a->kind == A_MEMFD) {
			a->memfd = memfd_create("vtop-stress", MFD_CLOEXEC);
			if (a->memfd < 0 || ftruncate(a->memfd, ARENA_LEN))
				return -errno;
		}
		if (munmap(a->base, ARENA_LEN))
			return -errno;
		ret = arena_map(a, 0, ARENA_LEN, false);
		if (ret)
			return ret;
		memset(a->base, i, ARENA_LEN);
	}
	return 0;
}

/* a random page-aligned range of a random arena */
static void pick_range(uint64_t *s, char **addr, size_t *len)
{
	struct arena *a = &st.arena[rnd(s) % NR_ARENAS];
	size_t pages = ARENA_LEN / VT_PAGE_SIZE, off, n;

	if (rnd(s) % 16 == 0) {
		*addr = a->base;
		*len = ARENA_LEN;
		return;
	}
	n = 1 + rnd(s) % MAX_PIN_PAGES;
	off = rnd(s) % (pages - n + 1);
	*addr = a->base + off * VT_PAGE_SIZE;
	*len = n * VT_PAGE_SIZE;
}

/* the segments of a successful PIN cover exactly [addr, addr + len) */
static void check_segs(const struct vtop_segment *segs, uint32_t nr,
		       const char *addr, size_t len)
{
	uint64_t next = (uintptr_t)addr;
	uint32_t i;

	for (i = 0; i < nr; i++) {
		if (segs[i].vaddr != next || !segs[i].len ||
		    segs[i].len % VT_PAGE_SIZE || segs[i].dma_addr % VT_PAGE_SIZE ||
		    segs[i].page_shift < VT_PAGE_SHIFT || segs[i].__reserved) {
			bad("PIN %p+%zu: bad segment %u {0x%llx, 0x%llx, %llu, %u}",
			    addr, len, i, (unsigned long long)segs[i].vaddr,
			    (unsigned long long)segs[i].dma_addr,
			    (unsigned long long)segs[i].len, segs[i].page_shift);
			return;
		}
		next += segs[i].len;
	}
	if (next != (uintptr_t)addr + len)
		bad("PIN %p+%zu: segments cover %llu bytes", addr, len,
		    (unsigned long long)(next - (uintptr_t)addr));
}

/* attach @fd to the test device; any failure but EBUSY is unexpected */
static void maybe_attach(int fd)
{
	struct vtop_attach a = st.dev;
	int ret;

	if (!st.have_dev)
		return;
	ret = vt_ioctl(fd, VTOP_IOC_ATTACH, &a);
	if (ret == 0)
		atomic_fetch_add(&st.attached, 1);
	else
		bad("ATTACH to $VTOP_TEST_PCI: %s", strerror(-ret));
}

/* ---- threads ------------------------------------------------------------ */

/*
 * Every thread exists before any runs: a thread stack mapped later could
 * land in a hole the mutator has just punched into an arena.
 */
static void wait_go(void)
{
	while (!atomic_load(&st.go))
		sched_yield();
}

struct pinner {
	pthread_t tid;
	int fd;
	struct vtop_event_page *page;	/* of @fd */
	uint64_t seed;
	struct live live[MAX_LIVE];
	int nr_live;
	struct vtop_segment *segs;
	uint32_t cap;
};

static int pinner_fd(struct pinner *p, int slot)
{
	return slot < 0 ? p->fd : st.slot_fd[slot];
}

/* UNPIN or GET_SEGS on a handle: own fd must succeed, a slot may be gone */
static void expect_handle_op(int ret, int slot, const char *op)
{
	if (ret == 0 || (slot >= 0 && ret == -ENOENT))
		return;
	bad("%s on %s fd: %s", op, slot < 0 ? "own" : "shared",
	    strerror(-ret));
}

static void pinner_unpin(struct pinner *p, int i)
{
	struct live *l = &p->live[i];

	expect_handle_op(vt_unpin(pinner_fd(p, l->slot), l->handle), l->slot,
			 "UNPIN");
	atomic_fetch_add(&st.unpins, 1);
	p->live[i] = p->live[--p->nr_live];
}

/* a record's fields are well formed */
static bool event_sane(const struct vtop_event *e)
{
	if (e->size != sizeof(*e) || !e->seq || e->__reserved)
		return false;
	if (e->reason == VTOP_EVENT_OVERFLOW)
		return !e->handle && !e->vaddr && !e->length;
	return (e->reason == VTOP_EVENT_UNMAP ||
		e->reason == VTOP_EVENT_CLEAR ||
		e->reason == VTOP_EVENT_OTHER) && e->handle && e->length &&
	       !(e->vaddr % VT_PAGE_SIZE) && !(e->length % VT_PAGE_SIZE);
}

/*
 * Read every record queued on the pinner's own fd: each is for a pin it
 * holds there (UNPIN removes a pin's queued record, and only this thread
 * unpins on this fd), the first for that pin, and not beyond the page's
 * seq. No overflow: the queue holds far more than MAX_LIVE.
 */
static void pinner_drain(struct pinner *p)
{
	struct vtop_event e[MAX_LIVE];
	long n, i;
	int k;

	for (;;) {
		n = vt_read_events(p->fd, e, MAX_LIVE);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			bad("read own fd: %s", strerror(-n));
			return;
		}
		for (i = 0; i < n; i++) {
			atomic_fetch_add(&st.events, 1);
			if (!event_sane(&e[i]) ||
			    e[i].reason == VTOP_EVENT_OVERFLOW) {
				bad("own fd: bad record reason %u handle 0x%llx",
				    e[i].reason,
				    (unsigned long long)e[i].handle);
				continue;
			}
			if (e[i].seq >
			    __atomic_load_n(&p->page->seq, __ATOMIC_ACQUIRE))
				bad("record seq %llu beyond the page's",
				    (unsigned long long)e[i].seq);
			for (k = 0; k < p->nr_live; k++)
				if (p->live[k].slot < 0 &&
				    p->live[k].handle == e[i].handle)
					break;
			if (k == p->nr_live)
				bad("record for handle 0x%llx, not a live pin of this fd",
				    (unsigned long long)e[i].handle);
			else if (p->live[k].ev)
				bad("second record for handle 0x%llx",
				    (unsigned long long)e[i].handle);
			else
				p->live[k].ev = true;
		}
	}
}

/*
 * GET_INVALIDATED between two drains. The mutator runs on, so: a pin whose
 * record was read before the list was taken is in it; a pin in the list
 * had its record queued then, so the drain after it reads it.
 */
static void pinner_check_invalidated(struct pinner *p)
{
	uint64_t h[MAX_LIVE + 1], seq;
	uint32_t nr = MAX_LIVE + 1, j;
	bool before[MAX_LIVE];
	int ret, k, own = 0, listed;

	pinner_drain(p);
	for (k = 0; k < p->nr_live; k++)
		before[k] = p->live[k].ev;
	ret = vt_get_invalidated(p->fd, h, &nr, &seq);
	atomic_fetch_add(&st.get_inv, 1);
	if (ret) {
		bad("GET_INVALIDATED: %s", strerror(-ret));
		return;
	}
	pinner_drain(p);
	for (k = 0; k < p->nr_live; k++) {
		if (p->live[k].slot >= 0)
			continue;
		own++;
		listed = 0;
		for (j = 0; j < nr; j++)
			listed += h[j] == p->live[k].handle;
		if (listed > 1 || (before[k] && !listed) ||
		    (listed && !p->live[k].ev))
			bad("pin 0x%llx: record read %d before the list, %d after; listed %d times",
			    (unsigned long long)p->live[k].handle, before[k],
			    p->live[k].ev, listed);
	}
	if ((int)nr > own)
		bad("GET_INVALIDATED: %u handles, %d live pins", nr, own);
}

static void *pinner_main(void *arg)
{
	struct pinner *p = arg;

	wait_go();

	while (!atomic_load(&st.stop)) {
		uint64_t r = rnd(&p->seed) % 8, handle;
		int slot, ret;
		uint32_t nr;
		size_t len;
		char *addr;

		if (p->nr_live == MAX_LIVE || (p->nr_live && r < 3)) {
			pinner_unpin(p, rnd(&p->seed) % p->nr_live);
			continue;
		}
		if (r == 7 && rnd(&p->seed) % 2) {
			pinner_check_invalidated(p);
			continue;
		}
		if (p->nr_live && r == 3) {
			struct live *l = &p->live[rnd(&p->seed) % p->nr_live];
			uint64_t pages = l->len / VT_PAGE_SIZE;
			uint64_t off = rnd(&p->seed) % pages;
			uint64_t n = 1 + rnd(&p->seed) % (pages - off);

			nr = p->cap;
			ret = vt_get_segs(pinner_fd(p, l->slot), l->handle,
					  off * VT_PAGE_SIZE, n * VT_PAGE_SIZE,
					  p->segs, &nr);
			expect_handle_op(ret, l->slot, "GET_SEGS");
			atomic_fetch_add(&st.get_segs, 1);
			continue;
		}

		pick_range(&p->seed, &addr, &len);
		slot = rnd(&p->seed) % 2 ? -1 : (int)(rnd(&p->seed) % NR_SLOTS);
		nr = p->cap;
		ret = vt_pin(pinner_fd(p, slot), addr, len,
			     rnd(&p->seed) % 4 ? 0 : VTOP_PIN_READONLY,
			     p->segs, &nr, &handle);
		atomic_fetch_add(&st.pins, 1);
		if (ret == 0) {
			check_segs(p->segs, nr, addr, len);
			p->live[p->nr_live++] = (struct live){
				.slot = slot, .handle = handle, .len = len,
			};
			/* a shared fd's records are the drainer's */
		} else if (ret == -EFAULT || ret == -ENOMEM) {
			/* unmapped, PROT_NONE or read-only under our feet */
			atomic_fetch_add(&st.pin_fail, 1);
		} else {
			bad("PIN %p+%zu: %s", addr, len, strerror(-ret));
		}
	}
	pinner_check_invalidated(p);
	while (p->nr_live)
		pinner_unpin(p, p->nr_live - 1);
	return NULL;
}

/* polls the shared fds and reads their records (well formed, no more) */
static void *drainer_main(void *arg)
{
	struct vtop_event e[16];
	struct pollfd pfd[NR_SLOTS];
	long n, i;
	int k;

	(void)arg;
	wait_go();

	while (!atomic_load(&st.stop)) {
		for (k = 0; k < NR_SLOTS; k++)
			pfd[k] = (struct pollfd){
				.fd = st.slot_fd[k], .events = POLLIN,
			};
		if (poll(pfd, NR_SLOTS, 10) < 0) {
			bad("poll: %s", strerror(errno));
			break;
		}
		for (k = 0; k < NR_SLOTS; k++) {
			if (pfd[k].revents & ~(POLLIN | POLLRDNORM))
				bad("poll shared fd: revents 0x%x",
				    pfd[k].revents);
			/* the fd may have been replaced since: O_NONBLOCK */
			n = vt_read_events(st.slot_fd[k], e, 16);
			if (n == -EAGAIN)
				continue;
			if (n <= 0) {
				bad("read shared fd: %s", strerror(-n));
				continue;
			}
			for (i = 0; i < n; i++)
				if (!event_sane(&e[i]))
					bad("shared fd: bad record");
			atomic_fetch_add(&st.shared_events, n);
		}
	}
	return NULL;
}

static void *mutator_main(void *arg)
{
	uint64_t seed = *(uint64_t *)arg;

	wait_go();

	while (!atomic_load(&st.stop)) {
		struct arena *a = &st.arena[rnd(&seed) % NR_ARENAS];
		size_t g = arena_granule(a), units = ARENA_LEN / g;
		size_t n = 1 + rnd(&seed) % (units > 4 ? units / 4 : 1);
		size_t off = (rnd(&seed) % (units - n + 1)) * g;
		int ret;

		n *= g;
		switch (rnd(&seed) % 5) {
		case 4:
			/* replace in place: an implicit munmap */
			ret = arena_map(a, off, n, true);
			if (ret)
				bad("mmap MAP_FIXED: %s", strerror(-ret));
			break;
		case 0:
			if (munmap(a->base + off, n))
				bad("munmap: %s", strerror(errno));
			ret = arena_map(a, off, n, false);
			if (ret)
				bad("re-mmap after munmap: %s", strerror(-ret));
			break;
		case 1:
			mprotect(a->base + off, n, PROT_READ);
			usleep(200);
			mprotect(a->base + off, n, PROT_READ | PROT_WRITE);
			break;
		case 2:
			mprotect(a->base + off, n, PROT_NONE);
			usleep(200);
			mprotect(a->base + off, n, PROT_READ | PROT_WRITE);
			break;
		case 3:
			madvise(a->base + off, n, MADV_DONTNEED);
			break;
		}
		atomic_fetch_add(&st.mutations, 1);
		usleep(100);
	}
	return NULL;
}

static void *forker_main(void *arg)
{
	int own_fd = *(int *)arg;

	wait_go();

	while (!atomic_load(&st.stop)) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			bad("fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			/* async-signal-safe only: ioctl, close, _exit */
			struct vtop_info info = { .size = sizeof(info) };
			int rc = 0;

			if (ioctl(own_fd, VTOP_IOC_INFO, &info) != -1 ||
			    errno != EACCES)
				rc = 1;
			if (ioctl(st.slot_fd[0], VTOP_IOC_INFO, &info) != -1 ||
			    errno != EACCES)
				rc = 1;
			close(st.slot_fd[1]);
			_exit(rc);
		}
		if (waitpid(pid, &status, 0) != pid)
			bad("waitpid: %s", strerror(errno));
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad("forked child: ioctl on an inherited fd was not refused with EACCES");
		atomic_fetch_add(&st.forks, 1);
		usleep(20000);
	}
	return NULL;
}

static void *churner_main(void *arg)
{
	uint64_t seed = *(uint64_t *)arg;
	struct vtop_segment segs[MAX_PIN_PAGES + 1];

	wait_go();

	while (!atomic_load(&st.stop)) {
		int slot = rnd(&seed) % NR_SLOTS, fd, dfd, i;

		fd = vt_open();
		if (fd < 0) {
			bad("open: %s", strerror(-fd));
			break;
		}
		/* it may replace a shared fd: the drainer must not block */
		if (fcntl(fd, F_SETFL, O_NONBLOCK))
			bad("fcntl: %s", strerror(errno));
		/* half the fresh fds go away attached, with mapped pins */
		if (rnd(&seed) % 2)
			maybe_attach(fd);
		/* a few pins the release will have to drop */
		for (i = 0; i < 3; i++) {
			uint32_t nr = MAX_PIN_PAGES + 1;
			size_t len;
			char *addr;
			int ret;

			pick_range(&seed, &addr, &len);
			if (len > MAX_PIN_PAGES * VT_PAGE_SIZE)
				len = MAX_PIN_PAGES * VT_PAGE_SIZE;
			ret = vt_pin(fd, addr, len, 0, segs, &nr, NULL);
			if (ret && ret != -EFAULT && ret != -ENOMEM)
				bad("churn PIN: %s", strerror(-ret));
		}
		dfd = dup(fd);
		if (dfd < 0) {
			bad("dup: %s", strerror(errno));
			close(fd);
			break;
		}
		close(fd);
		if (rnd(&seed) % 2) {
			/* swap it in for a shared fd: the old file goes */
			if (dup2(dfd, st.slot_fd[slot]) < 0)
				bad("dup2: %s", strerror(errno));
		}
		close(dfd);
		atomic_fetch_add(&st.churns, 1);
		usleep(2000);
	}
	return NULL;
}

/* ---- the test ------------------------------------------------------------ */

static int64_t module_live_pins(void)
{
	char buf[1024], *p;

	if (vt_read_file(VTOP_STATS, buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "live_pins ");
	return p ? strtoll(p + 10, NULL, 10) : -1;
}

static bool hugetlb_available(void)
{
	void *p = mmap(NULL, VT_HPAGE_SIZE * 2, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
		       -1, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, VT_HPAGE_SIZE * 2);
	return true;
}

FIXTURE(stress) {
	int fd;
};

FIXTURE_SETUP(stress)
{
	self->fd = -1;
	VT_OPEN_OR_SKIP(self->fd);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* generous: the test watches its own time (alarm) */
TEST_F_TIMEOUT(stress, mixed, MAX_SECONDS + 600)
{
	struct pinner pinners[NR_PINNERS];
	pthread_t mutator, forker, churner, drainer;
	uint64_t seed, mseed, cseed;
	struct vtop_info info;
	struct vt_snap base;
	int64_t base_live;
	const char *env;
	long seconds = 5;
	int i;

	env = getenv("VTOP_STRESS_SECONDS");
	if (env && *env)
		seconds = strtol(env, NULL, 10);
	ASSERT_TRUE(seconds >= 1 && seconds <= MAX_SECONDS)
		TH_LOG("VTOP_STRESS_SECONDS=%s: 1..%d", env, MAX_SECONDS);
	env = getenv("VTOP_TEST_PCI");
	if (env && *env) {
		unsigned int d, b, sl, fn;

		ASSERT_EQ(4, sscanf(env, "%x:%x:%x.%x", &d, &b, &sl, &fn))
			TH_LOG("VTOP_TEST_PCI=%s: want dddd:bb:ss.f", env);
		st.have_dev = true;
		st.dev = (struct vtop_attach){
			.size = sizeof(st.dev), .pci_domain = d,
			.pci_bdf = b << 8 | sl << 3 | fn,
		};
	}
	env = getenv("VTOP_STRESS_SEED");
	seed = env && *env ? strtoull(env, NULL, 0) :
	       (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	if (!seed)
		seed = 1;

	pthread_mutex_init(&st.bad_lock, NULL);
	ASSERT_EQ(0, vt_snap(&base));
	base_live = module_live_pins();

	ASSERT_EQ(0, arenas_create(hugetlb_available()));
	for (i = 0; i < NR_SLOTS; i++) {
		st.slot_fd[i] = vt_open();
		ASSERT_LE(0, st.slot_fd[i]);
		ASSERT_EQ(0, fcntl(st.slot_fd[i], F_SETFL, O_NONBLOCK));
	}
	ksft_print_msg("stress: %ld s, seed 0x%llx, %d pinners, arenas: 4k thp %s memfd 4k thp\n",
		       seconds, (unsigned long long)seed, NR_PINNERS,
		       st.arena[2].kind == A_HUGETLB ? "hugetlb" : "4k");

	/* a hang fails the test instead of eating the runner's time-out */
	alarm(seconds + 240);

	for (i = 0; i < NR_PINNERS; i++) {
		struct pinner *p = &pinners[i];

		memset(p, 0, sizeof(*p));
		p->seed = rnd(&seed) | 1;
		p->fd = vt_open();
		ASSERT_LE(0, p->fd);
		ASSERT_EQ(0, fcntl(p->fd, F_SETFL, O_NONBLOCK));
		p->page = mmap(NULL, VT_PAGE_SIZE, PROT_READ, MAP_SHARED,
			       p->fd, 0);
		ASSERT_NE(MAP_FAILED, p->page);
		if (i == 0)
			maybe_attach(p->fd);	/* one pinner in IOVA mode */
		p->cap = ARENA_LEN / VT_PAGE_SIZE + 1;
		p->segs = calloc(p->cap, sizeof(*p->segs));
		ASSERT_NE(NULL, p->segs);
		ASSERT_EQ(0, pthread_create(&p->tid, NULL, pinner_main, p));
	}
	mseed = rnd(&seed) | 1;
	cseed = rnd(&seed) | 1;
	ASSERT_EQ(0, pthread_create(&mutator, NULL, mutator_main, &mseed));
	ASSERT_EQ(0, pthread_create(&forker, NULL, forker_main,
				    &pinners[0].fd));
	ASSERT_EQ(0, pthread_create(&churner, NULL, churner_main, &cseed));
	ASSERT_EQ(0, pthread_create(&drainer, NULL, drainer_main, NULL));
	atomic_store(&st.go, true);

	sleep(seconds);
	atomic_store(&st.stop, true);
	for (i = 0; i < NR_PINNERS; i++)
		pthread_join(pinners[i].tid, NULL);
	pthread_join(mutator, NULL);
	pthread_join(forker, NULL);
	pthread_join(churner, NULL);
	pthread_join(drainer, NULL);
	alarm(0);

	ksft_print_msg("stress: %lu PIN (%lu refused: EFAULT/ENOMEM), %lu UNPIN, %lu GET_SEGS, %lu forks, %lu fd churns, %lu mapping changes, %lu fds attached\n",
		       atomic_load(&st.pins), atomic_load(&st.pin_fail),
		       atomic_load(&st.unpins), atomic_load(&st.get_segs),
		       atomic_load(&st.forks), atomic_load(&st.churns),
		       atomic_load(&st.mutations), atomic_load(&st.attached));
	ksft_print_msg("stress: %lu records read on own fds, %lu on shared fds, %lu GET_INVALIDATED\n",
		       atomic_load(&st.events), atomic_load(&st.shared_events),
		       atomic_load(&st.get_inv));
	EXPECT_LT(0UL, atomic_load(&st.events))
		TH_LOG("no invalidation record read: the mutator never hit a pin?");
	EXPECT_EQ(0UL, atomic_load(&st.bad))
		TH_LOG("%lu unexpected results, first: %s",
		       atomic_load(&st.bad), st.bad_msg);
	EXPECT_LT(0UL, atomic_load(&st.pins) - atomic_load(&st.pin_fail))
		TH_LOG("no PIN succeeded");

	/* everything the pinners hold is unpinned; the shared files go now */
	ASSERT_EQ(0, vt_info(pinners[1].fd, &info));
	EXPECT_EQ(0U, info.nr_pins);
	EXPECT_EQ(0ULL, info.pinned_bytes);
	for (i = 0; i < NR_SLOTS; i++)
		close(st.slot_fd[i]);
	for (i = 0; i < NR_PINNERS; i++) {
		ASSERT_EQ(0, vt_info(pinners[i].fd, &info));
		EXPECT_EQ(0U, info.nr_invalidated);
		EXPECT_EQ(0U, info.nr_queued_events);
		munmap(pinners[i].page, VT_PAGE_SIZE);
		close(pinners[i].fd);
		free(pinners[i].segs);
	}

	VT_EXPECT_NO_LEAK(base);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(0U, info.nr_pins);
	EXPECT_EQ(base.vmpin_kb * 1024, info.mm_pinned_bytes);
	if (base_live >= 0)
		EXPECT_EQ(base_live, module_live_pins());
}

TEST_HARNESS_MAIN
