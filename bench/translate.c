// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-bench-translate: how fast is an address translation?
 *
 * Compares, over the same address space of --size bytes (default 1 GiB):
 *   bare2        the floor: a two-level array lookup inlined in this file
 *                (top table by VA bits 47..30, second level by bits 29..21)
 *   bare3        the same plus a 4 KiB leaf (three dependent loads)
 *   bare2_call   bare2 behind an out-of-line call through a pointer: the
 *                floor for any lookup that is a library call
 *   map_2m       vtop_mem_map_translate(), 2 MiB entries
 *   map_4k       vtop_mem_map_translate(), 4 KiB entries
 *   lookup_2m    vtop_mem_map_lookup(), the inline lookup of vtop.h, 2 MiB
 *   lookup_4k    the same, 4 KiB entries
 *   vtophys      vtop_vtophys() on registered hugetlb memory (pagemap
 *                backend on the host, the kmod backend in the guest)
 *   vtophys_lookup vtop_vtophys_lookup(), inline, on the same memory
 *   pagemap_dpdk /proc/self/pagemap, open+lseek+read+close on every call,
 *                as DPDK's rte_mem_virt2phy() does
 *   pagemap_pread pread() of one entry on a descriptor kept open
 *   pagemap_batch pread() of 512 entries at once (sequential only; the
 *                cost is per page)
 * each with random and sequential (4 KiB stride) addresses, and
 *   writers      --threads readers running lookup_4k (and vtophys_lookup)
 *                lookups, without and with one more thread that sets and
 *                clears translations (registers and unregisters memory)
 *                elsewhere. By default 2 readers, but never more than the
 *                CPUs less one: the writer gets a CPU of its own, or what
 *                slows the readers down is the scheduler, not the writer.
 *   paired       (when bare, map and vtophys all run) each inline lookup
 *                and its bare lookup timed in the same rounds, for ratios
 *                that the machine's load changes alike on both sides
 *
 * Times are taken with the calling thread's CPU clock by default (the
 * machine is shared; --clock wall for wall time). Each case runs --repeats
 * times and is reported as median, p10, p90, min and max.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vtop.h>

#include "common.h"

#define NR_RAND		(1u << 16)	/* random addresses, 512 KiB */
#define TOP_ENTRIES	(1u << 18)	/* VA bits 47..30 */
#define L2_ENTRIES	512u		/* VA bits 29..21 */
#define LEAF_ENTRIES	512u		/* VA bits 20..12 */
#define PM_BATCH	512u		/* pagemap entries per batched read */
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define MAP_DEFAULT	UINT64_MAX
#define VAL_2M(i)	(0x1000000000ULL + (uint64_t)(i) * SZ_2M)
/* 4 KiB values are scattered so that no 2 MiB run looks contiguous. */
#define VAL_4K(i)	(0x2000000000ULL + \
			 ((uint64_t)(i) * 0x9E3779B1ULL % 0x10000000ULL) * SZ_4K)

struct opts {
	uint64_t size;
	uint64_t iterations;	/* 0: calibrate to --min-time */
	uint64_t min_time_ms;
	uint64_t repeats;
	uint64_t threads;
	uint64_t writer_pause_us;
	enum bench_clock clock;
	const char *cases;
	const char *env;
	const char *backend;	/* vtophys backend: pagemap or kmod */
	bool no_hugepages;
};

static struct opts o = {
	.size = SZ_1G,
	.min_time_ms = 100,
	.repeats = 7,
	.threads = 0,		/* auto: see main() */
	.clock = BENCH_CLOCK_CPU,
};

/* The address space every lookup case walks. */
struct space {
	uint64_t base;		/* 1 GiB aligned, or the hugetlb buffer */
	uint64_t size;
	uint64_t *rand;		/* NR_RAND random addresses in the space */
};

static struct space map_space;	/* for bare and map cases */
static struct space mem_space;	/* for vtophys and pagemap: real memory */

/* ---- bare two-level array (the floor) ---------------------------------- */

static uint64_t **bare_top;		/* TOP_ENTRIES pointers to L2 tables */
static uint64_t **bare_top3;		/* TOP_ENTRIES pointers to L2 tables */
					/* whose entries point to leaves */

