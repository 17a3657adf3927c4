// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the vtop benchmarks (see common.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

uint64_t bench_now_ns(enum bench_clock clk)
{
	struct timespec ts;

	clock_gettime(clk == BENCH_CLOCK_CPU ? CLOCK_THREAD_CPUTIME_ID :
		      CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int bench_parse_clock(const char *s, enum bench_clock *clk)
{
	if (!strcmp(s, "wall"))
		*clk = BENCH_CLOCK_WALL;
	else if (!strcmp(s, "cpu"))
		*clk = BENCH_CLOCK_CPU;
	else
		return -EINVAL;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(const double *v, int n, double p)
{
	double pos = p * (n - 1);
	int lo = (int)pos;
	double frac = pos - lo;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + frac * (v[lo + 1] - v[lo]);
}

void bench_stats(double *v, int n, struct bench_stats *st)
{
	qsort(v, n, sizeof(*v), cmp_double);
	st->n = n;
	st->min = v[0];
	st->max = v[n - 1];
	st->median = percentile(v, n, 0.5);
	st->p10 = percentile(v, n, 0.1);
	st->p90 = percentile(v, n, 0.9);
}

int bench_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *bench_size_str(uint64_t size, char *buf, size_t len)
{
	if (size && !(size % SZ_1G))
		snprintf(buf, len, "%" PRIu64 "G", size / SZ_1G);
	else if (size && !(size % (1ULL << 20)))
		snprintf(buf, len, "%" PRIu64 "M", size >> 20);
	else if (size && !(size % 1024))
		snprintf(buf, len, "%" PRIu64 "K", size >> 10);
	else
		snprintf(buf, len, "%" PRIu64, size);
	return buf;
}

const char *bench_env(const char *where)
{
	static char env[128];
	struct utsname u;
	struct stat st;

	if (uname(&u))
		strcpy(u.release, "unknown");
	if (!where)
		where = stat("/vtop/bin", &st) == 0 ? "guest" : "host";
	snprintf(env, sizeof(env), "%s:%s", where, u.release);
	return env;
}

void bench_csv_header(void)
{
	printf("%s\n", BENCH_CSV_HEADER);
	fflush(stdout);
}

void bench_csv_row(const char *bench, const char *env, const char *cas,
		   const char *page, uint64_t size, const char *param,
		   const char *unit, const struct bench_stats *st)
{
	printf("%s,%s,%s,%s,%" PRIu64 ",%s,%s,%.4g,%.4g,%.4g,%.4g,%.4g,%d\n",
	       bench, env, cas, page, size, param, unit, st->median, st->p10,
	       st->p90, st->min, st->max, st->n);
	fflush(stdout);
}

static const char *const page_names[] = {
	[BENCH_PAGE_4K] = "4k",
	[BENCH_PAGE_THP] = "thp",
	[BENCH_PAGE_HUGETLB] = "hugetlb",
};

int bench_parse_page(const char *s, enum bench_page *page)
{
	for (unsigned int i = 0; i < sizeof(page_names) / sizeof(*page_names);
	     i++) {
		if (!strcmp(s, page_names[i])) {
			*page = (enum bench_page)i;
			return 0;
		}
	}
	return -EINVAL;
}

int bench_parse_sizes(char *arg, uint64_t *sizes, int max, int *nr)
{
	*nr = 0;
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		uint64_t v;

		if (*nr == max || bench_parse_size(t, &v) || !v ||
		    v % SZ_4K || v > SZ_1G)
			return -EINVAL;
		sizes[(*nr)++] = v;
	}
	return *nr ? 0 : -EINVAL;
}

int bench_parse_pages(char *arg, bool pages[3])
{
	memset(pages, 0, 3 * sizeof(pages[0]));
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		enum bench_page pk;

		if (bench_parse_page(t, &pk))
			return -EINVAL;
		pages[pk] = true;
	}
	return 0;
}

const char *bench_page_name(enum bench_page page)
{
	return page_names[page];
}

static void touch(void *mem, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += SZ_4K)
		((volatile char *)mem)[off] = 1;
}

int bench_alloc_mem(enum bench_page page, uint64_t len, void **mem,
		    uint64_t *maplen)
{
	uint64_t mlen = len;
	char *p, *a;
	int err;

	if (!len || len % SZ_4K)
		return -EINVAL;
	if (page != BENCH_PAGE_4K)
		mlen = (len + SZ_2M - 1) & ~(SZ_2M - 1);

	switch (page) {
	case BENCH_PAGE_4K:
		p = mmap(NULL, mlen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		madvise(p, mlen, MADV_NOHUGEPAGE);
		a = p;
		break;
	case BENCH_PAGE_THP:
		p = mmap(NULL, mlen + SZ_2M, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		a = (char *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
		if (a > p)
			munmap(p, a - p);
		munmap(a + mlen, (p + mlen + SZ_2M) - (a + mlen));
		if (madvise(a, mlen, MADV_HUGEPAGE)) {
			err = -errno;
			munmap(a, mlen);
			return err;
		}
		break;
	case BENCH_PAGE_HUGETLB:
		p = mmap(NULL, mlen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		a = p;
		break;
	default:
		return -EINVAL;
	}
	touch(a, mlen);
	if (page == BENCH_PAGE_THP &&
	    bench_thp_bytes(a, mlen) < (int64_t)mlen) {
		munmap(a, mlen);
		return -EOPNOTSUPP;
	}
	*mem = a;
	*maplen = mlen;
	return 0;
}

void bench_free_mem(void *mem, uint64_t maplen)
{
	if (mem)
		munmap(mem, maplen);
}

int64_t bench_thp_bytes(const void *addr, uint64_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int64_t total = 0;
	int in = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		unsigned long kb;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = s < hi && e > lo;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			total += (int64_t)kb * 1024;
	}
	fclose(f);
	return total;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &v) != 1)
		v = -EIO;
	fclose(f);
	return v;
}

long bench_hugepages_free(void)
{
	return read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
}

long bench_hugepages_total(void)
{
	return read_long("/proc/sys/vm/nr_hugepages");
}

int bench_hugepages_set(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", n) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static long hp_saved = -1;

void bench_hugepages_restore(void)
{
	if (hp_saved >= 0) {
		bench_hugepages_set(hp_saved);
		hp_saved = -1;
	}
}

static void hp_on_signal(int sig)
{
	bench_hugepages_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int bench_hugepages_reserve(long need, int may_grow)
{
	long total = bench_hugepages_total(), free_hp = bench_hugepages_free();

	if (free_hp >= need)
		return 0;
	if (!may_grow || total < 0)
		return -ENOMEM;
	if (hp_saved < 0) {
		hp_saved = total;
		atexit(bench_hugepages_restore);
		signal(SIGINT, hp_on_signal);
		signal(SIGTERM, hp_on_signal);
	}
	if (bench_hugepages_set(total + (need - (free_hp < 0 ? 0 : free_hp))))
		return -EPERM;
	return bench_hugepages_free() >= need ? 0 : -ENOMEM;
}

int64_t bench_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size, rss;

	if (!f)
		return -errno;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -EIO : (int64_t)rss * sysconf(_SC_PAGESIZE);
}

bool bench_want(const char *cases, const char *name)
{
	const char *p = cases;
	size_t len = strlen(name);

	if (!p || !strcmp(p, "all"))
		return true;
	while (p && *p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}
