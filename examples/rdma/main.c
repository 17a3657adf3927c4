// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-rdma: libvtop as an RDMA memory-region cache, proven on a verbs
 * device (soft-RoCE in the test guest). Memory is registered only with
 * vtop_mem_register(); the cache (mrcache.c), a libvtop consumer map,
 * registers it with the device, and every work request takes its keys from
 * looking the buffer addresses up in the cache. Two RC queue pairs on one
 * device are connected to each other (loop.c).
 *
 * Scenarios (--scenario):
 *   roundtrip  4 KiB-page, THP and hugetlb buffers: RDMA WRITE, RDMA READ
 *              and SEND/RECV, every byte checked; a buffer made of two
 *              registrations travels as two scatter/gather elements
 *   replay     the same, with the cache created after the registrations
 *              (libvtop replays REGISTER: the memory regions exist at once)
 *   remap      a registered buffer is munmap()ed and replaced at the same
 *              address; libvtop's invalidation event makes the cache drop
 *              the memory region, the buffer is registered again, and an
 *              RDMA WRITE must land in the NEW pages (--remap-events)
 *   memlock    ibv_reg_mr() fails under a low RLIMIT_MEMLOCK (without
 *              CAP_IPC_LOCK): vtop_mem_register() returns its error and
 *              leaves no memory region, no pin and no map entry
 *   teardown   unregister everything, free the cache with registrations
 *              alive, vtop_env_fini(): no memory region and every FOLL_PIN
 *              page released, checked before the device is closed
 *
 * Exit status: 0 pass, 1 fail, 2 usage, 4 skipped (no invalidation events).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "loop.h"
#include "mrcache.h"

#define EXIT_USAGE	2
#define EXIT_SKIP	4
#define SZ_4K		4096UL
#define SZ_2M		(2UL << 20)
#define TIMEOUT_MS	10000

enum kind { K_4K, K_THP, K_HUGETLB, NR_KINDS };

static const struct {
	const char *name;
	size_t len;
} kinds[NR_KINDS] = {
	[K_4K] = { "4k", 64 * SZ_4K },
	[K_THP] = { "thp", SZ_2M },
	[K_HUGETLB] = { "hugetlb", SZ_2M },
};

enum remap_events { EV_POLL, EV_REGISTER, EV_THREAD, EV_OFF };

static struct {
	const char *dev;
	const char *scenario;
	bool kind[NR_KINDS];
	enum remap_events events;
} opt;

static int fails;

#define fail(...) do { printf("FAIL: " __VA_ARGS__); fails++; } while (0)

/* ------------------------------------------------------------------------
 * Buffers
 */

struct xbuf {
	uint8_t *p;
	size_t len;
	enum kind kind;
};

/* Bytes of the VMA starting at @p that are AnonHugePages (smaps). */
static long thp_bytes(const void *p)
{
	char line[256], want[32];
	long kb = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's header starts with its hex range, fields with a name. */
		if (!isupper((unsigned char)line[0]))
			in = !strncmp(line, want, strlen(want));
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Map @x->len bytes of @x->kind at @at (MAP_FIXED) or anywhere (NULL). */
static int xbuf_map(struct xbuf *x, void *at)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0);
	uint8_t *p;
	size_t i;

	switch (x->kind) {
	case K_4K:
		p = mmap(at, x->len, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		madvise(p, x->len, MADV_NOHUGEPAGE);
		break;
	case K_THP:
		if (at) {
			p = mmap(at, x->len, PROT_READ | PROT_WRITE, flags,
				 -1, 0);
			if (p == MAP_FAILED)
				return -errno;
		} else {
			uint8_t *r = mmap(NULL, x->len + SZ_2M,
					  PROT_READ | PROT_WRITE, flags, -1, 0);
			size_t head;

			if (r == MAP_FAILED)
				return -errno;
			p = (uint8_t *)(((uintptr_t)r + SZ_2M - 1) & ~(SZ_2M - 1));
			head = (size_t)(p - r);
			if (head)
				munmap(r, head);
			munmap(p + x->len, SZ_2M - head);
		}
		if (madvise(p, x->len, MADV_HUGEPAGE))
			return -errno;
		break;
	case K_HUGETLB:
		p = mmap(at, x->len, PROT_READ | PROT_WRITE,
			 flags | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		break;
	default:
		return -EINVAL;
	}
	/* Fault every page in, last first: the frames are not in order. */
	for (i = x->len; i > 0; i -= SZ_4K)
		p[i - SZ_4K] = 1;
	x->p = p;
	if (x->kind == K_THP && thp_bytes(p) != (long)x->len)
		printf("    note: THP buffer %p has %ld bytes in huge pages\n",
		       (void *)p, thp_bytes(p));
	return 0;
}

static int xbuf_alloc(struct xbuf *x, enum kind k, size_t len)
{
	int ret;

	x->kind = k;
	x->len = len;
	x->p = NULL;
	ret = xbuf_map(x, NULL);
	if (ret)
		fail("mmap of a %s buffer of %zu bytes: %s\n", kinds[k].name,
		     len, strerror(-ret));
	return ret;
}

static void xbuf_free(struct xbuf *x)
{
	if (x->p)
		munmap(x->p, x->len);
	x->p = NULL;
}

static uint8_t pat(unsigned int seed, size_t i)
{
	return (uint8_t)(((i * 2654435761u) >> 13) ^ (seed * 0x9du) ^ (i >> 9));
}

static void fill(void *p, size_t len, unsigned int seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pat(seed, i);
}

/* Offset of the first byte that is not pattern @seed, or -1. */
static long mismatch(const void *p, size_t len, unsigned int seed)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pat(seed, i))
			return (long)i;
	return -1;
}

