// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-bench-notify: how do registration and notification scale?
 *
 * Scale: R regions (default 1,10,100,1000,10000), each --region-size bytes
 * (default 4 KiB) of one hugetlb buffer, with M consumer maps (default 1,4)
 * whose notify callback records every call. Timed:
 *   register    R vtop_mem_register() calls, each notifying M maps
 *   unregister  R vtop_mem_unregister() calls
 *   replay      vtop_mem_map_alloc() of one more map with a callback, which
 *               replays R registrations, and its vtop_mem_map_free()
 * reported per region and in total. The callback counts are checked, so a
 * library that skipped notifications cannot look fast.
 * The same runs with 2 MiB regions (up to --max-bytes) show whether the cost
 * follows regions or pages.
 *
 * Memory: a plain map with 1 GiB of translations set in 2 MiB entries, and
 * another in 4 KiB entries; the growth of the heap (mallinfo2) and of the
 * resident set is reported in bytes per GiB, next to the cost of an empty
 * map.
 *
 * Backend: pagemap on the host (hugetlb memory only, root), kmod in the
 * guest (--backend to choose).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vtop.h>

#include "common.h"

#define MAX_LIST	16
#define MAX_REPEATS	64
#define MAX_MAPS	64

struct opts {
	uint64_t regions[MAX_LIST];
	int nr_regions;
	uint64_t maps[MAX_LIST];
	int nr_maps;
	uint64_t region_sizes[MAX_LIST];
	int nr_region_sizes;
	uint64_t max_bytes;
	uint64_t mem_size;	/* memory case: bytes of translations */
	uint64_t repeats;
	const char *backend;
	const char *env;
	const char *cases;
	bool no_hugepages;
};

static struct opts o = {
	.max_bytes = 256ULL << 20,
	.mem_size = SZ_1G,
	.repeats = 5,
};

static const char *env;

/* A consumer map: counts its notifications. */
struct consumer {
	struct vtop_mem_map *map;
	uint64_t reg, unreg;
	uint64_t bytes;		/* registered bytes it was told about */
};

static int consumer_cb(void *ctx, struct vtop_mem_map *map,
		       enum vtop_mem_map_notify_action action, void *vaddr,
		       size_t size)
{
	struct consumer *c = ctx;

	(void)map;
	(void)vaddr;
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER) {
		c->reg++;
		c->bytes += size;
	} else {
		c->unreg++;
		c->bytes -= size;
	}
	return 0;
}

static const struct vtop_mem_map_ops consumer_ops = {
	.notify_cb = consumer_cb,
};

static bool want(const char *name)
{
	return bench_want(o.cases, name);
}

static void row(const char *cas, const char *page, uint64_t size,
		const char *param, const char *unit, double *v, int n)
{
	struct bench_stats st;

	bench_stats(v, n, &st);
	bench_csv_row("notify", env, cas, page, size, param, unit, &st);
}

struct times {
	double reg, unreg, replay, free;	/* ns, whole operation */
};

/* One repeat of R regions of @rsz bytes at @mem with @m consumer maps. */
static int scale_once(char *mem, uint64_t r, uint64_t rsz, uint64_t m,
		      struct times *t)
{
	struct consumer cons[MAX_MAPS + 1];
	struct consumer *nc = &cons[m];
	uint64_t t0, i;
	int err = 0;

