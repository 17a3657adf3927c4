// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-bench-rdma: why RDMA registration caches exist, measured.
 *
 * On a verbs device (soft-RoCE in the guest), for messages of --sizes bytes
 * (default 4K,16K,64K,256K,1M) in 4 KiB pages, the cost per message of
 * getting keys for the buffer:
 *   lookup     through the libvtop MR cache (examples/rdma/mrcache.c): the
 *              inline lookup of the buffer's MR, its lkey (the buffer was
 *              registered once with vtop_mem_register())
 *   sges       the same through mrc_sges() (a call: SGE list with the run
 *              over the MR)
 *   reg_dereg  ibv_reg_mr() + ibv_dereg_mr() of the buffer per message
 * and with --cases write (not by default) also the whole message, an RDMA
 * WRITE between two loopback QPs waited for:
 *   write_cached     keys from the cache
 *   write_reg_dereg  ibv_reg_mr() of both buffers, WRITE, ibv_dereg_mr()
 * (in a TCG guest soft-RoCE's completion waits for its kernel worker to be
 * scheduled, milliseconds that hide everything else: hence not by default)
 * Rows: bench=rdma, page=4k, size=message bytes, unit ns/msg (CSV of
 * bench/common.h). Timing is wall clock; compare ratios, not values.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vtop.h>

#include "common.h"
#include "loop.h"
#include "mrcache.h"

#define MAX_SIZES	16
#define MAX_REPEATS	64

static struct {
	uint64_t sizes[MAX_SIZES];
	int nr_sizes;
	uint64_t repeats;
	uint64_t lookups;	/* per repeat */
	uint64_t regs;		/* per repeat, at 4 KiB; fewer for larger */
	const char *cases;
	const char *dev;
} o = {
	.repeats = 5,
	.lookups = 200000,
	.regs = 200,
	.cases = "lookup,sges,reg_dereg",
};

static const char *env;
static struct loop lp;
static struct mrc *cache;

/* Iterations of a per-message case for @size: fewer for big messages. */
static uint64_t iters(uint64_t base, uint64_t size)
{
	uint64_t n = base * SZ_4K / size;

	return n < 10 ? 10 : n;
}

static void row(const char *cas, uint64_t size, double *v, int n)
{
	struct bench_stats st;

	bench_stats(v, n, &st);
	bench_csv_row("rdma", env, cas, "4k", size, "", "ns/msg", &st);
	bench_log("rdma %-16s %8llu bytes: %.4g ns/msg (median of %d)\n", cas,
		  (unsigned long long)size, st.median, n);
}

static int measure(uint8_t *a, uint8_t *b, uint64_t size)
{
	double v[MAX_REPEATS];
	uint64_t t0, i, n, acc = 0;
	struct ibv_sge sge[LOOP_MAX_SGE];
	struct ibv_mr *ma, *mb;
	uint32_t rkey;
	int r, ret;

	if (bench_want(o.cases, "lookup")) {
		for (r = 0; r < (int)o.repeats; r++) {
			t0 = bench_now_ns(BENCH_CLOCK_WALL);
			for (i = 0; i < o.lookups; i++) {
				/* A different message of the buffer each time. */
				ma = mrc_lookup(cache, a + ((i * SZ_4K) & (size - 1)));
				acc += ma->lkey;
			}
			v[r] = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0) /
			       (double)o.lookups;
		}
		row("lookup", size, v, r);
	}
	if (bench_want(o.cases, "sges")) {
		n = o.lookups / 4;
		for (r = 0; r < (int)o.repeats; r++) {
			t0 = bench_now_ns(BENCH_CLOCK_WALL);
			for (i = 0; i < n; i++) {
				ret = mrc_sges(cache, a, size, sge, LOOP_MAX_SGE);
				if (ret != 1)
					return ret < 0 ? ret : -EPROTO;
				acc += sge[0].lkey;
			}
			v[r] = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0) /
			       (double)n;
		}
		row("sges", size, v, r);
	}
	if (bench_want(o.cases, "reg_dereg")) {
		n = iters(o.regs, size);
		for (r = 0; r < (int)o.repeats; r++) {
			t0 = bench_now_ns(BENCH_CLOCK_WALL);
			for (i = 0; i < n; i++) {
				ma = ibv_reg_mr(lp.pd, a, size, MRC_ACCESS);
				if (!ma)
					return -errno;
				acc += ma->lkey;
				ibv_dereg_mr(ma);
			}
			v[r] = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0) /
			       (double)n;
		}
		row("reg_dereg", size, v, r);
	}
	if (bench_want(o.cases, "write")) {
		n = iters(o.regs / 4, size);
		for (r = 0; r < (int)o.repeats; r++) {
			t0 = bench_now_ns(BENCH_CLOCK_WALL);
			for (i = 0; i < n; i++) {
				ret = mrc_sges(cache, a, size, sge, LOOP_MAX_SGE);
				if (ret < 0 || mrc_rkey(cache, b, size, &rkey))
					return -EINVAL;
				ret = loop_write(&lp, sge, ret,
						 (uint64_t)(uintptr_t)b, rkey,
						 10000);
				if (ret)
					return ret;
			}
			v[r] = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0) /
			       (double)n;
		}
		row("write_cached", size, v, r);
		for (r = 0; r < (int)o.repeats; r++) {
			t0 = bench_now_ns(BENCH_CLOCK_WALL);
			for (i = 0; i < n; i++) {
				ma = ibv_reg_mr(lp.pd, a, size, MRC_ACCESS);
				mb = ibv_reg_mr(lp.pd, b, size, MRC_ACCESS);
				if (!ma || !mb)
					return -errno;
				sge[0].addr = (uintptr_t)a;
				sge[0].length = (uint32_t)size;
				sge[0].lkey = ma->lkey;
				ret = loop_write(&lp, sge, 1,
						 (uint64_t)(uintptr_t)b,
						 mb->rkey, 10000);
				ibv_dereg_mr(ma);
				ibv_dereg_mr(mb);
				if (ret)
					return ret;
			}
			v[r] = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0) /
			       (double)n;
		}
		row("write_reg_dereg", size, v, r);
	}
	bench_keep(acc);
	return 0;
}