static bool verify(const char *what, const void *p, size_t len,
		   unsigned int seed)
{
	long off = mismatch(p, len, seed);

	if (off >= 0) {
		fail("%s: byte %ld of %zu differs (0x%02x, want 0x%02x)\n",
		     what, off, len, ((const uint8_t *)p)[off],
		     pat(seed, (size_t)off));
		return false;
	}
	printf("    %s: %zu bytes verified\n", what, len);
	return true;
}

static int reg(void *p, size_t len, const char *what)
{
	int ret = vtop_mem_register(p, len);

	if (ret)
		fail("vtop_mem_register(%s, %zu): %s (%s)\n", what, len,
		     strerror(-ret), vtop_last_error());
	return ret;
}

static void unreg(void *p, size_t len, const char *what)
{
	int ret = vtop_mem_unregister(p, len);

	if (ret)
		fail("vtop_mem_unregister(%s, %zu): %s (%s)\n", what, len,
		     strerror(-ret), vtop_last_error());
}

/* ------------------------------------------------------------------------
 * Transfers with keys from the cache
 */

static int sges_of(const struct mrc *c, const void *p, size_t len,
		   struct ibv_sge *sge, const char *what)
{
	int n = mrc_sges(c, p, len, sge, LOOP_MAX_SGE);

	if (n < 0)
		fail("mrc_sges(%s): %s\n", what, strerror(-n));
	return n;
}

static int rkey_of(const struct mrc *c, const void *p, size_t len,
		   uint32_t *rkey, const char *what)
{
	int ret = mrc_rkey(c, p, len, rkey);

	if (ret)
		fail("mrc_rkey(%s): %s\n", what, strerror(-ret));
	return ret;
}

/* RDMA WRITE of @src into @dst, both found in the cache. */
static int xfer_write(struct loop *l, const struct mrc *c, const void *src,
		      void *dst, size_t len)
{
	struct ibv_sge sge[LOOP_MAX_SGE];
	uint32_t rkey;
	int n, ret;

	n = sges_of(c, src, len, sge, "write source");
	if (n < 0 || rkey_of(c, dst, len, &rkey, "write target"))
		return -EINVAL;
	ret = loop_write(l, sge, n, (uint64_t)(uintptr_t)dst, rkey, TIMEOUT_MS);
	if (ret)
		fail("RDMA WRITE of %zu bytes: %s\n", len, strerror(-ret));
	return ret;
}

/* RDMA READ of remote @src into local @dst. */
static int xfer_read(struct loop *l, const struct mrc *c, const void *src,
		     void *dst, size_t len)
{
	struct ibv_sge sge[LOOP_MAX_SGE];
	uint32_t rkey;
	int n, ret;

	n = sges_of(c, dst, len, sge, "read target");
	if (n < 0 || rkey_of(c, src, len, &rkey, "read source"))
		return -EINVAL;
	ret = loop_read(l, sge, n, (uint64_t)(uintptr_t)src, rkey, TIMEOUT_MS);
	if (ret)
		fail("RDMA READ of %zu bytes: %s\n", len, strerror(-ret));
	return ret;
}

/* SEND of @src, received into @dst. */
static int xfer_send(struct loop *l, const struct mrc *c, const void *src,
		     void *dst, size_t len)
{
	struct ibv_sge ssge[LOOP_MAX_SGE], rsge[LOOP_MAX_SGE];
	int ns, nr, ret;

	ns = sges_of(c, src, len, ssge, "send source");
	nr = sges_of(c, dst, len, rsge, "receive target");
	if (ns < 0 || nr < 0)
		return -EINVAL;
	ret = loop_post_recv(l, rsge, nr);
	if (!ret)
		ret = loop_send(l, ssge, ns, TIMEOUT_MS);
	if (ret)
		fail("SEND/RECV of %zu bytes: %s\n", len, strerror(-ret));
	return ret;
}