	memset(cons, 0, sizeof(cons));
	for (i = 0; i < m; i++) {
		cons[i].map = vtop_mem_map_alloc(0, &consumer_ops, &cons[i]);
		if (!cons[i].map) {
			err = -ENOMEM;
			goto out;
		}
	}
	t0 = bench_now_ns(BENCH_CLOCK_WALL);
	for (i = 0; i < r && !err; i++)
		err = vtop_mem_register(mem + i * rsz, rsz);
	t->reg = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0);
	if (err) {
		bench_log("notify: vtop_mem_register of region %" PRIu64
			  ": %s\n", i - 1, strerror(-err));
		goto out;
	}

	t0 = bench_now_ns(BENCH_CLOCK_WALL);
	nc->map = vtop_mem_map_alloc(0, &consumer_ops, nc);
	t->replay = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0);
	if (!nc->map) {
		err = -ENOMEM;
		goto out;
	}
	if (nc->reg != r || nc->bytes != r * rsz) {
		bench_log("notify: replay gave %" PRIu64 " calls for %" PRIu64
			  " bytes, expected %" PRIu64 " for %" PRIu64 "\n",
			  nc->reg, nc->bytes, r, r * rsz);
		err = -EIO;
		goto out;
	}
	t0 = bench_now_ns(BENCH_CLOCK_WALL);
	vtop_mem_map_free(&nc->map);
	t->free = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0);
	if (nc->unreg != r || nc->bytes) {
		bench_log("notify: map free gave %" PRIu64 " calls, expected %"
			  PRIu64 "\n", nc->unreg, r);
		err = -EIO;
		goto out;
	}

	t0 = bench_now_ns(BENCH_CLOCK_WALL);
	for (i = 0; i < r && !err; i++)
		err = vtop_mem_unregister(mem + i * rsz, rsz);
	t->unreg = (double)(bench_now_ns(BENCH_CLOCK_WALL) - t0);
	if (err) {
		bench_log("notify: vtop_mem_unregister of region %" PRIu64
			  ": %s\n", i - 1, strerror(-err));
		goto out;
	}
	for (i = 0; i < m; i++) {
		if (cons[i].reg != r || cons[i].unreg != r || cons[i].bytes) {
			bench_log("notify: map %" PRIu64 " got %" PRIu64 "/%"
				  PRIu64 " calls, expected %" PRIu64 "/%" PRIu64
				  "\n", i, cons[i].reg, cons[i].unreg, r, r);
			err = -EIO;
		}
	}
out:
	/* Leave nothing registered behind a failure (-EINVAL: was not). */
	if (err)
		for (i = 0; i < r; i++)
			vtop_mem_unregister(mem + i * rsz, rsz);
	for (i = 0; i <= m; i++)
		vtop_mem_map_free(&cons[i].map);
	return err;
}

static int scale_case(char *mem, uint64_t r, uint64_t rsz, uint64_t m)
{
	static struct times t[MAX_REPEATS];
	double v[MAX_REPEATS], tot[MAX_REPEATS];
	const char *pk = rsz >= SZ_2M ? "2m-region" : "4k-region";
	char param[64], szs[32];
	int n = (int)o.repeats, err;

	for (int k = 0; k < n; k++) {
		err = scale_once(mem, r, rsz, m, &t[k]);
		if (err)
			return err;
	}
	snprintf(param, sizeof(param), "R=%" PRIu64 " M=%" PRIu64, r, m);
#define EMIT(field, name)						\
	do {								\
		for (int k = 0; k < n; k++) {				\
			v[k] = t[k].field / (double)r;			\
			tot[k] = t[k].field / 1e3;			\
		}							\
		row(name, pk, rsz, param, "ns/region", v, n);		\
		row(name, pk, rsz, param, "us", tot, n);		\
	} while (0)
	EMIT(reg, "register");
	EMIT(unreg, "unregister");
	EMIT(replay, "replay");
	EMIT(free, "map_free");
#undef EMIT
	bench_log("  %s regions x %-6" PRIu64 " M=%" PRIu64 ": register %8.0f "
		  "unregister %8.0f replay %8.0f ns/region (first repeat)\n",
		  bench_size_str(rsz, szs, sizeof(szs)), r, m, t[0].reg / r,
		  t[0].unreg / r, t[0].replay / r);
	return 0;
}

/* ---- memory of map tables ---------------------------------------------- */

static int64_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (int64_t)(mi.uordblks + mi.hblkhd);
}

struct memsample {
	int64_t heap, rss;
};

static void mem_now(struct memsample *s)
{
	s->heap = heap_bytes();
	s->rss = bench_rss_bytes();
}