static int bare_build(const struct space *sp)
{
	uint64_t n1g = sp->size / SZ_1G + !!(sp->size % SZ_1G);

	bare_top = calloc(TOP_ENTRIES, sizeof(*bare_top));
	bare_top3 = calloc(TOP_ENTRIES, sizeof(*bare_top3));
	if (!bare_top || !bare_top3)
		return -ENOMEM;
	for (uint64_t g = 0; g < n1g; g++) {
		uint64_t ti = ((sp->base >> 30) + g) & (TOP_ENTRIES - 1);
		uint64_t *l2 = aligned_alloc(4096, L2_ENTRIES * 8);
		uint64_t *l23 = aligned_alloc(4096, L2_ENTRIES * 8);

		if (!l2 || !l23)
			return -ENOMEM;
		bare_top[ti] = l2;
		bare_top3[ti] = l23;
		for (unsigned int i = 0; i < L2_ENTRIES; i++) {
			uint64_t idx2m = g * L2_ENTRIES + i;
			uint64_t *leaf = aligned_alloc(4096, LEAF_ENTRIES * 8);

			if (!leaf)
				return -ENOMEM;
			l2[i] = VAL_2M(idx2m);
			for (unsigned int j = 0; j < LEAF_ENTRIES; j++)
				leaf[j] = VAL_4K(idx2m * LEAF_ENTRIES + j);
			l23[i] = (uint64_t)(uintptr_t)leaf;
		}
	}
	return 0;
}

static inline uint64_t bare2_lookup(uint64_t va)
{
	return bare_top[(va >> 30) & (TOP_ENTRIES - 1)][(va >> 21) & 511];
}

static inline uint64_t bare3_lookup(uint64_t va)
{
	const uint64_t *leaf = (const uint64_t *)(uintptr_t)
		bare_top3[(va >> 30) & (TOP_ENTRIES - 1)][(va >> 21) & 511];

	return leaf[(va >> 12) & 511];
}

/*
 * The floor once more, behind an out-of-line call through a function
 * pointer (as a call into a shared library goes through its PLT entry):
 * what any lookup API that is not inlined into its caller pays at least.
 */
static __attribute__((noinline, noipa)) uint64_t bare2_fn(uint64_t va)
{
	return bare2_lookup(va);
}

static uint64_t (*volatile bare2_ptr)(uint64_t va) = bare2_fn;

/* ---- libvtop maps ------------------------------------------------------ */

static struct vtop_mem_map *map2m, *map4k;

static int maps_build(const struct space *sp)
{
	uint64_t n2m = sp->size / SZ_2M;
	int err;

	map2m = vtop_mem_map_alloc(MAP_DEFAULT, NULL, NULL);
	map4k = vtop_mem_map_alloc(MAP_DEFAULT, NULL, NULL);
	if (!map2m || !map4k)
		return -ENOMEM;
	for (uint64_t i = 0; i < n2m; i++) {
		err = vtop_mem_map_set_translation(map2m, sp->base + i * SZ_2M,
						   SZ_2M, VAL_2M(i));
		if (err)
			return err;
	}
	for (uint64_t i = 0; i < sp->size / SZ_4K; i++) {
		err = vtop_mem_map_set_translation(map4k, sp->base + i * SZ_4K,
						   SZ_4K, VAL_4K(i));
		if (err)
			return err;
	}
	return 0;
}

/* Every case's answer is checked once before it is timed. */
static int maps_verify(const struct space *sp)
{
	uint64_t s = 12345;

	for (int k = 0; k < 4096; k++) {
		uint64_t off = bench_rand(&s) % sp->size, va = sp->base + off;
		uint64_t e2 = VAL_2M(off / SZ_2M), e4 = VAL_4K(off / SZ_4K);

		if (bare2_lookup(va) != e2 || bare3_lookup(va) != e4) {
			bench_log("translate: bare lookup wrong at %#" PRIx64 "\n",
				  va);
			return -EIO;
		}
		if (vtop_mem_map_translate(map2m, va, NULL) != e2 ||
		    vtop_mem_map_translate(map4k, va, NULL) != e4 ||
		    vtop_mem_map_lookup(map2m, va) != e2 ||
		    vtop_mem_map_lookup(map4k, va) != e4) {
			bench_log("translate: map answers %#" PRIx64 "/%#" PRIx64
				  " at %#" PRIx64 ", expected %#" PRIx64 "/%#"
				  PRIx64 "\n",
				  vtop_mem_map_translate(map2m, va, NULL),
				  vtop_mem_map_translate(map4k, va, NULL), va,
				  e2, e4);
			return -EIO;
		}
	}
	return 0;
}

/* ---- pagemap baselines ------------------------------------------------- */

static int pm_fd = -1;

static uint64_t pm_entry_to_pa(uint64_t e, uint64_t va)
{
	if (!(e & PM_PRESENT))
		return VTOP_VTOPHYS_ERROR;
	return (e & PM_PFN_MASK) * SZ_4K + (va & (SZ_4K - 1));
}

