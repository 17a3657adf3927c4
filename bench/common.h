/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the vtop benchmarks: clocks, repeat statistics, sizes,
 * memory of each page kind, and the CSV rows every benchmark prints.
 *
 * Every benchmark writes CSV rows to stdout, one per measured case:
 *   bench,env,case,page,size,param,unit,median,p10,p90,min,max,repeats
 * and a human-readable progress log to stderr. bench/report.sh turns the
 * rows of one `make bench` run into results.md, results.csv and plot.png.
 */
#ifndef VTOP_BENCH_COMMON_H
#define VTOP_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SZ_4K	((uint64_t)4096)
#define SZ_2M	((uint64_t)2 << 20)
#define SZ_1G	((uint64_t)1 << 30)

/* Header line of the CSV all benchmarks print (report.sh expects it). */
#define BENCH_CSV_HEADER \
	"bench,env,case,page,size,param,unit,median,p10,p90,min,max,repeats"

enum bench_clock {
	BENCH_CLOCK_WALL,	/* CLOCK_MONOTONIC */
	BENCH_CLOCK_CPU,	/* CLOCK_THREAD_CPUTIME_ID */
};

struct bench_stats {
	double median;
	double p10;
	double p90;
	double min;
	double max;
	int n;
};

uint64_t bench_now_ns(enum bench_clock clk);
int bench_parse_clock(const char *s, enum bench_clock *clk);

/* Sorts @v in place; @n >= 1. Percentiles by linear interpolation. */
void bench_stats(double *v, int n, struct bench_stats *st);

/* "4096", "64K", "2M", "1G" (binary units). Returns 0 or -EINVAL. */
int bench_parse_size(const char *s, uint64_t *out);
int bench_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Is @name in the comma-separated list @cases (NULL or "all": every case)? */
bool bench_want(const char *cases, const char *name);
const char *bench_size_str(uint64_t size, char *buf, size_t len);

/*
 * "host:<release>" or "guest:<release>": the guest is recognised by the
 * rig's /vtop directory unless @where is given.
 */
const char *bench_env(const char *where);

void bench_csv_header(void);
void bench_csv_row(const char *bench, const char *env, const char *cas,
		   const char *page, uint64_t size, const char *param,
		   const char *unit, const struct bench_stats *st);

/* Page kinds of test memory. */
enum bench_page {
	BENCH_PAGE_4K,		/* anonymous, MADV_NOHUGEPAGE */
	BENCH_PAGE_THP,		/* anonymous, 2 MiB aligned, MADV_HUGEPAGE */
	BENCH_PAGE_HUGETLB,	/* MAP_HUGETLB 2 MiB */
};

int bench_parse_page(const char *s, enum bench_page *page);
/*
 * Comma lists of the registration benchmarks' options, parsed in place
 * (strtok): "4K,64K,2M" into at most @max sizes (each a multiple of 4 KiB,
 * 1 GiB at most), and "4k,thp,hugetlb" into @pages[kind]. Return 0 or
 * -EINVAL.
 */
int bench_parse_sizes(char *arg, uint64_t *sizes, int max, int *nr);
int bench_parse_pages(char *arg, bool pages[3]);
const char *bench_page_name(enum bench_page page);

/*
 * Maps @len bytes (rounded up to 2 MiB for THP and hugetlb) of the given
 * kind, touches every 4 KiB page so it is populated, and for THP checks
 * that the kernel really backed it with huge pages (-EOPNOTSUPP if not).
 * On success *@mem points to the memory and *@maplen holds the mapped
 * length for bench_free_mem(). Returns 0 or -errno.
 */
int bench_alloc_mem(enum bench_page page, uint64_t len, void **mem,
		    uint64_t *maplen);
void bench_free_mem(void *mem, uint64_t maplen);

/* Bytes of AnonHugePages in /proc/self/smaps for [addr, addr+len). */
int64_t bench_thp_bytes(const void *addr, uint64_t len);

/* Hugetlb 2 MiB pool: reads and writes /proc/sys/vm/nr_hugepages. */
long bench_hugepages_free(void);
long bench_hugepages_total(void);
int bench_hugepages_set(long n);
/*
 * Makes sure @need free 2 MiB hugepages exist, growing the pool when
 * @may_grow; the old pool size is restored at exit (and on SIGINT/SIGTERM)
 * or by bench_hugepages_restore(). Returns 0, -EPERM or -ENOMEM.
 */
int bench_hugepages_reserve(long need, int may_grow);
void bench_hugepages_restore(void);

/* Resident set size of this process in bytes (from /proc/self/statm). */
int64_t bench_rss_bytes(void);

/* A small, fast, deterministic PRNG (xorshift64*). */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Keeps the compiler from discarding a computed value. */
static inline void bench_keep(uint64_t v)
{
	__asm__ volatile("" : : "r"(v) : "memory");
}

#define bench_log(...) fprintf(stderr, __VA_ARGS__)

#endif /* VTOP_BENCH_COMMON_H */