/* WRITE, READ and SEND/RECV between @a and @b, every byte checked. */
static void round_trips(struct loop *l, const struct mrc *c, const char *name,
			uint8_t *a, uint8_t *b, size_t len, unsigned int seed)
{
	char what[96];

	fill(a, len, seed);
	memset(b, 0, len);
	snprintf(what, sizeof(what), "[%s] RDMA WRITE", name);
	if (!xfer_write(l, c, a, b, len))
		verify(what, b, len, seed);

	fill(b, len, seed + 1);
	memset(a, 0, len);
	snprintf(what, sizeof(what), "[%s] RDMA READ", name);
	if (!xfer_read(l, c, b, a, len))
		verify(what, a, len, seed + 1);

	fill(a, len, seed + 2);
	memset(b, 0, len);
	snprintf(what, sizeof(what), "[%s] SEND/RECV", name);
	if (!xfer_send(l, c, a, b, len))
		verify(what, b, len, seed + 2);
}

/* The memory region the cache holds for @p must be one registration's. */
static void check_mr(const struct mrc *c, const void *p, size_t len,
		     const char *name)
{
	struct ibv_sge sge[LOOP_MAX_SGE];
	struct ibv_mr *mr = mrc_lookup(c, p);
	int n;

	if (!mr) {
		fail("[%s] no memory region in the cache for %p\n", name, p);
		return;
	}
	if (mr->addr != p || mr->length != len)
		fail("[%s] the memory region covers %p+%zu, not %p+%zu\n",
		     name, mr->addr, mr->length, p, len);
	n = mrc_sges(c, p, len, sge, LOOP_MAX_SGE);
	if (n != 1 || sge[0].lkey != mr->lkey || sge[0].length != len)
		fail("[%s] the buffer is not one element with the MR's lkey (%d elements)\n",
		     name, n);
	printf("    [%s] buffer %p, %zu bytes: MR lkey 0x%x rkey 0x%x\n",
	       name, p, len, mr->lkey, mr->rkey);
}

/* ------------------------------------------------------------------------
 * Scenarios
 */

static unsigned int nr_regs;	/* registrations the current scenario made */
static uint8_t never_registered[2 * SZ_4K] __attribute__((aligned(4096)));


/* Register a source and a target buffer of every kind. */
static int kinds_alloc(struct xbuf a[NR_KINDS], struct xbuf b[NR_KINDS])
{
	int k;

	for (k = 0; k < NR_KINDS; k++) {
		a[k].p = b[k].p = NULL;
		if (!opt.kind[k])
			continue;
		if (xbuf_alloc(&a[k], (enum kind)k, kinds[k].len) ||
		    xbuf_alloc(&b[k], (enum kind)k, kinds[k].len) ||
		    reg(a[k].p, a[k].len, kinds[k].name) ||
		    reg(b[k].p, b[k].len, kinds[k].name))
			return -1;
		nr_regs += 2;
	}
	return 0;
}

static void kinds_trips(struct loop *l, const struct mrc *c,
			struct xbuf a[NR_KINDS], struct xbuf b[NR_KINDS])
{
	int k;

	for (k = 0; k < NR_KINDS; k++) {
		if (!opt.kind[k])
			continue;
		check_mr(c, a[k].p, a[k].len, kinds[k].name);
		check_mr(c, b[k].p, b[k].len, kinds[k].name);
		round_trips(l, c, kinds[k].name, a[k].p, b[k].p, a[k].len,
			    10 + 3 * (unsigned int)k);
	}
}

static void kinds_free(struct xbuf a[NR_KINDS], struct xbuf b[NR_KINDS],
		       bool unregister)
{
	int k;

	for (k = 0; k < NR_KINDS; k++) {
		if (unregister && a[k].p)
			unreg(a[k].p, a[k].len, kinds[k].name);
		if (unregister && b[k].p)
			unreg(b[k].p, b[k].len, kinds[k].name);
		xbuf_free(&a[k]);
		xbuf_free(&b[k]);
	}
}

/*
 * A 4 KiB-page buffer registered as two halves: it is two memory regions,
 * so the cache describes it as two elements, refuses one rkey for it, and
 * WRITE and SEND/RECV carry it as two elements.
 */
static void span_alloc(struct xbuf *r, struct xbuf *d)
{
	if (xbuf_alloc(r, K_4K, 32 * SZ_4K) || xbuf_alloc(d, K_4K, r->len) ||
	    reg(r->p, r->len / 2, "first half") ||
	    reg(r->p + r->len / 2, r->len / 2, "second half") ||
	    reg(d->p, d->len, "span peer"))
		return;
	nr_regs += 3;
}

static void span_trips(struct loop *l, const struct mrc *c, struct xbuf *r,
		       struct xbuf *d)
{
	struct ibv_sge sge[LOOP_MAX_SGE];
	size_t half = r->len / 2;
	uint64_t run;
	uint32_t rkey;
	int n, ret;

