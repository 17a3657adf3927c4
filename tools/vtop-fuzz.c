// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-fuzz: random ioctls against /dev/vtop, checked against the ABI.
 *
 *   vtop-fuzz [-n ITERATIONS] [-s SEED] [-v]
 *
 * Each iteration sends one command: a valid or random command number, a
 * struct whose size, flags, reserved fields, addresses, lengths, segment
 * pointers and handles are drawn from dictionaries of good and bad values
 * (unaligned, zero, wrapping, beyond the user address space, kernel and
 * non-canonical addresses, unmapped, PROT_NONE and read-only ranges, a hole
 * halfway, secret memory, a struct straddling into an unmapped page or lying
 * in a read-only one, a too-small segment array), on one of two fds.
 *
 * The result must be success or an errno the header documents for that
 * command; where the ABI fixes the outcome (an unreadable argument, a size
 * below the struct's, a non-zero tail, bad flags, an unaligned range, a
 * handle that is or is not live, a good pin) it must be exactly that. A
 * model of the live pins checks INFO after every call and every UNPIN. At
 * the end every pin is released, and the FOLL_PIN, VmPin, pinned_vm and
 * module counters are back where they started.
 *
 * Invalidation events: now and then a page of the 4 KiB or memfd region is
 * zapped (MADV_DONTNEED) or unmapped and mapped again, which invalidates
 * every live pin over it on both fds; the model knows which, with which
 * reason, and what each fd's queue, seq and invalidated list hold. read()
 * (buffer sizes and pointers from a dictionary, the fds O_NONBLOCK), poll(),
 * mmap() of the event page (offsets, lengths, protections, flags) and
 * GET_INVALIDATED are drawn too, and each outcome is checked exactly: the
 * records, their order and seqs, -EINVAL, -EAGAIN, -EFAULT consuming
 * nothing, the -ENOBUFS count, the page's contents, POLLIN exactly when a
 * record is queued. INFO's event counters are checked after every call.
 *
 * Defaults: ITERATIONS from $VTOP_FUZZ_ITERATIONS (else 10000), SEED from
 * $VTOP_FUZZ_SEED (else time and pid); both are printed, so that a failure
 * is replayed with -s SEED -n N. Exit status: 0, 1 on a violation, 2 on a
 * usage error, 4 (skip) when the module is not loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vtop_test_util.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif

#define PAGE		VT_PAGE_SIZE
#define HPAGE		VT_HPAGE_SIZE
#define NR_FDS		2
#define MAX_LIVE	48
#define MAX_LIVE_BYTES	(48UL << 20)
#define SEG_CAP		2048		/* entries in the segment buffer */
#define KSFT_SKIP	4

/* what each command number is, for the errno sets */
enum cmd {
	C_INFO, C_PIN, C_UNPIN, C_GET_SEGS, C_ATTACH, C_DETACH, C_GET_INV,
	C_UNKNOWN,
	/* not ioctls */
	C_READ, C_POLL, C_MMAP, C_INVAL,
	C_NR,
};

static const char *const cmd_name[C_NR] = {
	"INFO", "PIN", "UNPIN", "GET_SEGS", "ATTACH", "DETACH", "GET_INV",
	"unknown", "read", "poll", "mmap", "invalidate",
};

/* errnos the header documents per command (beyond the common ones) */
static const int common_errnos[] = { EFAULT, EINVAL, E2BIG };
static const int pin_errnos[] = {
	EOPNOTSUPP, ENOBUFS, ENOMEM, ENOSPC, EINTR, EIO, EOVERFLOW,
};
static const int unpin_errnos[] = { ENOENT };
static const int get_segs_errnos[] = { ENOENT, ENOBUFS };
static const int attach_errnos[] = { EBUSY, ENODEV, EPERM };
static const int detach_errnos[] = { EBUSY, ENXIO };
static const int get_inv_errnos[] = { ENOBUFS };

/* ---- memory the fuzzer points at ------------------------------------------ */

enum region {
	R_4K, R_THP, R_HUGETLB, R_MEMFD,	/* pinnable read-write */
	R_RO,					/* PROT_READ, touched */
	R_NONE,					/* PROT_NONE */
	R_HOLE,					/* unmapped */
	R_HALF,					/* 1 page mapped, then a hole */
	R_SECRET,				/* memfd_secret */
	R_NR,
};

static const char *const region_name[R_NR] = {
	"4k", "thp", "hugetlb", "memfd", "ro", "none", "hole", "half",
	"secret",
};

static struct {
	char *base;
	size_t len;
	bool ok;	/* the region exists on this kernel */
} region[R_NR];

/* argument pages: [argbuf][guard, unmapped]; argro read-only */
static char *argbuf, *argro;
static struct vtop_segment *segbuf;
static char *segro;

/* ---- the model ---------------------------------------------------------- */

struct live {
	int fd;			/* index into fds[] */
	uint64_t handle;
	uint64_t vaddr, len;
	uint32_t reason;	/* VTOP_EVENT_* once invalidated, else 0 */
	uint64_t op;		/* the invalidating operation */
	bool queued;		/* its record is queued */
};

/* per fd: what the event channel holds */
struct evmodel {
	uint64_t seq;		/* invalidations so far */
	uint64_t last_read;	/* seq of the last record read */
	uint64_t last_op;	/* op of the last record read */
	unsigned int queued;
	unsigned int invalidated;
	uint64_t inv_bytes;
};

static int fds[NR_FDS];
static struct evmodel evm[NR_FDS];
static uint64_t nr_ops;		/* invalidating operations so far */
static bool have_events;
static struct live live[MAX_LIVE];
static int nr_live;
static uint64_t live_bytes;
static uint64_t stale[16];	/* recently unpinned handles */
static int nr_stale;
static bool have_attach;
/* $VTOP_TEST_PCI: a device ATTACH may really attach to */
static bool have_dev;
static uint32_t dev_domain, dev_bdf;

static uint64_t seed_state;
/*
 * Half the iterations are "sane": a valid argument throughout but for the
 * command-specific choice (which region, which handle), so that pins pile
 * up and GET_SEGS and UNPIN meet live handles; the rest draw every field
 * from its dictionary of good and bad values.
 */
static bool sane;
static unsigned long iter;
static int verbose;

/* statistics: [command][0: success, 1..: errno] */
static unsigned long stat_ok[C_NR], stat_err[C_NR];

static uint64_t rnd(void)
{
	uint64_t *s = &seed_state;

	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[rnd() % n];
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("# FAIL at iteration %lu: ", iter);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nnot ok 1 vtop-fuzz\n");
	fflush(stdout);
	exit(1);
}

static bool in_set(int e, const int *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == e)
			return true;
	return false;
}

static bool documented(enum cmd c, int e)
{
#define IN(a) in_set(e, a, sizeof(a) / sizeof(a[0]))
	if (c == C_UNKNOWN)
		return e == ENOTTY;
	if (!have_attach && (c == C_ATTACH || c == C_DETACH))
		return e == ENOTTY;
	if (IN(common_errnos))
		return true;
	switch (c) {
	case C_PIN: return IN(pin_errnos);
	case C_UNPIN: return IN(unpin_errnos);
	case C_GET_SEGS: return IN(get_segs_errnos);
	case C_ATTACH: return IN(attach_errnos);
	case C_DETACH: return IN(detach_errnos);
	case C_GET_INV: return IN(get_inv_errnos);
	default: return false;
	}
#undef IN
}