/* DPDK's rte_mem_virt2phy(): a fresh descriptor on every call. */
static uint64_t pm_dpdk(uint64_t va)
{
	uint64_t e;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return VTOP_VTOPHYS_ERROR;
	if (lseek(fd, (off_t)(va / SZ_4K * 8), SEEK_SET) < 0 ||
	    read(fd, &e, 8) != 8) {
		close(fd);
		return VTOP_VTOPHYS_ERROR;
	}
	close(fd);
	return pm_entry_to_pa(e, va);
}

static uint64_t pm_pread(uint64_t va)
{
	uint64_t e;

	if (pread(pm_fd, &e, 8, (off_t)(va / SZ_4K * 8)) != 8)
		return VTOP_VTOPHYS_ERROR;
	return pm_entry_to_pa(e, va);
}

/* ---- timed loops ------------------------------------------------------- */

/*
 * One loop per case so that the lookup is inlined where it can be: an
 * indirect call would slow the floor down and flatter the library.
 * Random loops read addresses from a 512 KiB array (an L2-resident stream);
 * sequential loops walk the space page by page and wrap. @decl sets up a
 * loop-invariant local first (a map pointer kept in a register, as a data
 * path holds it).
 */
#define DEFINE_LOOPS_WITH(name, decl, expr)				\
static uint64_t name##_rand(const struct space *sp, uint64_t n)	\
{									\
	const uint64_t *a = sp->rand;					\
	uint64_t acc = 0;						\
	decl;								\
									\
	for (uint64_t i = 0; i < n; i++) {				\
		uint64_t va = a[i & (NR_RAND - 1)];			\
									\
		acc += (expr);						\
	}								\
	return acc;							\
}									\
static uint64_t name##_seq(const struct space *sp, uint64_t n)	\
{									\
	uint64_t acc = 0, va = sp->base, end = sp->base + sp->size;	\
	decl;								\
									\
	for (uint64_t i = 0; i < n; i++) {				\
		acc += (expr);						\
		va += SZ_4K;						\
		if (va == end)						\
			va = sp->base;					\
	}								\
	return acc;							\
}

#define DEFINE_LOOPS(name, expr) \
	DEFINE_LOOPS_WITH(name, (void)0, expr)

static const struct vtop_mem_map *vtmap;	/* vtop_vtophys_map() */

DEFINE_LOOPS(bare2, bare2_lookup(va))
DEFINE_LOOPS(bare3, bare3_lookup(va))
DEFINE_LOOPS(bare2_call, bare2_ptr(va))
DEFINE_LOOPS(map2m, vtop_mem_map_translate(map2m, va, NULL))
DEFINE_LOOPS(map4k, vtop_mem_map_translate(map4k, va, NULL))
DEFINE_LOOPS(vtophys, vtop_vtophys((const void *)(uintptr_t)va, NULL))
DEFINE_LOOPS_WITH(lookup2m, const struct vtop_mem_map *m = map2m,
		  vtop_mem_map_lookup(m, va))
DEFINE_LOOPS_WITH(lookup4k, const struct vtop_mem_map *m = map4k,
		  vtop_mem_map_lookup(m, va))
DEFINE_LOOPS_WITH(vtlookup, const struct vtop_mem_map *m = vtmap,
		  vtop_vtophys_lookup(m, (const void *)(uintptr_t)va))
DEFINE_LOOPS(pm_dpdk, pm_dpdk(va))
DEFINE_LOOPS(pm_pread, pm_pread(va))

/* 512 entries per read; n counts pages, rounded up to whole batches. */
static uint64_t pm_batch_seq(const struct space *sp, uint64_t n)
{
	uint64_t buf[PM_BATCH], acc = 0, va = sp->base;
	uint64_t end = sp->base + sp->size;

	for (uint64_t i = 0; i < n; i += PM_BATCH) {
		if (pread(pm_fd, buf, sizeof(buf), (off_t)(va / SZ_4K * 8)) !=
		    sizeof(buf))
			return VTOP_VTOPHYS_ERROR;
		for (unsigned int j = 0; j < PM_BATCH; j++)
			acc += pm_entry_to_pa(buf[j], va + j * SZ_4K);
		va += PM_BATCH * SZ_4K;
		if (va >= end)
			va = sp->base;
	}
	return acc;
}

typedef uint64_t (*loop_fn)(const struct space *sp, uint64_t n);