static int mem_case(void)
{
	uint64_t base = 0x100000000000ULL;
	double scale = (double)SZ_1G / (double)o.mem_size;
	struct memsample a, b, c;
	struct vtop_mem_map *map;
	struct bench_stats st = { .n = 1 };
	int err = 0;

	for (int kind = 0; kind < 2 && !err; kind++) {
		uint64_t step = kind ? SZ_4K : SZ_2M;
		const char *pk = kind ? "4k" : "2m";

		mem_now(&a);
		map = vtop_mem_map_alloc(UINT64_MAX, NULL, NULL);
		if (!map)
			return -ENOMEM;
		mem_now(&b);
		/* Entry by entry, as registrations of that page size do. */
		for (uint64_t off = 0; off < o.mem_size && !err; off += step)
			err = vtop_mem_map_set_translation(map, base + off, step,
							   off);
		mem_now(&c);
		if (!err && vtop_mem_map_translate(map, base + o.mem_size - 1,
						   NULL) != o.mem_size - step) {
			bench_log("notify: map answers wrongly\n");
			err = -EIO;
		}
		vtop_mem_map_free(&map);
		if (err)
			break;
		st.median = st.p10 = st.p90 = st.min = st.max =
			(double)(b.heap - a.heap);
		bench_csv_row("notify", env, "map_empty", pk, 0, "heap",
			      "bytes", &st);
		st.median = st.p10 = st.p90 = st.min = st.max =
			(double)(b.rss - a.rss);
		bench_csv_row("notify", env, "map_empty", pk, 0, "rss",
			      "bytes", &st);
		st.median = st.p10 = st.p90 = st.min = st.max =
			(double)(c.heap - b.heap) * scale;
		bench_csv_row("notify", env, "map_tables", pk, o.mem_size,
			      "heap", "bytes/GiB", &st);
		st.median = st.p10 = st.p90 = st.min = st.max =
			(double)(c.rss - b.rss) * scale;
		bench_csv_row("notify", env, "map_tables", pk, o.mem_size,
			      "rss", "bytes/GiB", &st);
		bench_log("  map tables, %s entries: empty map %" PRId64
			  " B heap; %.0f B heap, %.0f B RSS per GiB\n", pk,
			  b.heap - a.heap, (double)(c.heap - b.heap) * scale,
			  (double)(c.rss - b.rss) * scale);
	}
	return err;
}

/* ---- options and main -------------------------------------------------- */

static int parse_list(char *arg, uint64_t *out, int *n, bool sizes)
{
	*n = 0;
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		uint64_t v;
		int err = sizes ? bench_parse_size(t, &v) :
				  bench_parse_uint(t, 1, 1000000, &v);

		if (err || *n == MAX_LIST || !v)
			return -EINVAL;
		out[(*n)++] = v;
	}
	return *n ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vtop-bench-notify [options]\n"