	if (!r->p || !d->p)
		return;
	n = mrc_sges(c, r->p, r->len, sge, LOOP_MAX_SGE);
	if (n != 2) {
		fail("[span] a buffer over two registrations gave %d elements, want 2\n",
		     n);
		return;
	}
	if (sge[0].addr != (uintptr_t)r->p || sge[0].length != half ||
	    sge[1].addr != (uintptr_t)(r->p + half) || sge[1].length != half ||
	    sge[0].lkey == sge[1].lkey ||
	    sge[0].lkey != mrc_lookup(c, r->p)->lkey ||
	    sge[1].lkey != mrc_lookup(c, r->p + half)->lkey)
		fail("[span] the two elements do not match the two memory regions\n");
	else
		printf("    [span] %zu bytes over two registrations: 2 elements, lkeys 0x%x and 0x%x\n",
		       r->len, sge[0].lkey, sge[1].lkey);
	/* The map itself reports where the first registration's run ends. */
	run = r->len;
	if (vtop_mem_map_translate(c->map, (uintptr_t)r->p, &run) !=
	    (uintptr_t)mrc_lookup(c, r->p) || run != half)
		fail("[span] vtop_mem_map_translate() over two registrations: a run of %llu bytes, want %zu\n",
		     (unsigned long long)run, half);
	run = half;
	if (vtop_mem_map_translate(c->map, (uintptr_t)r->p, &run) !=
	    (uintptr_t)mrc_lookup(c, r->p) || run != half)
		fail("[span] vtop_mem_map_translate() of one registration: a run of %llu bytes, want %zu\n",
		     (unsigned long long)run, half);
	n = mrc_sges(c, r->p, r->len, sge, 1);
	if (n != -E2BIG)
		fail("[span] mrc_sges() with room for 1 element: %d, want -E2BIG\n",
		     n);
	ret = mrc_rkey(c, r->p, r->len, &rkey);
	if (ret != -ERANGE)
		fail("[span] mrc_rkey() over two regions: %d, want -ERANGE\n",
		     ret);
	ret = mrc_rkey(c, r->p, r->len + SZ_4K, &rkey);
	if (ret != -ERANGE)
		fail("[span] mrc_rkey() over two regions and beyond: %d, want -ERANGE\n",
		     ret);
	ret = mrc_rkey(c, never_registered, sizeof(never_registered), &rkey);
	if (ret != -EINVAL)
		fail("[span] mrc_rkey() of memory never registered: %d, want -EINVAL\n",
		     ret);
	n = mrc_sges(c, never_registered, sizeof(never_registered), sge,
		     LOOP_MAX_SGE);
	if (n != -EINVAL)
		fail("[span] mrc_sges() of memory never registered: %d, want -EINVAL\n",
		     n);

	/* Two local elements out, one remote region in; and back by SEND. */
	fill(r->p, r->len, 40);
	memset(d->p, 0, d->len);
	if (!xfer_write(l, c, r->p, d->p, r->len))
		verify("[span] RDMA WRITE from 2 elements", d->p, d->len, 40);
	fill(d->p, d->len, 41);
	memset(r->p, 0, r->len);
	if (!xfer_read(l, c, d->p, r->p, r->len))
		verify("[span] RDMA READ into 2 elements", r->p, r->len, 41);
	fill(d->p, d->len, 42);
	memset(r->p, 0, r->len);
	if (!xfer_send(l, c, d->p, r->p, r->len))
		verify("[span] SEND/RECV into 2 elements", r->p, r->len, 42);
}

static bool registered(const void *p)
{
	return vtop_vtophys(p, NULL) != VTOP_VTOPHYS_ERROR;
}

static void span_free(struct xbuf *r, struct xbuf *d)
{
	if (r->p && registered(r->p))
		unreg(r->p, r->len, "span (both halves at once)");
	if (d->p && registered(d->p))
		unreg(d->p, d->len, "span peer");
	xbuf_free(r);
	xbuf_free(d);
}

/* ------------------------------------------------------------------------
 * Observations from outside the cache
 */

/* FOLL_PIN pages acquired and released so far (/proc/vmstat). */
static void pins(uint64_t *acq, uint64_t *rel)
{
	char name[64];
	unsigned long long v;
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	/* Fold the per-CPU deltas in, or the counters lag. */
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	*acq = *rel = 0;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %llu", name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			*acq = v;
		else if (!strcmp(name, "nr_foll_pin_released"))
			*rel = v;
	}
	fclose(f);
}

/* The process's pinned memory in bytes (VmPin: mm->pinned_vm). */
static long vmpin(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Memory regions the kernel holds on the device ("rdma resource show"). */
static long device_mrs(const char *dev)
{
	char cmd[128], line[512], *t;
	long n = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "rdma resource show %s 2>&1", dev);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		t = strstr(line, " mr ");
		if (t)
			n = strtol(t + 4, NULL, 10);
	}
	pclose(f);
	return n;
}

static void expect_device_mrs(const struct loop *l, long want,
			      const char *when)
{
	long n = device_mrs(l->dev_name);

	if (n != want)
		fail("%s: the device holds %ld memory regions, want %ld\n",
		     when, n, want);
	else
		printf("    %s: the device holds %ld memory regions (rdma resource show)\n",
		       when, n);
}