static int parse_sizes(char *s)
{
	char *t, *save = NULL;

	o.nr_sizes = 0;
	for (t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (o.nr_sizes == MAX_SIZES || bench_parse_size(t, &v) ||
		    v < SZ_4K || (v & (v - 1)))
			return -EINVAL;
		o.sizes[o.nr_sizes++] = v;
	}
	return o.nr_sizes ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vtop-bench-rdma [--dev DEV] [--sizes LIST] [--repeats N]\n"
		"                       [--lookups N] [--regs N] [--cases LIST]\n"
		"  --sizes LIST   message sizes, powers of two >= 4K (default\n"
		"                 4K,16K,64K,256K,1M)\n"
		"  --cases LIST   lookup,sges,reg_dereg,write (default: all but\n"
		"                 write)\n"
		"  --lookups N    cache lookups per repeat (default 200000)\n"
		"  --regs N       ibv_reg_mr/dereg per repeat at 4 KiB, scaled\n"
		"                 down for bigger messages (default 200)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "sizes", required_argument, NULL, 's' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "regs", required_argument, NULL, 'g' },
		{ "cases", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char dflt[] = "4K,16K,64K,256K,1M";
	uint64_t max = 0;
	void *a = NULL, *b = NULL;
	uint64_t la = 0, lb = 0;
	int c, i, ret;

	parse_sizes(dflt);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dev = optarg;
			break;
		case 's':
			if (parse_sizes(optarg))
				goto bad;
			break;
		case 'r':
			if (bench_parse_uint(optarg, 1, MAX_REPEATS, &o.repeats))
				goto bad;
			break;
		case 'l':
			if (bench_parse_uint(optarg, 1, 1ULL << 32, &o.lookups))
				goto bad;
			break;
		case 'g':
			if (bench_parse_uint(optarg, 1, 1ULL << 20, &o.regs))
				goto bad;
			break;
		case 'c':
			o.cases = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	env = bench_env(NULL);
	for (i = 0; i < o.nr_sizes; i++)
		if (o.sizes[i] > max)
			max = o.sizes[i];

	if (loop_open(&lp, o.dev))
		return 1;
	ret = bench_alloc_mem(BENCH_PAGE_4K, max, &a, &la);
	if (!ret)
		ret = bench_alloc_mem(BENCH_PAGE_4K, max, &b, &lb);
	if (!ret)
		ret = mrc_create(lp.pd, &cache);
	if (!ret)
		ret = vtop_mem_register(a, max);
	if (!ret)
		ret = vtop_mem_register(b, max);
	if (ret) {
		bench_log("vtop-bench-rdma: set-up: %s (%s)\n", strerror(-ret),
			  vtop_last_error());
		return 1;
	}
	bench_csv_header();
	for (i = 0; i < o.nr_sizes && !ret; i++)
		ret = measure(a, b, o.sizes[i]);
	if (ret)
		bench_log("vtop-bench-rdma: %s\n", strerror(-ret));
	vtop_mem_unregister(a, max);
	vtop_mem_unregister(b, max);
	mrc_destroy(cache);
	vtop_env_fini();
	bench_free_mem(a, la);
	bench_free_mem(b, lb);
	loop_close(&lp);
	return ret ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