"  -R, --regions LIST      region counts (default 1,10,100,1000,10000)\n"
"  -M, --maps LIST         consumer map counts (default 1,4; at most 64)\n"
"  -z, --region-sizes LIST region sizes (default 4K,2M)\n"
"  -x, --max-bytes SIZE    skip cases registering more (default 256M)\n"
"  -g, --mem-size SIZE     memory case: bytes of translations (default 1G)\n"
"  -r, --repeats N         repeats (default 5)\n"
"  -c, --cases LIST        comma list of: scale,memory\n"
"      --backend pagemap|kmod (default: kmod in the guest, else pagemap)\n"
"      --no-hugepages      do not grow the hugetlb pool\n"
"      --env host|guest    label of the rows (default: detected)\n"
"Prints CSV rows (" BENCH_CSV_HEADER ") on stdout.\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "regions", required_argument, NULL, 'R' },
		{ "maps", required_argument, NULL, 'M' },
		{ "region-sizes", required_argument, NULL, 'z' },
		{ "max-bytes", required_argument, NULL, 'x' },
		{ "mem-size", required_argument, NULL, 'g' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "cases", required_argument, NULL, 'c' },
		{ "backend", required_argument, NULL, 'b' },
		{ "no-hugepages", no_argument, NULL, 'H' },
		{ "env", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dr[] = "1,10,100,1000,10000", dm[] = "1,4", dz[] = "4K,2M";
	int c, err = 0;

	parse_list(dr, o.regions, &o.nr_regions, false);
	parse_list(dm, o.maps, &o.nr_maps, false);
	parse_list(dz, o.region_sizes, &o.nr_region_sizes, true);
	while ((c = getopt_long(argc, argv, "R:M:z:x:g:r:c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'R':
			err = parse_list(optarg, o.regions, &o.nr_regions,
					 false);
			break;
		case 'M':
			err = parse_list(optarg, o.maps, &o.nr_maps, false);
			for (int i = 0; !err && i < o.nr_maps; i++)
				if (o.maps[i] > MAX_MAPS)
					err = -EINVAL;
			break;
		case 'z':
			err = parse_list(optarg, o.region_sizes,
					 &o.nr_region_sizes, true);
			for (int i = 0; !err && i < o.nr_region_sizes; i++)
				if (o.region_sizes[i] % SZ_4K)
					err = -EINVAL;
			break;
		case 'x':
			err = bench_parse_size(optarg, &o.max_bytes);
			break;
		case 'g':
			err = bench_parse_size(optarg, &o.mem_size);
			if (!err && (o.mem_size < SZ_2M || o.mem_size % SZ_2M))
				err = -EINVAL;
			break;
		case 'r':
			err = bench_parse_uint(optarg, 1, MAX_REPEATS,
					       &o.repeats);
			break;
		case 'c':
			o.cases = optarg;
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
			bench_log("vtop-bench-notify: bad value for -%c: %s\n",
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

static int env_init(void)
{
	struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;

	if (!strcmp(o.backend, "pagemap"))
		eo.backend = VTOP_BACKEND_PAGEMAP;
	else
		eo.backend = VTOP_BACKEND_KMOD;
	return vtop_env_init(&eo);
}

int main(int argc, char **argv)
{
	uint64_t need = 0, maplen = 0;
	void *mem = NULL;
	int err, fails = 0;

	if (parse_args(argc, argv))
		return 2;
	env = bench_env(o.env);
	if (!o.backend)
		o.backend = strncmp(env, "guest", 5) ? "pagemap" : "kmod";
	bench_log("vtop-bench-notify: %s, %s backend, %" PRIu64 " repeats\n",
		  env, o.backend, o.repeats);
	bench_csv_header();

	if (want("memory") && mem_case())
		fails++;
	if (!want("scale"))
		return fails ? 1 : 0;

	for (int i = 0; i < o.nr_regions; i++)
		for (int j = 0; j < o.nr_region_sizes; j++) {
			uint64_t b = o.regions[i] * o.region_sizes[j];

			if (b <= o.max_bytes && b > need)
				need = b;
		}
	if (!need) {
		bench_log("notify: every scale case exceeds --max-bytes\n");
		return 1;
	}
	err = bench_hugepages_reserve((long)((need + SZ_2M - 1) / SZ_2M),
				      !o.no_hugepages);
	if (!err)
		err = bench_alloc_mem(BENCH_PAGE_HUGETLB, need, &mem, &maplen);
	if (err) {
		bench_log("notify: cannot map %" PRIu64 " bytes of hugetlb "
			  "memory: %s\n", need, strerror(-err));
		return 1;
	}
	err = env_init();
	if (err) {
		bench_log("notify: vtop_env_init (%s backend): %s\n",
			  o.backend, strerror(-err));
		return 1;
	}
	for (int j = 0; j < o.nr_region_sizes; j++)
		for (int i = 0; i < o.nr_regions; i++)
			for (int k = 0; k < o.nr_maps; k++) {
				uint64_t r = o.regions[i];
				uint64_t rsz = o.region_sizes[j];

				if (r * rsz > o.max_bytes)
					continue;
				if (scale_case(mem, r, rsz, o.maps[k]))
					fails++;
			}
	vtop_env_fini();
	bench_free_mem(mem, maplen);
	bench_hugepages_restore();
	return fails ? 1 : 0;
}