static void expect_cache(const struct mrc *c, uint64_t nr_mrs,
			 const char *when)
{
	const struct mrc_stats *s = &c->stats;

	printf("    %s: cache: %" PRIu64 " MRs alive; %" PRIu64 " registered, %"
	       PRIu64 " deregistered, %" PRIu64 " invalidated, %" PRIu64
	       " ibv_reg_mr failures\n", when, s->nr_mrs, s->registered,
	       s->deregistered, s->invalidated, s->reg_failed);
	if (s->nr_mrs != nr_mrs)
		fail("%s: the cache holds %" PRIu64 " memory regions, want %"
		     PRIu64 "\n", when, s->nr_mrs, nr_mrs);
	if (s->dereg_failed)
		fail("%s: %" PRIu64 " ibv_dereg_mr() calls failed\n", when,
		     s->dereg_failed);
}

static int cache_create(struct loop *l, struct mrc **c)
{
	int ret = mrc_create(l->pd, c);

	if (ret)
		fail("mrc_create: %s (%s)\n", strerror(-ret),
		     vtop_last_error());
	return ret;
}

/* ------------------------------------------------------------------------
 * Scenarios
 */

static void sc_roundtrip(struct loop *l, bool replay)
{
	struct xbuf a[NR_KINDS], b[NR_KINDS], r = { 0 }, d = { 0 };
	struct mrc *c = NULL;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	if (!replay && cache_create(l, &c))
		return;
	if (!kinds_alloc(a, b))
		span_alloc(&r, &d);
	if (replay) {
		printf("    %u registrations made before the cache exists\n",
		       nr_regs);
		if (cache_create(l, &c))
			goto out;
		if (c->stats.registered != nr_regs)
			fail("replay: the cache registered %" PRIu64
			     " memory regions, want %u\n",
			     c->stats.registered, nr_regs);
		else
			printf("    replay: mrc_create() registered %u memory regions\n",
			       nr_regs);
		expect_device_mrs(l, nr_regs, "after the replay");
	}
	expect_cache(c, nr_regs, "registered");
	if (!fails) {
		kinds_trips(l, c, a, b);
		span_trips(l, c, &r, &d);
	}
out:
	span_free(&r, &d);
	kinds_free(a, b, true);
	if (c) {
		expect_cache(c, 0, "all unregistered");
		if (c->stats.deregistered != c->stats.registered ||
		    c->stats.invalidated)
			fail("every registration should end in one UNREGISTER\n");
		expect_device_mrs(l, 0, "all unregistered");
	}
	mrc_destroy(c);
}

/*
 * One kind: register, write, munmap + mmap MAP_FIXED (new memory with its
 * own content), let libvtop learn of it as opt.events says, register the
 * new memory, write again with the keys the cache now gives. Returns 1 if
 * the write went to the old pages.
 */