static struct live *find_live(int fd, uint64_t handle)
{
	int i;

	for (i = 0; i < nr_live; i++)
		if (live[i].fd == fd && live[i].handle == handle)
			return &live[i];
	return NULL;
}

static void drop_live(struct live *l)
{
	struct evmodel *m = &evm[l->fd];

	/* UNPIN removes the pin's queued record and its invalidated mark */
	if (l->queued)
		m->queued--;
	if (l->reason) {
		m->invalidated--;
		m->inv_bytes -= l->len;
	}
	stale[nr_stale++ % 16] = l->handle;
	live_bytes -= l->len;
	*l = live[--nr_live];
}

/* ---- set-up ------------------------------------------------------------- */

static char *map(size_t len, int prot, int flags)
{
	char *p = mmap(NULL, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void touch(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		p[i] = (char)i;
}

static int setup_regions(void)
{
	char *p;
	int fd;

	/* 4 KiB pages */
	region[R_4K].len = 256 * PAGE;
	p = map(region[R_4K].len, PROT_READ | PROT_WRITE, 0);
	if (!p)
		return -errno;
	madvise(p, region[R_4K].len, MADV_NOHUGEPAGE);
	touch(p, region[R_4K].len);
	region[R_4K].base = p;

	/* THP: 2 MiB aligned, MADV_HUGEPAGE */
	region[R_THP].len = 2 * HPAGE;
	p = map(3 * HPAGE, PROT_READ | PROT_WRITE, 0);
	if (!p)
		return -errno;
	p = (char *)(((uintptr_t)p + HPAGE - 1) & ~(uintptr_t)(HPAGE - 1));
	madvise(p, region[R_THP].len, MADV_HUGEPAGE);
	touch(p, region[R_THP].len);
	region[R_THP].base = p;

	region[R_HUGETLB].len = 2 * HPAGE;
	p = map(region[R_HUGETLB].len, PROT_READ | PROT_WRITE,
		MAP_HUGETLB | MAP_HUGE_2MB);
	if (p) {
		touch(p, region[R_HUGETLB].len);
		region[R_HUGETLB].base = p;
	}

	region[R_MEMFD].len = 64 * PAGE;
	fd = memfd_create("vtop-fuzz", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, region[R_MEMFD].len))
		return -errno;
	p = mmap(NULL, region[R_MEMFD].len, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	touch(p, region[R_MEMFD].len);
	region[R_MEMFD].base = p;

	region[R_RO].len = 16 * PAGE;
	p = map(region[R_RO].len, PROT_READ | PROT_WRITE, 0);
	if (!p)
		return -errno;
	touch(p, region[R_RO].len);
	if (mprotect(p, region[R_RO].len, PROT_READ))
		return -errno;
	region[R_RO].base = p;

	region[R_NONE].len = 16 * PAGE;
	region[R_NONE].base = map(region[R_NONE].len, PROT_NONE, 0);
	if (!region[R_NONE].base)
		return -errno;

#ifdef SYS_memfd_secret
	fd = syscall(SYS_memfd_secret, 0);
	if (fd >= 0) {
		region[R_SECRET].len = 4 * PAGE;
		if (!ftruncate(fd, region[R_SECRET].len)) {
			p = mmap(NULL, region[R_SECRET].len,
				 PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p != MAP_FAILED) {
				touch(p, region[R_SECRET].len);
				region[R_SECRET].base = p;
			}
		}
		close(fd);
	}
#endif

	/* a struct can straddle from argbuf into the PROT_NONE page after it */
	p = map(2 * PAGE, PROT_READ | PROT_WRITE, 0);
	if (!p || mprotect(p + PAGE, PAGE, PROT_NONE))
		return -errno;
	argbuf = p;
	/* read-only from the start: ev_buf() may hand it to read() first */
	argro = map(PAGE, PROT_READ, 0);
	segbuf = (struct vtop_segment *)map(SEG_CAP * sizeof(*segbuf) + PAGE,
					   PROT_READ | PROT_WRITE, 0);
	segro = map(PAGE, PROT_READ, 0);
	if (!argro || !segbuf || !segro)
		return -errno;

	/*
	 * Holes last, and nothing is mapped after them: a later mmap() would
	 * fill them.
	 */
	p = map(18 * PAGE, PROT_READ | PROT_WRITE, 0);
	if (!p || munmap(p, 16 * PAGE) || munmap(p + 17 * PAGE, PAGE))
		return -errno;
	region[R_HOLE].base = p;
	region[R_HOLE].len = 16 * PAGE;
	region[R_HALF].base = p + 16 * PAGE;
	region[R_HALF].len = 2 * PAGE;
	touch(region[R_HALF].base, PAGE);

	for (int r = 0; r < R_NR; r++)
		region[r].ok = region[r].base != NULL;
	return 0;
}

/* ---- drawing values ----------------------------------------------------- */

#define KERNEL_ADDR	0xffff888000000000ULL
#define KTEXT_ADDR	0xffffffff81000000ULL
#define NONCANON	0x0000800000000000ULL
/* above any user address space, 4- or 5-level */
#define BEYOND_57	0x0100000000000000ULL

enum addr_class { A_GOOD, A_BAD, A_INVALID, A_MAYBE };

/* a PIN range: its class decides the expected outcome */
static enum addr_class draw_range(__u64 *vaddr, __u64 *len,
				  uint32_t *flags, int *reg)
{
	static const int good[] = { R_4K, R_THP, R_HUGETLB, R_MEMFD, R_RO };
	static const uint64_t odd_lens[] = {
		0, 1, PAGE - 1, PAGE + 1, 0xfffffffffffff000ULL,
		1ULL << 40, 1ULL << 47, ~0ULL,
	};
	static const uint64_t odd_addrs[] = {
		0, PAGE, KERNEL_ADDR, KTEXT_ADDR, NONCANON, BEYOND_57,
		0xfffffffffffff000ULL, 0x00007ffffffff000ULL,
	};
	int r;
	uint64_t pages;

	*reg = -1;
	switch (sane ? 9 : rnd() % 10) {
	case 0:	/* odd address, any length */
		*vaddr = pick(odd_addrs, 8);
		*len = rnd() % 2 ? (1 + rnd() % 16) * PAGE : pick(odd_lens, 8);
		if (!*len || *len % PAGE || *vaddr % PAGE ||
		    *vaddr + *len < *vaddr || *vaddr + *len > BEYOND_57)
			return A_INVALID;
		/* NULL page or user hole: EFAULT; a huge one may be ENOMEM */
		if (*vaddr + *len <= 0x00007ffffffff000ULL && *len <= (1ULL << 30))
			return A_BAD;
		return A_MAYBE;		/* EINVAL, or EFAULT under LA57 */
	case 1:	/* good region, odd length or misaligned */
		r = rnd() % R_NR;
		if (!region[r].ok)
			r = R_4K;
		*vaddr = (uintptr_t)region[r].base + (rnd() % 2 ? rnd() % PAGE : 0);
		*len = pick(odd_lens, 8);
		if (!*len || *len % PAGE || *vaddr % PAGE ||
		    *vaddr + *len < *vaddr || *vaddr + *len > BEYOND_57)
			return A_INVALID;
		return A_MAYBE;
	default:
		break;
	}
	r = sane ? good[rnd() % 5] : (int)(rnd() % R_NR);
	if (!region[r].ok)
		r = R_4K;
	if (sane && r == R_RO)
		*flags |= VTOP_PIN_READONLY;
	*reg = r;
	pages = region[r].len / PAGE;
	if (r == R_HALF) {
		*vaddr = (uintptr_t)region[r].base;
		*len = 2 * PAGE;
		return A_BAD;
	}
	{
		uint64_t off = rnd() % pages;
		uint64_t n = 1 + rnd() % (pages - off);

		if (rnd() % 4 == 0) {
			off = 0;
			n = pages;
		}
		*vaddr = (uintptr_t)region[r].base + off * PAGE;
		*len = n * PAGE;
	}
	switch (r) {
	case R_4K: case R_THP: case R_HUGETLB: case R_MEMFD:
		return A_GOOD;
	case R_RO:
		return *flags & VTOP_PIN_READONLY ? A_GOOD : A_BAD;
	default:
		return A_BAD;
	}
}

/* a user pointer for the argument: where it points decides readability */
struct argp {
	char *p;		/* where the struct goes; NULL: not writable */
	uint64_t uptr;		/* the pointer passed */
	size_t readable;	/* bytes readable from uptr (~0: all) */
	size_t avail;		/* bytes from p to the end of its page */
	bool ro;		/* readable, not writable */
};

static void draw_arg(struct argp *a, size_t size)
{
	static const uint64_t bad[] = {
		0, 8, KERNEL_ADDR, KTEXT_ADDR, NONCANON, ~0ULL & ~7ULL,
	};
	size_t room;

	memset(a, 0, sizeof(*a));
	switch (sane ? 15 : rnd() % 16) {
	case 0:
		a->uptr = pick(bad, 6);
		return;
	case 1:
		a->uptr = (uintptr_t)region[R_HOLE].base;
		return;
	case 2:
		a->p = argro;
		a->uptr = (uintptr_t)argro;
		a->readable = size <= PAGE ? ~(size_t)0 : PAGE;
		a->avail = PAGE;
		a->ro = true;
		return;
	case 3:
		/* straddle: the struct ends in the unmapped page */
		room = 1 + rnd() % (size < PAGE ? size + 8 : PAGE);
		if (room > PAGE)
			room = PAGE;
		a->p = argbuf + PAGE - room;
		a->uptr = (uintptr_t)a->p;
		a->readable = room;
		a->avail = room;
		return;
	default:
		/* page start or any byte offset that fits */
		room = size <= PAGE ? PAGE - size : 0;
		a->p = argbuf + (rnd() % 2 && room ? rnd() % (room + 1) : 0);
		a->uptr = (uintptr_t)a->p;
		a->avail = argbuf + PAGE - a->p;
		a->readable = a->avail >= size ? ~(size_t)0 : a->avail;
		return;
	}
}

/* ---- one iteration ------------------------------------------------------- */

union any {
	struct vtop_info info;
	struct vtop_pin pin;
	struct vtop_unpin unpin;
	struct vtop_get_segs gs;
	struct vtop_attach attach;
	struct vtop_detach detach;
	struct vtop_get_invalidated gi;
	unsigned char raw[512];
};

static const struct {
	unsigned long nr;
	size_t size;
} cmds[C_UNKNOWN] = {
	[C_INFO] = { VTOP_IOC_INFO, sizeof(struct vtop_info) },
	[C_PIN] = { VTOP_IOC_PIN, sizeof(struct vtop_pin) },
	[C_UNPIN] = { VTOP_IOC_UNPIN, sizeof(struct vtop_unpin) },
	[C_GET_SEGS] = { VTOP_IOC_GET_SEGS, sizeof(struct vtop_get_segs) },
	[C_ATTACH] = { VTOP_IOC_ATTACH, sizeof(struct vtop_attach) },
	[C_DETACH] = { VTOP_IOC_DETACH, sizeof(struct vtop_detach) },
	[C_GET_INV] = { VTOP_IOC_GET_INVALIDATED,
			sizeof(struct vtop_get_invalidated) },
};

/* a command number that no VFS ioctl intercepts and vtop does not know */
static unsigned long draw_unknown(void)
{
	static const unsigned int vfs_types[] = {
		0x00, 0x15, 0x54, 0x58, 0x66, 0x94,
	};
	unsigned long nr;
	unsigned int i;

	for (;;) {
		if (rnd() % 2) {
			/* vtop's type, another number, direction or size */
			nr = _IOC(rnd() % 4, VTOP_IOCTL_TYPE, rnd() % 256,
				  rnd() % 1024);
		} else {
			nr = (uint32_t)rnd();
		}
		for (i = 0; i < C_UNKNOWN; i++)
			if (nr == cmds[i].nr)
				break;
		if (i < C_UNKNOWN)
			continue;
		for (i = 0; i < sizeof(vfs_types) / sizeof(vfs_types[0]); i++)
			if (_IOC_TYPE(nr) == vfs_types[i])
				break;
		if (i == sizeof(vfs_types) / sizeof(vfs_types[0]))
			return nr;
	}
}

static uint64_t draw_handle(int fd, bool *is_live)
{
	uint64_t h;

	switch (rnd() % 6) {
	case 0: case 1: case 2:
		if (nr_live) {
			struct live *l = &live[rnd() % nr_live];

			h = l->handle;
			break;
		}
		/* fall through */
	case 3:
		h = nr_stale ? stale[rnd() % (nr_stale < 16 ? nr_stale : 16)] :
		    rnd();
		break;
	case 4:
		h = rnd() % 2 ? 0 : ~0ULL;
		break;
	default:
		h = rnd();
		break;
	}
	*is_live = find_live(fd, h) != NULL;
	return h;
}

struct expect {
	int exact;	/* -1: any documented result; else 0 or an errno */
	bool no_success;
	const char *why;
};

static void expect_exact(struct expect *e, int err, const char *why)
{
	if (e->exact < 0 || e->exact == 0) {
		e->exact = err;
		e->why = why;
	}
}

/* the consistency check run after every call */
static void check_info(void)
{
	int f;

	for (f = 0; f < NR_FDS; f++) {
		struct vtop_info info;
		uint64_t n = 0, bytes = 0;
		int i, ret;

		for (i = 0; i < nr_live; i++)
			if (live[i].fd == f) {
				n++;
				bytes += live[i].len;
			}
		ret = vt_info(fds[f], &info);
		if (ret)
			fail("INFO on fd %d: %s", f, strerror(-ret));
		if (info.nr_pins != n || info.pinned_bytes != bytes)
			fail("fd %d: INFO says %u pins, %llu bytes; the model %llu, %llu",
			     f, info.nr_pins,
			     (unsigned long long)info.pinned_bytes,
			     (unsigned long long)n, (unsigned long long)bytes);
		for (i = 0; i < (int)ARRAY_LEN(info.__reserved); i++)
			if (info.__reserved[i])
				fail("INFO reserved[%d] = 0x%llx", i,
				     (unsigned long long)info.__reserved[i]);
		if (info.abi_version != VTOP_ABI_VERSION ||
		    info.page_size != PAGE || info.size != sizeof(info))
			fail("INFO: abi %u, page size %u, size %u",
			     info.abi_version, info.page_size, info.size);
		if (have_events &&
		    (info.nr_invalidated != evm[f].invalidated ||
		     info.invalidated_bytes != evm[f].inv_bytes ||
		     info.nr_queued_events != evm[f].queued))
			fail("fd %d: INFO says %u invalidated (%llu bytes), %u queued; the model %u (%llu), %u",
			     f, info.nr_invalidated,
			     (unsigned long long)info.invalidated_bytes,
			     info.nr_queued_events, evm[f].invalidated,
			     (unsigned long long)evm[f].inv_bytes,
			     evm[f].queued);
	}
}

/* ---- invalidation events ------------------------------------------------ */

/*
 * Invalidate one page of the 4 KiB or memfd region: MADV_DONTNEED (CLEAR)
 * or, for 4 KiB, munmap and map again in place (UNMAP); then write it, so
 * that it can be pinned again. Every live pin over it that was not
 * invalidated yet is now, on each fd, with one record queued.
 */
static void ev_invalidate(void)
{
	int r = rnd() % 2 ? R_4K : R_MEMFD;
	size_t pages = region[r].len / PAGE;
	char *pg = region[r].base + (rnd() % pages) * PAGE;
	uint32_t reason = VTOP_EVENT_CLEAR;
	int i;

	if (r == R_4K && rnd() % 2) {
		reason = VTOP_EVENT_UNMAP;
		if (munmap(pg, PAGE) ||
		    mmap(pg, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != pg)
			fail("re-mapping a page: %s", strerror(errno));
		madvise(pg, PAGE, MADV_NOHUGEPAGE);
	} else if (madvise(pg, PAGE, MADV_DONTNEED)) {
		fail("MADV_DONTNEED: %s", strerror(errno));
	}
	pg[0] = 1;
	nr_ops++;
	for (i = 0; i < nr_live; i++) {
		struct live *l = &live[i];
		struct evmodel *m = &evm[l->fd];

		if (l->reason || l->vaddr >= (uintptr_t)pg + PAGE ||
		    l->vaddr + l->len <= (uintptr_t)pg)
			continue;
		l->reason = reason;
		l->op = nr_ops;
		l->queued = true;
		m->seq++;
		m->queued++;
		m->invalidated++;
		m->inv_bytes += l->len;
	}
	stat_ok[C_INVAL]++;
}

/*
 * Where read() writes: a good buffer, one that ends in the guard page
 * after @avail bytes, a read-only page, or an address that is no buffer.
 * Returns the pointer; *@writable is how many bytes from it can be
 * written.
 */
static char *ev_buf(size_t len, size_t *writable)
{
	/* user addresses: a kernel one fails vfs_read()'s access_ok() */
	static const uint64_t bad[] = { 0, 8 };
	size_t room;

	switch (sane ? 3 : rnd() % 7) {
	case 0:
		*writable = 0;
		return (char *)(uintptr_t)pick(bad, 2);
	case 6:
		*writable = 0;
		return (char *)(uintptr_t)KERNEL_ADDR;
	case 1:
		*writable = 0;
		return argro;
	case 2:
		room = rnd() % (len + 1);
		if (room > PAGE)
			room = PAGE;
		*writable = room;
		return argbuf + PAGE - room;
	default:
		*writable = len;
		return (char *)segbuf;
	}
}

static void ev_read(int f)
{
	static const uint64_t odd[] = { 0, 1, 47, 49, 95, 4096 };
	struct evmodel *m = &evm[f];
	size_t len, writable, room, n, i;
	struct vtop_event e;
	ssize_t ret;
	char *buf;
	int k, err;

	len = sane || rnd() % 2 ? (1 + rnd() % 8) * sizeof(e) : pick(odd, 6);
	buf = ev_buf(len, &writable);
	room = len / sizeof(e);
	n = m->queued < room ? m->queued : room;

	ret = read(fds[f], buf, len);
	err = ret < 0 ? errno : 0;
	if ((uintptr_t)buf == KERNEL_ADDR) {
		/* vfs_read() refuses it before vtop sees the call */
		if (err != EFAULT)
			fail("read into a kernel address: %s, not EFAULT",
			     err ? strerror(err) : "success");
	} else if (!room) {
		if (err != EINVAL)
			fail("read of %zu bytes: %s, not EINVAL", len,
			     err ? strerror(err) : "success");
	} else if (!m->queued) {
		if (err != EAGAIN)
			fail("read with nothing queued: %s, not EAGAIN",
			     err ? strerror(err) : "success");
	} else if (writable < n * sizeof(e)) {
		/* nothing consumed: check_info() compares the queue */
		if (err != EFAULT)
			fail("read of %zu records into %zu writable bytes: %s, not EFAULT",
			     n, writable, err ? strerror(err) : "success");
	} else if (err) {
		fail("read of %zu records: %s", n, strerror(err));
	} else if ((size_t)ret != n * sizeof(e)) {
		fail("read returned %zd bytes, the model %zu records", ret, n);
	}
	if (err) {
		stat_err[C_READ]++;
		return;
	}
	stat_ok[C_READ]++;
	for (i = 0; i < n; i++) {
		memcpy(&e, buf + i * sizeof(e), sizeof(e));
		for (k = 0; k < nr_live; k++)
			if (live[k].fd == f && live[k].handle == e.handle)
				break;
		if (k == nr_live || !live[k].queued)
			fail("record %zu: handle 0x%llx has no queued record in the model",
			     i, (unsigned long long)e.handle);
		if (e.size != sizeof(e) || e.reason != live[k].reason ||
		    e.vaddr != live[k].vaddr || e.length != live[k].len ||
		    e.__reserved)
			fail("record %zu: size %u reason %u range 0x%llx+%llu; the model reason %u range 0x%llx+%llu",
			     i, e.size, e.reason, (unsigned long long)e.vaddr,
			     (unsigned long long)e.length, live[k].reason,
			     (unsigned long long)live[k].vaddr,
			     (unsigned long long)live[k].len);
		/* oldest first: seq increases, ops never go back */
		if (e.seq <= m->last_read || e.seq > m->seq ||
		    live[k].op < m->last_op)
			fail("record %zu: seq %llu after %llu (fd seq %llu), op %llu after %llu",
			     i, (unsigned long long)e.seq,
			     (unsigned long long)m->last_read,
			     (unsigned long long)m->seq,
			     (unsigned long long)live[k].op,
			     (unsigned long long)m->last_op);
		m->last_read = e.seq;
		m->last_op = live[k].op;
		live[k].queued = false;
		m->queued--;
	}
	/* every record of an older operation came first */
	for (k = 0; k < nr_live; k++)
		if (live[k].fd == f && live[k].queued &&
		    live[k].op < m->last_op)
			fail("a record of op %llu is still queued after one of op %llu",
			     (unsigned long long)live[k].op,
			     (unsigned long long)m->last_op);
}

static void ev_poll(int f)
{
	struct pollfd pfd = { .fd = fds[f], .events = POLLIN | POLLRDNORM };
	int ret = poll(&pfd, 1, 0);
	short want = evm[f].queued ? POLLIN | POLLRDNORM : 0;

	if (ret < 0 || pfd.revents != want)
		fail("poll: %d, revents 0x%x, the model 0x%x", ret,
		     pfd.revents, want);
	stat_ok[C_POLL]++;
}

static void ev_mmap(int f)
{
	static const uint64_t offs[] = { 0, 0, 0, PAGE, 2 * PAGE, 1 };
	static const uint64_t lens[] = { PAGE, PAGE, 1, PAGE + 1, 2 * PAGE, 0 };
	static const int prots[] = {
		PROT_READ, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE,
		PROT_READ | PROT_EXEC, PROT_NONE,
	};
	static const int flagv[] = { MAP_SHARED, MAP_SHARED, MAP_PRIVATE };
	int i = sane ? 0 : rnd() % 6, j = sane ? 0 : rnd() % 6;
	int k = sane ? 0 : rnd() % 6, l = sane ? 0 : rnd() % 3;
	uint64_t off = offs[i], len = lens[j];
	int prot = prots[k], flags = flagv[l], want, err;
	struct vtop_event_page *pg;

	if (off % PAGE || !len || off || (len + PAGE - 1) / PAGE != 1 ||
	    flags != MAP_SHARED)
		want = EINVAL;
	else if (prot & (PROT_WRITE | PROT_EXEC))
		want = EPERM;
	else
		want = 0;
	pg = mmap(NULL, len, prot, flags, fds[f], off);
	err = pg == MAP_FAILED ? errno : 0;
	if (err != want)
		fail("mmap off %llu len %llu prot %d flags 0x%x: %s, not %s",
		     (unsigned long long)off, (unsigned long long)len, prot,
		     flags, err ? strerror(err) : "success",
		     want ? strerror(want) : "success");
	if (err) {
		stat_err[C_MMAP]++;
		return;
	}
	stat_ok[C_MMAP]++;
	if (prot & PROT_READ) {
		if (pg->size != sizeof(*pg) || pg->version != 1 ||
		    __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE) != evm[f].seq ||
		    pg->overflows)
			fail("event page: size %u version %u seq %llu overflows %llu; the model seq %llu",
			     pg->size, pg->version,
			     (unsigned long long)pg->seq,
			     (unsigned long long)pg->overflows,
			     (unsigned long long)evm[f].seq);
		if (mprotect(pg, PAGE, PROT_READ | PROT_WRITE) != -1 ||
		    errno != EACCES)
			fail("event page made writable");
	}
	munmap(pg, PAGE);
}

/* one read, poll, mmap or invalidation; true if it did one */
static bool ev_one(void)
{
	int f = rnd() % NR_FDS;

	if (!have_events)
		return false;
	switch (rnd() % 16) {
	case 0:
		ev_invalidate();
		break;
	case 1:
	case 2:
		ev_read(f);
		break;
	case 3:
		ev_poll(f);
		break;
	case 4:
		ev_mmap(f);
		break;
	default:
		return false;
	}
	check_info();
	return true;
}

static void one(void)
{
	union any a, before;
	struct argp ap;
	struct expect ex = { .exact = -1 };
	enum cmd c;
	unsigned long nr;
	size_t ksize, size, i;
	int f = rnd() % NR_FDS, ret, e;
	bool dirty_tail = false;
	enum addr_class cls = A_MAYBE;
	int reg = -1;
	bool handle_live = false, size_ok, segs_ok = false;
	uint64_t cap = 0, pages = 0;

	sane = rnd() % 2;
	/*
	 * Now and then drain one fd, so that ATTACH (to the test device) and
	 * DETACH meet an fd without pins and can succeed.
	 */
	if (have_dev && rnd() % 64 == 0) {
		for (i = nr_live; i-- > 0;)
			if (live[i].fd == f) {
				ret = vt_unpin(fds[f], live[i].handle);
				if (ret)
					fail("draining UNPIN: %s", strerror(-ret));
				drop_live(&live[i]);
			}
		sane = true;
		c = rnd() % 2 ? C_ATTACH : C_DETACH;
	} else if (nr_live >= MAX_LIVE || live_bytes > MAX_LIVE_BYTES)
		c = C_UNPIN;
	else if (sane)
		c = (enum cmd[]){ C_INFO, C_PIN, C_PIN, C_UNPIN, C_GET_SEGS,
				  C_GET_SEGS, C_GET_INV }[rnd() % 7];
	else if (rnd() % 16 == 0)
		c = C_UNKNOWN;
	else
		c = rnd() % C_UNKNOWN;
	if (c == C_UNKNOWN) {
		nr = draw_unknown();
		ksize = 64;
	} else {
		nr = cmds[c].nr;
		ksize = cmds[c].size;
	}

	/* the struct's size field */
	switch (sane ? 11 : rnd() % 12) {
	case 0: size = rnd() % ksize; break;			/* short */
	case 1: size = ksize + 8 * (1 + rnd() % 8); break;	/* zero tail */
	case 2: size = ksize + 1 + rnd() % 64; break;		/* maybe dirty */
	case 3: size = rnd() % 2 ? (uint32_t)rnd() : 4096; break;
	default: size = ksize; break;
	}
	memset(&a, 0, sizeof(a));

	/* the fields */
	switch (c) {
	case C_INFO:
		break;
	case C_PIN: {
		static const uint32_t flag_vals[] = {
			0, 0, 0, VTOP_PIN_READONLY, 4, 0x80000000U,
		};
		uint32_t flags = flag_vals[rnd() % (sane ? 4 : 6)];

		cls = draw_range(&a.pin.vaddr, &a.pin.length, &flags, &reg);
		a.pin.flags = flags;
		if (!sane && rnd() % 16 == 0)
			a.pin.__reserved = 1 + rnd() % 0xffff;
		pages = a.pin.length / PAGE;
		switch (sane ? 7 : rnd() % 8) {
		case 0: a.pin.segs = 0; break;
		case 1: a.pin.segs = KERNEL_ADDR; break;
		case 2: a.pin.segs = (uintptr_t)segro; break;
		case 3: a.pin.segs = (uintptr_t)segbuf + 3; segs_ok = true; break;
		default: a.pin.segs = (uintptr_t)segbuf; segs_ok = true; break;
		}
		switch (sane ? 5 : rnd() % 6) {
		case 0: cap = 0; break;
		case 1: cap = 1; break;
		case 2: cap = rnd() % SEG_CAP; break;
		default: cap = pages < SEG_CAP ? pages : SEG_CAP; break;
		}
		a.pin.nr_segs = cap;
		break;
	}
	case C_UNPIN:
		if (sane && nr_live) {
			struct live *l = &live[rnd() % nr_live];

			f = l->fd;
			a.unpin.handle = l->handle;
			handle_live = true;
		} else {
			a.unpin.handle = draw_handle(f, &handle_live);
		}
		if (!sane && rnd() % 16 == 0)
			a.unpin.flags = 1U << (rnd() % 32);
		break;
	case C_GET_SEGS: {
		struct live *l;

		if (sane && nr_live) {
			l = &live[rnd() % nr_live];
			f = l->fd;
			a.gs.handle = l->handle;
			handle_live = true;
		} else {
			a.gs.handle = draw_handle(f, &handle_live);
		}
		l = find_live(f, a.gs.handle);
		pages = l ? l->len / PAGE : 1 + rnd() % 16;
		if (sane || rnd() % 4) {
			uint64_t off = rnd() % pages;

			a.gs.offset = off * PAGE;
			a.gs.length = rnd() % 3 ? (1 + rnd() % (pages - off)) * PAGE : 0;
		} else {
			a.gs.offset = rnd() % 2 ? rnd() % (pages * PAGE + 2 * PAGE) :
				      pages * PAGE;
			a.gs.length = rnd() % 2 ? rnd() : rnd() % (4 * PAGE);
		}
		a.gs.segs = sane || rnd() % 8 ? (uintptr_t)segbuf :
			    (uintptr_t)segro;
		a.gs.nr_segs = sane || rnd() % 4 ? SEG_CAP : rnd() % 4;
		if (!sane && rnd() % 16 == 0)
			a.gs.flags = 1U << (rnd() % 32);
		if (!sane && rnd() % 16 == 0)
			a.gs.__reserved = 1;
		break;
	}
	case C_ATTACH:
		a.attach.pci_domain = rnd() % 4 ? 0 : (uint32_t)rnd();
		a.attach.pci_bdf = (uint32_t)rnd() & 0xffff;
		if (have_dev && (sane || rnd() % 2)) {
			a.attach.pci_domain = dev_domain;
			a.attach.pci_bdf = dev_bdf;
		}
		if (!sane && rnd() % 16 == 0)
			a.attach.flags = 1;
		break;
	default:
		break;
	}
	if (!sane && c == C_INFO && rnd() % 16 == 0)
		a.info.__reserved[rnd() % ARRAY_LEN(a.info.__reserved)] =
			rnd() | 1;
	if (!sane && c == C_INFO && rnd() % 16 == 0)
		a.info.flags = 1;
	if (!sane && c == C_DETACH && rnd() % 16 == 0)
		a.detach.flags = 1;
	if (c == C_GET_INV) {
		static const uint32_t caps[] = { 0, 1, 2, MAX_LIVE, 4096 };

		a.gi.nr_handles = caps[rnd() % 5];
		switch (sane ? 3 : rnd() % 4) {
		case 0: a.gi.handles = 0; break;
		case 1: a.gi.handles = (uintptr_t)segro; break;
		case 2: a.gi.handles = KERNEL_ADDR; break;
		default: a.gi.handles = (uintptr_t)segbuf; break;
		}
		if (!sane && rnd() % 16 == 0)
			a.gi.flags = 1U << (rnd() % 32);
		if (!sane && rnd() % 16 == 0)
			a.gi.__reserved = 1 + rnd() % 0xffff;
		if (!sane && rnd() % 4 == 0)
			a.gi.seq = rnd();	/* output only */
	}
	a.info.size = (uint32_t)size;

	/* a tail beyond the known struct: zero or not */
	if (size > ksize && size <= sizeof(a) && rnd() % 2) {
		a.raw[ksize + rnd() % (size - ksize)] = 1 + rnd() % 255;
		dirty_tail = true;
	}

	/* where the struct lives */
	/* at least the size field itself is read */
	draw_arg(&ap, size < 4 ? 4 : size < sizeof(a) ? size : sizeof(a));
	if (ap.p) {
		size_t n = ap.avail < sizeof(a) ? ap.avail : sizeof(a);

		if (ap.ro && mprotect(argro, PAGE, PROT_READ | PROT_WRITE))
			fail("mprotect: %s", strerror(errno));
		memcpy(ap.p, &a, n);
		if (ap.ro && mprotect(argro, PAGE, PROT_READ))
			fail("mprotect: %s", strerror(errno));
	}
	before = a;

	/* ---- what the ABI fixes ---- */
	size_ok = false;
	if (c == C_UNKNOWN || (!have_attach && (c == C_ATTACH || c == C_DETACH))) {
		expect_exact(&ex, ENOTTY, "unknown command");
	} else if (ap.readable < 4) {
		expect_exact(&ex, EFAULT, "argument not readable");
	} else if (size < ksize) {
		expect_exact(&ex, EINVAL, "size below the struct's");
	} else if (ap.readable < ksize) {
		expect_exact(&ex, EFAULT, "struct not readable");
	} else if (size > ksize && size > sizeof(a)) {
		/* tail beyond our buffer: unreadable part, or not zero */
		ex.exact = -1;
	} else if (size > ksize && ap.readable < size) {
		/* the tail runs into the unmapped page */
		ex.exact = -1;
		ex.no_success = true;
	} else if (dirty_tail) {
		expect_exact(&ex, E2BIG, "non-zero tail");
	} else {
		size_ok = true;
	}

	if (size_ok) {
		bool writes_back = c == C_INFO || c == C_PIN ||
				   c == C_GET_SEGS || c == C_GET_INV;

		switch (c) {
		case C_INFO:
			if (a.info.flags || a.info.__reserved[0] ||
			    a.info.__reserved[1])
				expect_exact(&ex, EINVAL, "INFO flags/reserved");
			else if (ap.ro)
				expect_exact(&ex, EFAULT, "INFO into read-only");
			else
				expect_exact(&ex, 0, "INFO");
			break;
		case C_PIN:
			if ((a.pin.flags & ~(VTOP_PIN_READONLY |
					      VTOP_PIN_PARTIAL)) ||
			    a.pin.__reserved) {
				expect_exact(&ex, EINVAL, "PIN flags/reserved");
			} else if (cls == A_INVALID) {
				expect_exact(&ex, EINVAL, "PIN range invalid");
			} else if (cls == A_BAD) {
				/* pinned nothing: EFAULT before any copy-out */
				expect_exact(&ex, EFAULT, "PIN of bad memory");
			} else if (cls == A_GOOD) {
				if (cap < pages)
					ex.exact = -1;	/* ENOBUFS or not */
				else if (!segs_ok || ap.ro)
					expect_exact(&ex, EFAULT,
						     "PIN output not writable");
				else
					expect_exact(&ex, 0, "PIN");
				if (ap.ro)
					ex.no_success = true;
			} else {
				ex.no_success = ap.ro;
			}
			break;
		case C_UNPIN:
			if (a.unpin.flags)
				expect_exact(&ex, EINVAL, "UNPIN flags");
			else
				expect_exact(&ex, handle_live ? 0 : ENOENT,
					     handle_live ? "UNPIN live" :
					     "UNPIN not live");
			break;
		case C_GET_SEGS:
			if ((a.gs.flags & ~VTOP_GET_SEGS_PARTIAL) ||
			    a.gs.__reserved) {
				expect_exact(&ex, EINVAL, "GET_SEGS flags");
			} else if (handle_live) {
				struct live *l = find_live(f, a.gs.handle);
				uint64_t len = a.gs.length ? a.gs.length :
					       l->len - a.gs.offset;

				if (a.gs.offset % PAGE || a.gs.length % PAGE ||
				    a.gs.offset >= l->len ||
				    a.gs.offset + len < a.gs.offset ||
				    a.gs.offset + len > l->len)
					expect_exact(&ex, EINVAL,
						     "GET_SEGS range");
				else if (a.gs.nr_segs >= len / PAGE &&
					 (a.gs.segs == (uintptr_t)segro ||
					  ap.ro))
					expect_exact(&ex, EFAULT,
						     "GET_SEGS output");
				else if (a.gs.nr_segs >= len / PAGE)
					expect_exact(&ex, 0, "GET_SEGS");
				else
					ex.no_success = ap.ro;
			} else {
				/* ENOENT, or EINVAL for a bad range */
				ex.no_success = true;
			}
			/*
			 * A read-only array: EFAULT or ENOBUFS, never success
			 * (but PARTIAL with no room writes no segment).
			 */
			if (a.gs.segs == (uintptr_t)segro &&
			    !((a.gs.flags & VTOP_GET_SEGS_PARTIAL) &&
			      !a.gs.nr_segs))
				ex.no_success = true;
			break;
		case C_GET_INV: {
			unsigned int n = evm[f].invalidated;

			if (a.gi.flags || a.gi.__reserved)
				expect_exact(&ex, EINVAL, "GET_INV flags/reserved");
			else if (n > a.gi.nr_handles)
				expect_exact(&ex, ap.ro ? EFAULT : ENOBUFS,
					     "GET_INV too small");
			else if (n && a.gi.handles != (uintptr_t)segbuf)
				expect_exact(&ex, EFAULT, "GET_INV array");
			else
				expect_exact(&ex, 0, "GET_INV");
			break;
		}
		default:
			ex.no_success = writes_back && ap.ro;
			break;
		}
		if (writes_back && ap.ro && ex.exact == 0)
			expect_exact(&ex, EFAULT, "read-only argument");
	}

	/* ---- the call ---- */
	ret = ioctl(fds[f], nr, (void *)(uintptr_t)ap.uptr);
	e = ret < 0 ? errno : 0;
	if (ret > 0)
		fail("%s returned %d", cmd_name[c], ret);
	if (verbose)
		printf("# %lu: %s fd%d size %zu -> %s\n", iter, cmd_name[c], f,
		       size, e ? strerror(e) : "ok");

	if (e && !documented(c, e))
		fail("%s (cmd 0x%lx, size %zu): undocumented errno %d (%s)",
		     cmd_name[c], nr, size, e, strerror(e));
	if (ex.exact >= 0 && e != ex.exact)
		fail("%s (size %zu, region %s, fd %d): expected %s (%s), got %s",
		     cmd_name[c], size, reg >= 0 ? region_name[reg] : "-", f,
		     ex.exact ? strerror(ex.exact) : "success", ex.why,
		     e ? strerror(e) : "success");
	if (ex.no_success && !e)
		fail("%s (size %zu): succeeded where it cannot", cmd_name[c],
		     size);
	if (e)
		stat_err[c]++;
	else
		stat_ok[c]++;

	/* ---- outputs and the model ---- */
	if (!e && ap.p && size <= sizeof(a)) {
		union any out;

		memcpy(&out, ap.p, size);
		/* bytes beyond the known struct are not written */
		for (i = ksize; i < size; i++)
			if (out.raw[i] != before.raw[i])
				fail("%s wrote byte %zu beyond its struct",
				     cmd_name[c], i);
		if ((c == C_INFO || c == C_PIN || c == C_GET_SEGS ||
		     c == C_GET_INV) && out.info.size != ksize)
			fail("%s: size written back %u, not %zu", cmd_name[c],
			     out.info.size, ksize);
		if (c == C_PIN) {
			uint64_t covered = 0;

			if (!out.pin.handle)
				fail("PIN returned handle 0");
			if (!segs_ok)
				fail("PIN succeeded with an unwritable segment array");
			if (out.pin.nr_segs < 1 || out.pin.nr_segs > cap ||
			    out.pin.nr_segs > pages)
				fail("PIN: %u segments for %llu pages, cap %llu",
				     out.pin.nr_segs,
				     (unsigned long long)pages,
				     (unsigned long long)cap);
			for (i = 0; i < out.pin.nr_segs; i++) {
				struct vtop_segment s;

				memcpy(&s, (char *)(uintptr_t)a.pin.segs +
				       i * sizeof(s), sizeof(s));
				if (s.vaddr != a.pin.vaddr + covered ||
				    !s.len || s.len % PAGE || s.__reserved)
					fail("PIN: segment %zu malformed", i);
				covered += s.len;
			}
			if (covered != a.pin.length)
				fail("PIN: segments cover %llu of %llu bytes",
				     (unsigned long long)covered,
				     (unsigned long long)a.pin.length);
			if (find_live(f, out.pin.handle))
				fail("PIN returned a live handle again");
			live[nr_live++] = (struct live){
				.fd = f, .handle = out.pin.handle,
				.vaddr = a.pin.vaddr, .len = a.pin.length,
			};
			live_bytes += a.pin.length;
		}
		if (c == C_GET_INV) {
			const uint64_t *h = (const uint64_t *)segbuf;
			unsigned int j;
			int k;

			if (out.gi.nr_handles != evm[f].invalidated ||
			    out.gi.seq != evm[f].seq)
				fail("GET_INV: %u handles, seq %llu; the model %u, %llu",
				     out.gi.nr_handles,
				     (unsigned long long)out.gi.seq,
				     evm[f].invalidated,
				     (unsigned long long)evm[f].seq);
			for (k = 0; k < nr_live; k++) {
				int seen = 0;

				if (live[k].fd != f)
					continue;
				for (j = 0; j < out.gi.nr_handles; j++)
					seen += h[j] == live[k].handle;
				if (seen != !!live[k].reason)
					fail("GET_INV: handle 0x%llx listed %d times, invalidated %u",
					     (unsigned long long)live[k].handle,
					     seen, live[k].reason);
			}
		}
		if (c == C_GET_SEGS) {
			struct live *l = find_live(f, a.gs.handle);
			uint64_t covered = 0, start, len;
			uint32_t written;
			bool partial;

			if (!l)
				fail("GET_SEGS succeeded on a handle the model does not hold live");
			start = l->vaddr + a.gs.offset;
			len = a.gs.length ? a.gs.length : l->len - a.gs.offset;
			/*
			 * With PARTIAL, nr_segs is the sub-range's count and
			 * min(capacity, count) were written: check those, and
			 * the coverage only when all of them fit.
			 */
			partial = a.gs.flags & VTOP_GET_SEGS_PARTIAL;
			written = out.gs.nr_segs;
			if (partial && written > a.gs.nr_segs)
				written = a.gs.nr_segs;
			if (out.gs.nr_segs < 1 ||
			    (!partial && out.gs.nr_segs > a.gs.nr_segs) ||
			    out.gs.nr_segs > len / PAGE)
				fail("GET_SEGS: %u segments, capacity %u",
				     out.gs.nr_segs, a.gs.nr_segs);
			for (i = 0; i < written; i++) {
				struct vtop_segment s;

				memcpy(&s, (char *)(uintptr_t)a.gs.segs +
				       i * sizeof(s), sizeof(s));
				if (s.vaddr != start + covered || !s.len ||
				    s.len % PAGE || s.__reserved)
					fail("GET_SEGS: segment %zu malformed", i);
				covered += s.len;
			}
			if (written == out.gs.nr_segs ? covered != len :
			    covered >= len)
				fail("GET_SEGS: segments cover %llu of %llu bytes",
				     (unsigned long long)covered,
				     (unsigned long long)len);
		}
	}
	if (c == C_GET_INV && e == ENOBUFS && ap.p) {
		struct vtop_get_invalidated out;

		memcpy(&out, ap.p, sizeof(out));
		if (out.nr_handles != evm[f].invalidated)
			fail("GET_INV ENOBUFS: needs %u, the model %u",
			     out.nr_handles, evm[f].invalidated);
	}
	if (c == C_PIN && e == ENOBUFS && ap.p && !ap.ro) {
		struct vtop_pin out;

		memcpy(&out, ap.p, sizeof(out));
		if (out.nr_segs <= cap || out.nr_segs > pages)
			fail("PIN ENOBUFS: needs %u segments for %llu pages, cap %llu",
			     out.nr_segs, (unsigned long long)pages,
			     (unsigned long long)cap);
	}
	if (!e && c == C_PIN && !ap.p)
		fail("PIN succeeded without a readable argument");
	if (!e && c == C_UNPIN) {
		struct live *l = find_live(f, a.unpin.handle);

		if (!l)
			fail("UNPIN of a handle the model does not hold live");
		drop_live(l);
	}
	check_info();
}

/* ---- main ---------------------------------------------------------------- */

static int64_t module_live_pins(void)
{
	char buf[1024], *p;

	if (vt_read_file("/sys/kernel/debug/vtop/stats", buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "live_pins ");
	return p ? strtoll(p + 10, NULL, 10) : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vtop-fuzz [-n ITERATIONS] [-s SEED] [-v]\n"
		"  defaults: $VTOP_FUZZ_ITERATIONS (10000), $VTOP_FUZZ_SEED (time)\n");
}

int main(int argc, char **argv)
{
	unsigned long n = 10000;
	uint64_t seed;
	const char *env;
	struct vt_snap base, now;
	struct vtop_info info;
	int64_t base_live;
	int opt, i, ret;

	env = getenv("VTOP_FUZZ_ITERATIONS");
	if (env && *env)
		n = strtoul(env, NULL, 0);
	env = getenv("VTOP_FUZZ_SEED");
	seed = env && *env ? strtoull(env, NULL, 0) :
	       (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	while ((opt = getopt(argc, argv, "n:s:vh")) != -1) {
		switch (opt) {
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	seed_state = seed ? seed : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("TAP version 13\n1..1\n");
	printf("# vtop-fuzz: seed 0x%llx, %lu iterations (replay: vtop-fuzz -s 0x%llx -n %lu)\n",
	       (unsigned long long)seed, n, (unsigned long long)seed, n);
	for (i = 0; i < NR_FDS; i++) {
		fds[i] = vt_open();
		if (fds[i] < 0) {
			if (access("/sys/module/vtop", F_OK)) {
				printf("ok 1 vtop-fuzz # SKIP vtop module not loaded\n");
				return KSFT_SKIP;
			}
			printf("# open %s: %s\nnot ok 1 vtop-fuzz\n",
			       VTOP_DEVICE_PATH, strerror(-fds[i]));
			return 1;
		}
	}
	ret = vt_info(fds[0], &info);
	if (ret) {
		printf("# INFO: %s\nnot ok 1 vtop-fuzz\n", strerror(-ret));
		return 1;
	}
	have_attach = info.features & VTOP_FEATURE_ATTACH;
	have_events = info.features & VTOP_FEATURE_EVENTS;
	if (have_events) {
		uint64_t q;

		/* the model assumes every record is queued: no overflow */
		if (!vt_param_read("max_queued_events", &q) &&
		    q < 2 * MAX_LIVE) {
			printf("ok 1 vtop-fuzz # SKIP max_queued_events %llu < %d\n",
			       (unsigned long long)q, 2 * MAX_LIVE);
			return KSFT_SKIP;
		}
		for (i = 0; i < NR_FDS; i++)
			if (fcntl(fds[i], F_SETFL, O_NONBLOCK)) {
				printf("# fcntl: %s\nnot ok 1 vtop-fuzz\n",
				       strerror(errno));
				return 1;
			}
	}
	env = getenv("VTOP_TEST_PCI");
	if (env && *env) {
		unsigned int d, b, sl, fn;

		if (sscanf(env, "%x:%x:%x.%x", &d, &b, &sl, &fn) == 4) {
			have_dev = true;
			dev_domain = d;
			dev_bdf = b << 8 | sl << 3 | fn;
		}
	}
	ret = vt_snap(&base);
	if (!ret)
		ret = setup_regions();
	if (ret) {
		printf("# set-up: %s\nnot ok 1 vtop-fuzz\n", strerror(-ret));
		return 1;
	}
	base_live = module_live_pins();
	printf("# regions:");
	for (i = 0; i < R_NR; i++)
		if (region[i].ok)
			printf(" %s", region_name[i]);
	printf("; ATTACH %s%s%s\n", have_attach ? "present" : "absent (ENOTTY)",
	       have_dev ? ", device " : "", have_dev ? env : "");

	for (iter = 0; iter < n; iter++)
		if (!ev_one())
			one();

	/* every live pin goes; then the counters must balance */
	while (nr_live) {
		struct live *l = &live[nr_live - 1];

		ret = vt_unpin(fds[l->fd], l->handle);
		if (ret)
			fail("final UNPIN: %s", strerror(-ret));
		drop_live(l);
	}
	check_info();
	for (i = 0; i < NR_FDS; i++)
		close(fds[i]);
	ret = vt_snap(&now);
	if (ret)
		fail("counters: %s", strerror(-ret));
	if (now.foll_pins != base.foll_pins || now.vmpin_kb != base.vmpin_kb)
		fail("counters after close: FOLL_PIN %lld (was %lld), VmPin %llu kB (was %llu)",
		     (long long)now.foll_pins, (long long)base.foll_pins,
		     (unsigned long long)now.vmpin_kb,
		     (unsigned long long)base.vmpin_kb);
	if (base_live >= 0 && module_live_pins() != base_live)
		fail("module live_pins %lld, was %lld",
		     (long long)module_live_pins(), (long long)base_live);

	for (i = 0; i < C_NR; i++)
		printf("# %-10s %8lu ok %8lu refused\n", cmd_name[i],
		       stat_ok[i], stat_err[i]);
	printf("ok 1 vtop-fuzz\n");
	return 0;
}