/* Lookups per repeat: --iterations, or about --min-time's worth of @fn. */
static uint64_t calibrate(loop_fn fn, const struct space *sp)
{
	uint64_t n = o.iterations, t0, t = 0;

	if (n) {
		bench_keep(fn(sp, n < 1024 ? n : 1024));	/* warm up */
		return n;
	}
	n = 1024;
	for (;;) {
		t0 = bench_now_ns(o.clock);
		bench_keep(fn(sp, n));
		t = bench_now_ns(o.clock) - t0;
		if (t >= o.min_time_ms * 1000000ULL / 4 || n >= (1ULL << 40))
			break;
		n *= t ? (o.min_time_ms * 1000000ULL / t > 16 ? 16 : 2) : 16;
	}
	n = t ? n * (o.min_time_ms * 1000000ULL) / t : n;
	return n ? n : 1;
}

/* Times @fn, calibrating the count first; fills ns per lookup per repeat. */
static uint64_t time_case(loop_fn fn, const struct space *sp, double *ns)
{
	uint64_t n = calibrate(fn, sp), t0, t;

	for (uint64_t r = 0; r < o.repeats; r++) {
		t0 = bench_now_ns(o.clock);
		bench_keep(fn(sp, n));
		t = bench_now_ns(o.clock) - t0;
		ns[r] = (double)t / (double)n;
	}
	return n;
}

static const char *env;

static void run_pair(const char *cas, const char *page, loop_fn rnd,
		     loop_fn seq, const struct space *sp);

static bool want(const char *name)
{
	return bench_want(o.cases, name);
}

static void report(const char *cas, const char *page, const char *param,
		   double *ns, uint64_t size)
{
	struct bench_stats st;
	double rate[64];
	int n = (int)o.repeats;

	for (int i = 0; i < n; i++)
		rate[i] = ns[i] > 0 ? 1e3 / ns[i] : 0;	/* million per s */
	bench_stats(ns, n, &st);
	bench_csv_row("translate", env, cas, page, size, param, "ns/lookup",
		      &st);
	bench_stats(rate, n, &st);
	bench_csv_row("translate", env, cas, page, size, param, "Mlookup/s",
		      &st);
}

static void run_pair(const char *cas, const char *page, loop_fn rnd,
		     loop_fn seq, const struct space *sp)
{
	double ns[64];
	uint64_t n;

	if (rnd) {
		n = time_case(rnd, sp, ns);
		bench_log("  %-14s random     %8.2f ns  (%" PRIu64 " lookups)\n",
			  cas, ns[0], n);
		report(cas, page, "random", ns, sp->size);
	}
	if (seq) {
		n = time_case(seq, sp, ns);
		bench_log("  %-14s sequential %8.2f ns  (%" PRIu64 " lookups)\n",
			  cas, ns[0], n);
		report(cas, page, "sequential", ns, sp->size);
	}
}

static void run_pagemap(const char *page, const struct space *sp)
{
	run_pair("pagemap_dpdk", page, pm_dpdk_rand, pm_dpdk_seq, sp);
	run_pair("pagemap_pread", page, pm_pread_rand, pm_pread_seq, sp);
	run_pair("pagemap_batch", page, NULL, pm_batch_seq, sp);
}

/* ---- readers with and without a concurrent writer --------------------- */

enum writer_kind { WRITER_NONE, WRITER_MAP, WRITER_REGISTER };

struct rw_ctx {
	const struct space *sp;
	loop_fn fn;
	uint64_t n;
	atomic_int start;
	atomic_int readers_left;
	atomic_int stop;
	enum writer_kind writer;
	uint64_t writer_ops;
	int writer_err;
	void *wmem;		/* memory the writer registers */
	uint64_t wlen;
	uint64_t wbase;		/* map range the writer sets and clears */
};

struct reader {
	struct rw_ctx *c;
	pthread_t tid;
	double ns;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct rw_ctx *c = r->c;
	uint64_t t0, t;

	while (!atomic_load(&c->start))
		;
	t0 = bench_now_ns(o.clock);
	bench_keep(c->fn(c->sp, c->n));
	t = bench_now_ns(o.clock) - t0;
	r->ns = (double)t / (double)c->n;
	atomic_fetch_sub(&c->readers_left, 1);
	return NULL;
}

static void writer_pause(void)
{
	if (o.writer_pause_us)
		usleep(o.writer_pause_us);
}

static void *writer_main(void *arg)
{
	struct rw_ctx *c = arg;
	int err = 0;

	while (!atomic_load(&c->start))
		;
	while (!atomic_load(&c->stop) && !err) {
		if (c->writer == WRITER_MAP) {
			/* 2 MiB of 4 KiB entries on, then off again. */
			for (uint64_t off = 0; off < SZ_2M && !err;
			     off += SZ_4K)
				err = vtop_mem_map_set_translation(map4k,
					c->wbase + off, SZ_4K, VAL_4K(off));
			if (!err)
				err = vtop_mem_map_clear_translation(map4k,
					c->wbase, SZ_2M);
		} else {
			err = vtop_mem_register(c->wmem, c->wlen);
			if (!err)
				err = vtop_mem_unregister(c->wmem, c->wlen);
		}
		c->writer_ops++;
		writer_pause();
	}
	c->writer_err = err;
	return NULL;
}