static int remap_kind(struct loop *l, struct mrc *c, enum kind k, int efd)
{
	const char *name = kinds[k].name;
	size_t len = kinds[k].len;
	struct xbuf s = { 0 }, x = { 0 };
	uint64_t inv0;
	struct ibv_mr *mr;
	struct pollfd pfd;
	uint8_t *at;
	int n, ret, stale = 0;

	printf("[%s] remap: %zu bytes, unmapped and replaced while registered\n",
	       name, len);
	if (xbuf_alloc(&s, K_4K, len) || xbuf_alloc(&x, k, len) ||
	    reg(s.p, len, "source") || reg(x.p, len, name))
		goto out;
	check_mr(c, x.p, len, name);
	fill(s.p, len, 50);
	if (xfer_write(l, c, s.p, x.p, len) ||
	    !verify("before the remap: RDMA WRITE", x.p, len, 50))
		goto out;

	inv0 = c->stats.invalidated;
	at = x.p;
	munmap(x.p, len);
	x.p = NULL;
	ret = xbuf_map(&x, at);
	if (ret || x.p != at) {
		fail("[%s] mmap MAP_FIXED at %p: %s\n", name, (void *)at,
		     strerror(-ret));
		goto out;
	}
	fill(x.p, len, 51);
	printf("    munmap() + mmap(MAP_FIXED): new memory at %p, filled with its own pattern\n",
	       (void *)at);

	switch (opt.events) {
	case EV_POLL:
		pfd.fd = efd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1)
			printf("    event fd readable when munmap() returned\n");
		else if (poll(&pfd, 1, TIMEOUT_MS) != 1)
			fail("[%s] the event fd did not become readable\n",
			     name);
		n = vtop_mem_process_events();
		if (n != 1)
			fail("[%s] vtop_mem_process_events(): %d, want 1\n",
			     name, n);
		else
			printf("    vtop_mem_process_events(): 1 registration invalidated\n");
		if (mrc_lookup(c, x.p) || c->stats.invalidated != inv0 + 1)
			fail("[%s] the cache still holds the memory region after INVALIDATE\n",
			     name);
		else
			printf("    INVALIDATE: the cache deregistered the memory region\n");
		if (reg(x.p, len, name))
			goto out;
		break;
	case EV_REGISTER:
		if (reg(x.p, len, name))
			goto out;
		if (c->stats.invalidated != inv0 + 1)
			fail("[%s] vtop_mem_register() of the new memory did not invalidate the old region\n",
			     name);
		else
			printf("    vtop_mem_register() of the new memory: it processed the pending event itself (INVALIDATE, then REGISTER)\n");
		break;
	case EV_THREAD:
		/* libvtop's event thread runs the callback: wait for it. */
		for (n = 0; n < TIMEOUT_MS &&
		     __atomic_load_n(&c->stats.invalidated, __ATOMIC_ACQUIRE) ==
		     inv0; n++)
			usleep(1000);
		if (__atomic_load_n(&c->stats.invalidated, __ATOMIC_ACQUIRE) !=
		    inv0 + 1 || mrc_lookup(c, x.p)) {
			fail("[%s] the event thread did not make the cache drop the memory region within %d ms\n",
			     name, TIMEOUT_MS);
			goto out;
		}
		printf("    INVALIDATE from libvtop's event thread: the cache deregistered the memory region\n");
		if (reg(x.p, len, name))
			goto out;
		break;
	case EV_OFF:
		printf("    events off: nothing processed, the cache keeps the old memory region\n");
		break;
	}
	mr = mrc_lookup(c, x.p);
	if (!mr) {
		fail("[%s] no memory region for the new memory\n", name);
		goto out;
	}
	printf("    keys now: lkey 0x%x rkey 0x%x\n", mr->lkey, mr->rkey);

	fill(s.p, len, 52);
	if (xfer_write(l, c, s.p, x.p, len))
		goto out;
	if (mismatch(x.p, len, 52) < 0) {
		printf("    [%s] the RDMA WRITE landed in the NEW pages: %zu bytes verified\n",
		       name, len);
	} else if (mismatch(x.p, len, 51) < 0) {
		printf("    [%s] the new pages still hold their own pattern: the RDMA WRITE went to the OLD pages (stale memory region)\n",
		       name);
		stale = 1;
		/*
		 * The same keys read the written data back: the old pages.
		 * (Into the source: registering anything now would process
		 * the event.)
		 */
		memset(s.p, 0, len);
		if (!xfer_read(l, c, x.p, s.p, len))
			verify("read back through the stale keys: the unmapped pages hold the written data",
			       s.p, len, 52);
	} else {
		fail("[%s] the new pages hold neither the written nor their own data (byte %ld)\n",
		     name, mismatch(x.p, len, 52));
	}
out:
	/* With events off, this is where the stale region finally goes. */
	n = vtop_mem_process_events();
	if (n < 0)
		fail("vtop_mem_process_events(): %s\n", strerror(-n));
	if (x.p && registered(x.p))
		unreg(x.p, len, name);
	if (s.p && registered(s.p))
		unreg(s.p, len, "source");
	xbuf_free(&x);
	xbuf_free(&s);
	return stale;
}

static int sc_remap(struct loop *l)
{
	struct mrc *c = NULL;
	int efd, k, nk = 0, stale = 0;

	efd = vtop_env_get_event_fd();
	if (efd == -EOPNOTSUPP) {
		printf("SKIP: no invalidation events (module without VTOP_FEATURE_EVENTS)\n");
		return EXIT_SKIP;
	}
	if (efd < 0) {
		fail("vtop_env_get_event_fd(): %s (%s)\n", strerror(-efd),
		     vtop_last_error());
		return 1;
	}
	if (cache_create(l, &c))
		return 1;
	for (k = 0; k < NR_KINDS; k++) {
		if (!opt.kind[k])
			continue;
		nk++;
		stale += remap_kind(l, c, (enum kind)k, efd);
	}
	expect_cache(c, 0, "after the remaps");
	if (opt.events != EV_OFF && c->stats.invalidated != (uint64_t)nk)
		fail("%" PRIu64 " invalidations reached the cache, want %d\n",
		     c->stats.invalidated, nk);
	expect_device_mrs(l, 0, "after the remaps");
	mrc_destroy(c);
	if (stale) {
		printf("FAIL: remap: %d of %d buffer kinds: the RDMA WRITE landed in the OLD pages through a stale memory region\n",
		       stale, nk);
		fails++;
	}
	return fails ? 1 : 0;
}

/* Drop CAP_IPC_LOCK, which lifts RLIMIT_MEMLOCK for pins and MRs. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	d[CAP_TO_INDEX(CAP_IPC_LOCK)].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	d[CAP_TO_INDEX(CAP_IPC_LOCK)].inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static int set_memlock(rlim_t bytes)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	rl.rlim_cur = bytes;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < bytes)
		rl.rlim_max = bytes;
	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

static void sc_memlock(struct loop *l)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_info info = { .size = sizeof(info) };
	size_t len = kinds[K_4K].len;
	uint64_t acq0, rel0, acq, rel;
	struct xbuf x = { 0 };
	struct rlimit saved;
	struct mrc *c = NULL;
	long pin0;
	int ret;

	if (getrlimit(RLIMIT_MEMLOCK, &saved) || drop_ipc_lock()) {
		fail("getrlimit/capset: %s\n", strerror(errno));
		return;
	}
	if (cache_create(l, &c) || xbuf_alloc(&x, K_4K, len))
		goto out;
	pin0 = vmpin();
	pins(&acq0, &rel0);
	/* Room for libvtop's pin of the buffer, not for the MR's as well. */
	ret = set_memlock((rlim_t)pin0 + len + len / 2);
	if (ret) {
		fail("setrlimit(RLIMIT_MEMLOCK): %s\n", strerror(-ret));
		goto out;
	}
	printf("    CAP_IPC_LOCK dropped; RLIMIT_MEMLOCK %ld bytes: room for the pin (%zu bytes), not for the pin and the MR\n",
	       pin0 + (long)(len + len / 2), len);

	ret = vtop_mem_register(x.p, len);
	printf("    vtop_mem_register(%zu bytes): %d (%s)\n", len, ret,
	       ret ? strerror(-ret) : "success");
	if (ret != -ENOMEM)
		fail("vtop_mem_register() returned %d, want -ENOMEM from ibv_reg_mr()\n",
		     ret);
	if (c->stats.reg_failed != 1 || c->stats.last_reg_errno != ENOMEM)
		fail("the cache saw %" PRIu64 " ibv_reg_mr() failures (last errno %d), want 1 with ENOMEM\n",
		     c->stats.reg_failed, c->stats.last_reg_errno);
	else
		printf("    ibv_reg_mr() failed with ENOMEM in the REGISTER callback\n");
	expect_cache(c, 0, "after the failure");
	if (mrc_lookup(c, x.p))
		fail("the cache has an entry for the buffer\n");
	if (registered(x.p))
		fail("vtop_vtophys() translates the buffer\n");
	if (vtop_mem_get_stats(&st) || st.nr_registrations)
		fail("libvtop holds %" PRIu64 " registrations\n",
		     st.nr_registrations);
	if (vtop_env_get_info(&info) || info.nr_pins || info.pinned_bytes)
		fail("the module holds %u pins (%llu bytes)\n", info.nr_pins,
		     (unsigned long long)info.pinned_bytes);
	if (vmpin() != pin0)
		fail("VmPin is %ld bytes, was %ld\n", vmpin(), pin0);
	pins(&acq, &rel);
	printf("    FOLL_PIN pages during the failed registration: acquired %" PRIu64
	       ", released %" PRIu64 "\n", acq - acq0, rel - rel0);
	if (acq - acq0 == 0)
		fail("nothing was pinned: the failure came before libvtop's pin\n");
	if (acq - acq0 != rel - rel0)
		fail("%" PRIu64 " pinned pages were not released\n",
		     (acq - acq0) - (rel - rel0));
	expect_device_mrs(l, 0, "after the failure");

	/* Control: with room for both, the same buffer registers. */
	ret = set_memlock(saved.rlim_cur);
	if (!ret)
		ret = vtop_mem_register(x.p, len);
	if (ret) {
		fail("control: with RLIMIT_MEMLOCK restored, vtop_mem_register(): %s\n",
		     strerror(-ret));
	} else {
		printf("    control: with RLIMIT_MEMLOCK restored the buffer registers\n");
		expect_cache(c, 1, "control");
		expect_device_mrs(l, 1, "control");
		unreg(x.p, len, "control");
	}
out:
	set_memlock(saved.rlim_cur);
	xbuf_free(&x);
	mrc_destroy(c);
}

static void sc_teardown(struct loop *l)
{
	struct xbuf a[NR_KINDS], b[NR_KINDS], r = { 0 }, d = { 0 };
	struct vtop_mem_stats st = { .size = sizeof(st) };
	uint64_t acq0, rel0, acq, rel;
	struct mrc *c = NULL;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	pins(&acq0, &rel0);
	if (cache_create(l, &c))
		return;
	if (!kinds_alloc(a, b))
		span_alloc(&r, &d);
	if (!fails) {
		kinds_trips(l, c, a, b);
		span_trips(l, c, &r, &d);
	}
	printf("teardown 1: unregister everything, then free the cache\n");
	span_free(&r, &d);
	kinds_free(a, b, true);
	expect_cache(c, 0, "all unregistered");
	expect_device_mrs(l, 0, "all unregistered");
	mrc_destroy(c);
	c = NULL;

	printf("teardown 2: free the cache with registrations alive, then vtop_env_fini()\n");
	nr_regs = 0;
	if (cache_create(l, &c))
		return;
	if (!kinds_alloc(a, b))
		kinds_trips(l, c, a, b);
	expect_cache(c, nr_regs, "registered");
	expect_device_mrs(l, nr_regs, "registered");
	mrc_destroy(c);
	expect_device_mrs(l, 0, "cache freed");
	if (vtop_mem_get_stats(&st) || st.nr_registrations != nr_regs)
		fail("libvtop holds %" PRIu64 " registrations, want %u\n",
		     st.nr_registrations, nr_regs);
	vtop_env_fini();
	kinds_free(a, b, false);

	pins(&acq, &rel);
	printf("    FOLL_PIN pages since the start (device still open): acquired %"
	       PRIu64 ", released %" PRIu64 "\n", acq - acq0, rel - rel0);
	if (acq == acq0)
		fail("nothing was pinned\n");
	if (acq - acq0 != rel - rel0)
		fail("%" PRIu64 " pinned pages were not released\n",
		     (acq - acq0) - (rel - rel0));
	expect_device_mrs(l, 0, "after vtop_env_fini()");
}