/* One repeat: the readers' mean ns per lookup, and writer ops per second. */
static int run_rw(const char *cas, loop_fn fn, const struct space *sp,
		  enum writer_kind wk, void *wmem, uint64_t wlen, uint64_t n,
		  double *ns, double *wops)
{
	struct reader rd[16];
	uint64_t nt = o.threads > 16 ? 16 : o.threads;

	{
		struct rw_ctx c = {
			.sp = sp, .fn = fn, .n = n, .writer = wk,
			.wmem = wmem, .wlen = wlen,
			/* 2 MiB past the end of the read range */
			.wbase = sp->base + sp->size + SZ_2M,
		};
		pthread_t wt;
		uint64_t t0 = bench_now_ns(BENCH_CLOCK_WALL), t;
		double sum = 0;

		atomic_store(&c.readers_left, (int)nt);
		for (uint64_t i = 0; i < nt; i++) {
			rd[i].c = &c;
			if (pthread_create(&rd[i].tid, NULL, reader_main, &rd[i]))
				return -EAGAIN;
		}
		if (wk != WRITER_NONE &&
		    pthread_create(&wt, NULL, writer_main, &c))
			return -EAGAIN;
		atomic_store(&c.start, 1);
		for (uint64_t i = 0; i < nt; i++) {
			pthread_join(rd[i].tid, NULL);
			sum += rd[i].ns;
		}
		t = bench_now_ns(BENCH_CLOCK_WALL) - t0;
		atomic_store(&c.stop, 1);
		if (wk != WRITER_NONE) {
			pthread_join(wt, NULL);
			if (c.writer_err) {
				bench_log("translate: %s writer failed: %s\n",
					  cas, strerror(-c.writer_err));
				return c.writer_err;
			}
		}
		*ns = sum / (double)nt;
		*wops = (double)c.writer_ops * 1e9 / (double)t;
	}
	return 0;
}

static int run_writers(const char *cas, const char *page, loop_fn fn,
		       const struct space *sp,
		       enum writer_kind wk, void *wmem, uint64_t wlen)
{
	double ns0[64], ns1[64], wops[64], slow[64], tmp[64], dummy;
	struct bench_stats st;
	char param[64];
	/*
	 * Each pair is two short runs on a shared machine: take at least 21
	 * of them, so that the median of the per-pair ratios is stable.
	 */
	uint64_t pairs = o.repeats > 21 ? o.repeats : 21;
	uint64_t n;
	int err;

	/* Count: what one reader does in --min-time alone. */
	n = time_case(fn, sp, tmp);
	snprintf(param, sizeof(param), "readers=%" PRIu64, o.threads);
	/*
	 * Pairs of runs without and with the writer, in alternating order,
	 * so that load from elsewhere on the machine hits both alike; the
	 * slow-down is taken within each pair.
	 */
	for (uint64_t r = 0; r < pairs; r++) {
		for (int k = 0; k < 2; k++) {
			bool with = (k + r) % 2;

			err = with ? run_rw(cas, fn, sp, wk, wmem, wlen, n,
					    &ns1[r], &wops[r]) :
				     run_rw(cas, fn, sp, WRITER_NONE, NULL, 0,
					    n, &ns0[r], &dummy);
			if (err)
				return err;
		}
		slow[r] = ns1[r] / ns0[r] - 1;
	}
	bench_log("  %-14s %s: %.2f ns alone, %.2f ns with a writer "
		  "(%.0f writer ops/s)\n", cas, param, ns0[0], ns1[0], wops[0]);
	bench_stats(ns0, (int)pairs, &st);
	bench_csv_row("translate", env, cas, page, sp->size,
		      "random no-writer", "ns/lookup", &st);
	bench_stats(ns1, (int)pairs, &st);
	bench_csv_row("translate", env, cas, page, sp->size,
		      "random writer", "ns/lookup", &st);
	bench_stats(wops, (int)pairs, &st);
	bench_csv_row("translate", env, cas, page, sp->size,
		      "random writer", "writer-ops/s", &st);
	bench_stats(slow, (int)pairs, &st);
	bench_csv_row("translate", env, cas, page, sp->size,
		      "random writer", "slow-down", &st);
	st.median = st.p10 = st.p90 = st.min = st.max = (double)o.threads;
	bench_csv_row("translate", env, cas, page, sp->size, "readers",
		      "threads", &st);
	return 0;
}