/* ------------------------------------------------------------------------
 * main
 */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vtop-rdma --scenario NAME [--dev DEV] [--kinds LIST]\n"
		"                 [--remap-events poll|register|thread]\n"
		"  --scenario NAME  roundtrip, replay, remap, memlock, teardown\n"
		"  --dev DEV        verbs device (default: the first)\n"
		"  --kinds LIST     buffer kinds, of 4k,thp,hugetlb (default: all)\n"
		"  --remap-events HOW  remap: how libvtop learns of the munmap:\n"
		"                   poll (its event fd, vtop_mem_process_events())\n"
		"                   or register (vtop_mem_register() of the new\n"
		"                   memory processes it) or thread (libvtop's\n"
		"                   event thread, VTOP_ENV_EVENT_THREAD); default\n"
		"                   poll\n");
}

static int parse_kinds(char *s)
{
	char *t, *save = NULL;
	int k;

	memset(opt.kind, 0, sizeof(opt.kind));
	for (t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NR_KINDS; k++)
			if (!strcmp(t, kinds[k].name))
				break;
		if (k == NR_KINDS)
			return -1;
		opt.kind[k] = true;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "dev", required_argument, NULL, 'd' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "remap-events", required_argument, NULL, 'e' },
		/*
		 * Test only, not in --help: remap without letting libvtop
		 * process the event (no vtop_mem_process_events(), no new
		 * registration): the cache keeps the stale memory region, the
		 * WRITE must land in the old pages and the run must fail.
		 */
		{ "remap-no-events", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct loop l;
	int o, k, rc = 0;

	for (k = 0; k < NR_KINDS; k++)
		opt.kind[k] = true;
	while ((o = getopt_long(argc, argv, "s:d:k:e:h", lo, NULL)) != -1) {
		switch (o) {
		case 's':
			opt.scenario = optarg;
			break;
		case 'd':
			opt.dev = optarg;
			break;
		case 'k':
			if (parse_kinds(optarg)) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'e':
			if (!strcmp(optarg, "poll")) {
				opt.events = EV_POLL;
			} else if (!strcmp(optarg, "register")) {
				opt.events = EV_REGISTER;
			} else if (!strcmp(optarg, "thread")) {
				opt.events = EV_THREAD;
			} else {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'N':
			opt.events = EV_OFF;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!opt.scenario || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (opt.events == EV_THREAD) {
		struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;

		eo.flags = VTOP_ENV_EVENT_THREAD;
		rc = vtop_env_init(&eo);
		if (rc == -EOPNOTSUPP) {
			printf("SKIP: no invalidation events (module without VTOP_FEATURE_EVENTS)\n");
			return EXIT_SKIP;
		}
		if (rc) {
			printf("FAIL: vtop_env_init(VTOP_ENV_EVENT_THREAD): %s (%s)\n",
			       strerror(-rc), vtop_last_error());
			return 1;
		}
	}
	if (loop_open(&l, opt.dev)) {
		printf("FAIL: no connected queue pairs on a verbs device\n");
		return 1;
	}
	printf("%s: port %u, GID index %d, QPs 0x%x <-> 0x%x; libvtop %s\n",
	       l.dev_name, l.port, l.gid_index, l.qp[0]->qp_num,
	       l.qp[1]->qp_num, vtop_version());

	if (!strcmp(opt.scenario, "roundtrip")) {
		sc_roundtrip(&l, false);
	} else if (!strcmp(opt.scenario, "replay")) {
		sc_roundtrip(&l, true);
	} else if (!strcmp(opt.scenario, "remap")) {
		rc = sc_remap(&l);
	} else if (!strcmp(opt.scenario, "memlock")) {
		sc_memlock(&l);
	} else if (!strcmp(opt.scenario, "teardown")) {
		sc_teardown(&l);
	} else {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	vtop_env_fini();
	loop_close(&l);
	if (rc == EXIT_USAGE || rc == EXIT_SKIP)
		return rc;
	if (fails) {
		printf("FAIL: %s: %d problem(s)\n", opt.scenario, fails);
		return 1;
	}
	printf("PASS: %s\n", opt.scenario);
	return 0;
}