/* ---- inline lookups against the bare ones, in the same moments ------ */

/*
 * The rows above time each case's repeats back to back, one case after
 * the other, seconds apart. On a shared machine (another guest on the
 * sibling hardware thread) the bare loop alone then varies by up to 2x
 * within a process, and a ratio of two such medians measures the machine
 * as much as the lookup. Here every round times each loop once, in an
 * order that rotates from round to round, and each round gives its own
 * ratios; the rows are the statistics of those per-round ratios
 * (param "random paired" / "sequential paired", unit "ratio", case
 * "lookup/bare").
 */
struct paired_case {
	const char *name;	/* "lookup_2m/bare2" */
	const char *page;
	loop_fn fn[2];		/* the lookup, its bare lookup */
	const struct space *sp[2];
	uint64_t n[2];
	double t[2];
	double ratio[64];
};

#define PAIRED_MIN_ROUNDS	11

static void run_paired(const char *param, struct paired_case *pc, int npc)
{
	uint64_t rounds = o.repeats > PAIRED_MIN_ROUNDS ? o.repeats :
			  PAIRED_MIN_ROUNDS;
	int nloops = 2 * npc;
	struct bench_stats st;

	if (rounds > 64)
		rounds = 64;
	for (int k = 0; k < nloops; k++)
		pc[k / 2].n[k % 2] = calibrate(pc[k / 2].fn[k % 2],
					       pc[k / 2].sp[k % 2]);
	for (uint64_t r = 0; r < rounds; r++) {
		for (int j = 0; j < nloops; j++) {
			int k = (int)((j + r) % (uint64_t)nloops);
			struct paired_case *c = &pc[k / 2];
			uint64_t t0 = bench_now_ns(o.clock);

			bench_keep(c->fn[k % 2](c->sp[k % 2], c->n[k % 2]));
			c->t[k % 2] = (double)(bench_now_ns(o.clock) - t0) /
				      (double)c->n[k % 2];
		}
		for (int i = 0; i < npc; i++)
			pc[i].ratio[r] = pc[i].t[1] > 0 ?
					 pc[i].t[0] / pc[i].t[1] : 0;
	}
	for (int i = 0; i < npc; i++) {
		bench_stats(pc[i].ratio, (int)rounds, &st);
		bench_log("  %-22s %s %6.2fx (p10 %.2f, p90 %.2f)\n",
			  pc[i].name, param, st.median, st.p10, st.p90);
		bench_csv_row("translate", env, pc[i].name, pc[i].page,
			      pc[i].sp[0]->size, param, "ratio", &st);
	}
}

/* ---- set-up ------------------------------------------------------------ */

static void random_addrs(struct space *sp, uint64_t seed)
{
	sp->rand = malloc(NR_RAND * sizeof(*sp->rand));
	if (!sp->rand) {
		bench_log("translate: out of memory\n");
		exit(1);
	}
	for (unsigned int i = 0; i < NR_RAND; i++)
		sp->rand[i] = sp->base + bench_rand(&seed) % sp->size;
}

static int env_init(void)
{
	struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;

	if (!strcmp(o.backend, "pagemap"))
		eo.backend = VTOP_BACKEND_PAGEMAP;
	else
		eo.backend = VTOP_BACKEND_KMOD;
	return vtop_env_init(&eo);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vtop-bench-translate [options]\n"
"  -s, --size SIZE        address space per case (default 1G, >= 2M)\n"
"  -i, --iterations N     lookups per repeat (default: calibrated)\n"
"  -t, --min-time MS      calibration target per repeat (default 100)\n"
"  -r, --repeats N        repeats per case (default 7)\n"
"  -T, --threads N        reader threads in the writer cases (default 2,\n"
"                         at most the CPUs less one)\n"
"  -p, --writer-pause US  writer sleeps US between operations (default 0)\n"
"  -c, --cases LIST       comma list of: bare,map,vtophys,pagemap,writers\n"
"      --clock cpu|wall   timing clock (default cpu: thread CPU time)\n"
"      --backend pagemap|kmod  vtophys backend (default: kmod in the\n"
"                         guest, pagemap on the host)\n"
"      --no-hugepages     do not reserve hugepages (skips vtophys)\n"
"      --env host|guest   label of the rows (default: detected)\n"
"Prints CSV rows (" BENCH_CSV_HEADER ") on stdout.\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "min-time", required_argument, NULL, 't' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 'T' },
		{ "writer-pause", required_argument, NULL, 'p' },
		{ "cases", required_argument, NULL, 'c' },
		{ "clock", required_argument, NULL, 'C' },
		{ "backend", required_argument, NULL, 'b' },
		{ "no-hugepages", no_argument, NULL, 'H' },
		{ "env", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "s:i:t:r:T:p:c:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			err = bench_parse_size(optarg, &o.size);
			if (!err && (o.size < SZ_2M || o.size % SZ_2M))
				err = -EINVAL;
			break;
		case 'i':
			err = bench_parse_uint(optarg, 1, 1ULL << 40,
					       &o.iterations);
			break;
		case 't':
			err = bench_parse_uint(optarg, 1, 60000,
					       &o.min_time_ms);
			break;
		case 'r':
			err = bench_parse_uint(optarg, 1, 64, &o.repeats);
			break;
		case 'T':
			err = bench_parse_uint(optarg, 1, 16, &o.threads);
			break;
		case 'p':
			err = bench_parse_uint(optarg, 0, 1000000,
					       &o.writer_pause_us);
			break;
		case 'c':
			o.cases = optarg;
			break;
		case 'C':
			err = bench_parse_clock(optarg, &o.clock);
			break;
		case 'b':
			if (strcmp(optarg, "pagemap") && strcmp(optarg, "kmod"))
				err = -EINVAL;
			o.backend = optarg;
			break;
		case 'H':
			o.no_hugepages = true;
			break;
		case 'e':
			o.env = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (err) {
			bench_log("vtop-bench-translate: bad value for -%c: %s\n",
				  c, optarg);
			return err;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	void *mem = NULL, *wmem = NULL;
	uint64_t memlen = 0, wlen = 0;
	bool have_mem = false, registered = false;
	char szs[32];
	int err;

	if (parse_args(argc, argv))
		return 2;
	env = bench_env(o.env);
	if (!o.threads) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		o.threads = ncpu >= 3 ? 2 : 1;
	}
	if (!o.backend)
		o.backend = strncmp(env, "guest", 5) ? "pagemap" : "kmod";
	bench_log("vtop-bench-translate: %s, %s address space, %" PRIu64
		  " repeats, %s clock\n", env,
		  bench_size_str(o.size, szs, sizeof(szs)), o.repeats,
		  o.clock == BENCH_CLOCK_CPU ? "thread-CPU" : "wall");
	bench_csv_header();

	/* The map cases use a 1 GiB aligned range that holds no memory. */
	map_space.base = 0x100000000000ULL;
	map_space.size = o.size;
	random_addrs(&map_space, 1);

	if (want("bare") || want("map") || want("writers")) {
		err = bare_build(&map_space);
		if (!err)
			err = maps_build(&map_space);
		if (!err)
			err = maps_verify(&map_space);
		if (err) {
			bench_log("translate: building the maps failed: %s\n",
				  strerror(-err));
			return 1;
		}
	}
	if (want("bare")) {
		run_pair("bare2", "2m", bare2_rand, bare2_seq, &map_space);
		run_pair("bare3", "4k", bare3_rand, bare3_seq, &map_space);
		run_pair("bare2_call", "2m", bare2_call_rand, bare2_call_seq,
			 &map_space);
	}
	if (want("map")) {
		run_pair("map_2m", "2m", map2m_rand, map2m_seq, &map_space);
		run_pair("map_4k", "4k", map4k_rand, map4k_seq, &map_space);
		run_pair("lookup_2m", "2m", lookup2m_rand, lookup2m_seq,
			 &map_space);
		run_pair("lookup_4k", "4k", lookup4k_rand, lookup4k_seq,
			 &map_space);
	}
	if (want("writers")) {
		err = run_writers("map_4k_writers", "4k", lookup4k_rand,
				  &map_space, WRITER_MAP, NULL, 0);
		if (err)
			return 1;
	}

	/*
	 * Real memory. Hugetlb for vtophys (the pagemap backend accepts only
	 * hugetlb, whose pages cannot move) and for pagemap on hugetlb; then
	 * 4 KiB anonymous memory for pagemap on 4 KiB pages. The two are
	 * reported apart: pagemap fills 512 entries of a huge page at once.
	 */
	if (!want("vtophys") && !want("pagemap") && !want("writers"))
		return 0;
	pm_fd = open("/proc/self/pagemap", O_RDONLY);
	if (want("pagemap") && pm_fd < 0) {
		bench_log("translate: /proc/self/pagemap: %s\n",
			  strerror(errno));
		return 1;
	}
	if (!bench_hugepages_reserve((long)(o.size / SZ_2M) + 1,
				     !o.no_hugepages) &&
	    !bench_alloc_mem(BENCH_PAGE_HUGETLB, o.size, &mem, &memlen) &&
	    !bench_alloc_mem(BENCH_PAGE_HUGETLB, SZ_2M, &wmem, &wlen)) {
		have_mem = true;
	} else {
		bench_log("translate: no %s of hugepages: vtophys and "
			  "pagemap on hugetlb skipped\n", szs);
	}
	if (have_mem) {
		mem_space.base = (uint64_t)(uintptr_t)mem;
		mem_space.size = o.size;
		random_addrs(&mem_space, 2);
	}

	if (have_mem && (want("vtophys") || want("writers"))) {
		err = env_init();
		if (!err)
			err = vtop_mem_register(mem, o.size);
		if (err) {
			bench_log("translate: %s backend: registering %s "
				  "failed: %s (%s): vtophys skipped\n",
				  o.backend, szs, strerror(-err),
				  vtop_last_error());
		} else {
			registered = true;
		}
	}
	if (registered) {
		vtmap = vtop_vtophys_map();
		if (!vtmap) {
			bench_log("translate: vtop_vtophys_map: %s\n",
				  vtop_last_error());
			return 1;
		}
		/* vtophys must agree with pagemap (root sees the PFNs). */
		for (int k = 0; k < 64 && pm_fd >= 0; k++) {
			uint64_t va = mem_space.rand[k];
			uint64_t a = vtop_vtophys((void *)(uintptr_t)va, NULL);
			uint64_t b = pm_pread(va);

			if (a != vtop_vtophys_lookup(vtmap,
						     (void *)(uintptr_t)va) ||
			    a == VTOP_VTOPHYS_ERROR ||
			    (b != VTOP_VTOPHYS_ERROR && b >= SZ_4K && a != b)) {
				bench_log("translate: vtophys(%#" PRIx64 ") = %#"
					  PRIx64 ", pagemap says %#" PRIx64 "\n",
					  va, a, b);
				return 1;
			}
		}
		if (want("vtophys")) {
			run_pair("vtophys", "hugetlb", vtophys_rand,
				 vtophys_seq, &mem_space);
			run_pair("vtophys_lookup", "hugetlb", vtlookup_rand,
				 vtlookup_seq, &mem_space);
		}
		if (want("bare") && want("map") && want("vtophys")) {
#define PAIRED(nm, pg, f, b, s0) \
	{ .name = nm, .page = pg, .fn = { f, b }, .sp = { s0, &map_space } }
			struct paired_case rnd[] = {
				PAIRED("lookup_2m/bare2", "2m", lookup2m_rand,
				       bare2_rand, &map_space),
				PAIRED("lookup_4k/bare3", "4k", lookup4k_rand,
				       bare3_rand, &map_space),
				PAIRED("vtophys_lookup/bare2", "hugetlb",
				       vtlookup_rand, bare2_rand, &mem_space),
			}, seq[] = {
				PAIRED("lookup_2m/bare2", "2m", lookup2m_seq,
				       bare2_seq, &map_space),
				PAIRED("lookup_4k/bare3", "4k", lookup4k_seq,
				       bare3_seq, &map_space),
				PAIRED("vtophys_lookup/bare2", "hugetlb",
				       vtlookup_seq, bare2_seq, &mem_space),
			};
#undef PAIRED

			bench_log("  paired rounds (per-round ratios):\n");
			run_paired("random paired", rnd, 3);
			run_paired("sequential paired", seq, 3);
		}
		if (want("writers") &&
		    run_writers("vtophys_writers", "hugetlb", vtlookup_rand,
				&mem_space, WRITER_REGISTER, wmem, wlen))
			return 1;
		err = vtop_mem_unregister(mem, o.size);
		if (err) {
			bench_log("translate: unregister: %s\n", strerror(-err));
			return 1;
		}
	}
	if (have_mem && want("pagemap"))
		run_pagemap("hugetlb", &mem_space);
	bench_free_mem(mem, memlen);
	bench_free_mem(wmem, wlen);
	bench_hugepages_restore();

	if (want("pagemap")) {
		err = bench_alloc_mem(BENCH_PAGE_4K, o.size, &mem, &memlen);
		if (err) {
			bench_log("translate: cannot map %s: %s\n", szs,
				  strerror(-err));
			return 1;
		}
		mem_space.base = (uint64_t)(uintptr_t)mem;
		mem_space.size = o.size;
		free(mem_space.rand);
		random_addrs(&mem_space, 3);
		run_pagemap("4k", &mem_space);
		bench_free_mem(mem, memlen);
	}
	return 0;
}
