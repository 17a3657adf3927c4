// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-bench-register: what does it cost to make memory DMA-able?
 *
 * For each page kind (4 KiB pages, THP, hugetlb 2 MiB) and size, the very
 * same populated memory is registered and unregistered, in the same run, by
 *   libvtop    vtop_mem_register() + vtop_mem_unregister() (kmod backend)
 *   ioctl      the raw VTOP_IOC_PIN + VTOP_IOC_UNPIN ioctls on /dev/vtop
 *   io_uring   IORING_REGISTER_BUFFERS + IORING_UNREGISTER_BUFFERS of one
 *              buffer (the baseline: the kernel's own long-term pin)
 * and, when the floor module is loaded (/dev/vtop_floor, built from
 * tools/vm/testmod/vtop_floor.c by bench/run.sh), two more:
 *   floor      pin_user_pages_fast(FOLL_LONGTERM) in batches of 512 and
 *              unpin_user_pages(), nothing else: what any pinning interface
 *              pays at least
 *   replica    the floor plus copies of vtop's counting pass over the struct
 *              pages, segment build, copy-out and unpinning of dirty runs
 *   replica-timed  the same, each step timed in the module (ktime): the
 *              per-page cost split (its clock reads are why the untimed
 *              replica is the one compared with vtop)
 * Each repeat runs the methods in rotating order. Reported: ns per 4 KiB
 * page for register, unregister and both, and the ratio of each to
 * io_uring (and of ioctl and libvtop to the floor) computed within each
 * repeat (so that drift between repeats cancels).
 *
 * Needs /dev/vtop (run it in the guest: tools/vm/run.sh), root for
 * hugetlb pool growth, and io_uring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vtop.h>

#include "common.h"
#include "vtop_floor.h"

#define MAX_SIZES	16
#define MAX_REPEATS	64

enum method {
	M_LIBVTOP, M_IOCTL, M_IOURING, M_FLOOR, M_REPLICA, M_SPLIT, NR_METHODS
};

static const char *const method_names[NR_METHODS] = {
	[M_LIBVTOP] = "libvtop",
	[M_IOCTL] = "ioctl",
	[M_IOURING] = "io_uring",
	[M_FLOOR] = "floor",
	[M_REPLICA] = "replica",
	[M_SPLIT] = "replica-timed",
};

/* The steps of the replica's split, in the order of vtop's PIN and UNPIN. */
static const struct {
	int ns;
	const char *name;
} split_steps[] = {
	{ VTOP_FLOOR_NS_ALLOC, "alloc" },
	{ VTOP_FLOOR_NS_GUP, "gup" },
	{ VTOP_FLOOR_NS_WALK, "walk" },
	{ VTOP_FLOOR_NS_SEGS, "segs" },
	{ VTOP_FLOOR_NS_COPY, "copy" },
	{ VTOP_FLOOR_NS_UNPIN, "unpin" },
	{ VTOP_FLOOR_NS_FREE, "free" },
};
#define NR_STEPS (sizeof(split_steps) / sizeof(split_steps[0]))

struct opts {
	uint64_t sizes[MAX_SIZES];
	int nr_sizes;
	bool pages[3];
	uint64_t repeats;
	uint64_t min_bytes;	/* per timed sample: loop small sizes */
	uint64_t max_ns;	/* ... but stop a sample after this long */
	const char *env;
	bool no_hugepages;
};

static struct opts o = {
	.repeats = 5,
	.min_bytes = 64ULL << 20,
	.max_ns = 400000000,
};

static const char *env;
static int vtop_fd = -1;
static int floor_fd = -1;
static int nr_methods = M_IOURING + 1;	/* M_FLOOR, M_REPLICA when loaded */
static int only_method = -1;		/* --method: this one alone */
static struct io_uring ring;
static struct vtop_segment *segs;
static uint32_t nr_segs_cap;

/* ns spent in register and unregister by one method, for one repeat. */
struct sample {
	uint64_t n;		/* operations done: the time cap may stop early */
	double reg;
	double unreg;
	double step[VTOP_FLOOR_NS_NR];	/* M_SPLIT: ns per step */
};

static int do_libvtop(void *mem, uint64_t len, uint64_t loops,
		      struct sample *s)
{
	uint64_t t0, t1, t2, t_start = bench_now_ns(BENCH_CLOCK_WALL);
	int err;

	s->reg = s->unreg = 0;
	for (uint64_t i = 0; i < loops; i++) {
		t0 = bench_now_ns(BENCH_CLOCK_WALL);
		err = vtop_mem_register(mem, len);
		t1 = bench_now_ns(BENCH_CLOCK_WALL);
		if (err)
			return err;
		err = vtop_mem_unregister(mem, len);
		t2 = bench_now_ns(BENCH_CLOCK_WALL);
		if (err)
			return err;
		s->reg += (double)(t1 - t0);
		s->unreg += (double)(t2 - t1);
		/* A sample ends at its time cap (io_uring's unregister
		 * waits for RCU: milliseconds per call on 6.1 under TCG). */
		s->n = i + 1;
		if (t2 - t_start > o.max_ns)
			break;
	}
	return 0;
}

static int do_ioctl(void *mem, uint64_t len, uint64_t loops,
		    struct sample *s)
{
	uint64_t t0, t1, t2, t_start = bench_now_ns(BENCH_CLOCK_WALL);

	s->reg = s->unreg = 0;
	for (uint64_t i = 0; i < loops; i++) {
		struct vtop_pin pin = {
			.size = sizeof(pin),
			.vaddr = (uint64_t)(uintptr_t)mem,
			.length = len,
			.segs = (uint64_t)(uintptr_t)segs,
			.nr_segs = nr_segs_cap,
		};
		struct vtop_unpin unpin = { .size = sizeof(unpin) };

		t0 = bench_now_ns(BENCH_CLOCK_WALL);
		if (ioctl(vtop_fd, VTOP_IOC_PIN, &pin))
			return -errno;
		t1 = bench_now_ns(BENCH_CLOCK_WALL);
		unpin.handle = pin.handle;
		if (ioctl(vtop_fd, VTOP_IOC_UNPIN, &unpin))
			return -errno;
		t2 = bench_now_ns(BENCH_CLOCK_WALL);
		s->reg += (double)(t1 - t0);
		s->unreg += (double)(t2 - t1);
		/* A sample ends at its time cap (io_uring's unregister
		 * waits for RCU: milliseconds per call on 6.1 under TCG). */
		s->n = i + 1;
		if (t2 - t_start > o.max_ns)
			break;
	}
	return 0;
}

static int do_iouring(void *mem, uint64_t len, uint64_t loops,
		      struct sample *s)
{
	struct iovec iov = { .iov_base = mem, .iov_len = len };
	uint64_t t0, t1, t2, t_start = bench_now_ns(BENCH_CLOCK_WALL);
	int err;

	s->reg = s->unreg = 0;
	for (uint64_t i = 0; i < loops; i++) {
		t0 = bench_now_ns(BENCH_CLOCK_WALL);
		err = io_uring_register_buffers(&ring, &iov, 1);
		t1 = bench_now_ns(BENCH_CLOCK_WALL);
		if (err)
			return err;
		err = io_uring_unregister_buffers(&ring);
		t2 = bench_now_ns(BENCH_CLOCK_WALL);
		if (err)
			return err;
		s->reg += (double)(t1 - t0);
		s->unreg += (double)(t2 - t1);
		/* A sample ends at its time cap (io_uring's unregister
		 * waits for RCU: milliseconds per call on 6.1 under TCG). */
		s->n = i + 1;
		if (t2 - t_start > o.max_ns)
			break;
	}
	return 0;
}

/*
 * The floor module: bare GUP and unpin (flags 0), or the replica of vtop's
 * steps (VTOP_FLOOR_ALL), whose ns per step the module measures.
 */
static int do_floor(void *mem, uint64_t len, uint64_t loops, uint32_t flags,
		    struct sample *s)
{
	uint64_t t0, t1, t2, t_start = bench_now_ns(BENCH_CLOCK_WALL);

	memset(s, 0, sizeof(*s));
	for (uint64_t i = 0; i < loops; i++) {
		struct vtop_floor_pin pin = {
			.vaddr = (uint64_t)(uintptr_t)mem,
			.length = len,
			.segs = (uint64_t)(uintptr_t)segs,
			.nr_segs = nr_segs_cap,
			.flags = flags,
		};
		struct vtop_floor_unpin unpin = {
			.flags = flags & (VTOP_FLOOR_RUNS | VTOP_FLOOR_TIME),
		};

		t0 = bench_now_ns(BENCH_CLOCK_WALL);
		if (ioctl(floor_fd, VTOP_FLOOR_IOC_PIN, &pin))
			return -errno;
		t1 = bench_now_ns(BENCH_CLOCK_WALL);
		if (ioctl(floor_fd, VTOP_FLOOR_IOC_UNPIN, &unpin))
			return -errno;
		t2 = bench_now_ns(BENCH_CLOCK_WALL);
		s->reg += (double)(t1 - t0);
		s->unreg += (double)(t2 - t1);
		for (int k = 0; k < VTOP_FLOOR_NS_NR; k++)
			s->step[k] += (double)(pin.ns[k] + unpin.ns[k]);
		/* The replica must have built what vtop would: check once. */
		if (flags && i == 0 && (pin.nr_segs == 0 ||
					segs[0].vaddr != pin.vaddr ||
					!segs[0].dma_addr))
			return -EPROTO;
		/* A sample ends at its time cap (io_uring's unregister
		 * waits for RCU: milliseconds per call on 6.1 under TCG). */
		s->n = i + 1;
		if (t2 - t_start > o.max_ns)
			break;
	}
	return 0;
}

/*
 * A sample that hit its time cap did s->n < @loops operations: scale it to
 * @loops, so that every sample of a size counts the same pages.
 */
static void sample_scale(struct sample *s, uint64_t loops)
{
	double f = (double)loops / (double)(s->n ? s->n : 1);

	s->reg *= f;
	s->unreg *= f;
	for (int k = 0; k < VTOP_FLOOR_NS_NR; k++)
		s->step[k] *= f;
}

static int run_raw(enum method m, void *mem, uint64_t len, uint64_t loops,
		   struct sample *s)
{
	switch (m) {
	case M_LIBVTOP:
		return do_libvtop(mem, len, loops, s);
	case M_IOCTL:
		return do_ioctl(mem, len, loops, s);
	case M_FLOOR:
		return do_floor(mem, len, loops, 0, s);
	case M_REPLICA:
		return do_floor(mem, len, loops,
				VTOP_FLOOR_ALL & ~VTOP_FLOOR_TIME, s);
	case M_SPLIT:
		return do_floor(mem, len, loops, VTOP_FLOOR_ALL, s);
	default:
		return do_iouring(mem, len, loops, s);
	}
}

static int run_method(enum method m, void *mem, uint64_t len, uint64_t loops,
		      struct sample *s)
{
	int err = run_raw(m, mem, len, loops, s);

	if (!err)
		sample_scale(s, loops);
	return err;
}

static void row(const char *cas, const char *page, uint64_t size,
		const char *param, const char *unit, double *v)
{
	struct bench_stats st;

	bench_stats(v, (int)o.repeats, &st);
	bench_csv_row("register", env, cas, page, size, param, unit, &st);
}

/*
 * Rows against the floor: ioctl, libvtop, the replica and io_uring over
 * the floor; the replica's split per step (ns per page), and what vtop's
 * ioctls cost beyond the replica (its bookkeeping: the pin's structure,
 * handle table, RLIMIT_MEMLOCK charge, interval notifier, locks).
 */
static void floor_rows(struct sample (*s)[NR_METHODS], const char *pn,
		       uint64_t len, double pages)
{
	static const int over[] = { M_IOCTL, M_LIBVTOP, M_REPLICA, M_IOURING };
	double v[MAX_REPEATS];

	/* The floor in io_uring's units, for the plot. */
	for (uint64_t r = 0; r < o.repeats; r++)
		v[r] = (s[r][M_FLOOR].reg + s[r][M_FLOOR].unreg) /
		       (s[r][M_IOURING].reg + s[r][M_IOURING].unreg);
	row("floor/io_uring", pn, len, "total", "ratio", v);

	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		char cas[32];
		int m = over[i];

		snprintf(cas, sizeof(cas), "%s/floor", method_names[m]);
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = (s[r][m].reg + s[r][m].unreg) /
			       (s[r][M_FLOOR].reg + s[r][M_FLOOR].unreg);
		row(cas, pn, len, "total", "ratio", v);
	}
	for (size_t k = 0; k < NR_STEPS; k++) {
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = s[r][M_SPLIT].step[split_steps[k].ns] / pages;
		row("split", pn, len, split_steps[k].name, "ns/page", v);
	}
	/*
	 * Syscalls and ioctl dispatch: the untimed replica's wall time less
	 * the steps the timed one measured.
	 */
	for (uint64_t r = 0; r < o.repeats; r++) {
		double in = 0;

		for (size_t k = 0; k < NR_STEPS; k++)
			in += s[r][M_SPLIT].step[split_steps[k].ns];
		v[r] = (s[r][M_REPLICA].reg + s[r][M_REPLICA].unreg - in) /
		       pages;
	}
	row("split", pn, len, "syscall", "ns/page", v);
	for (uint64_t r = 0; r < o.repeats; r++)
		v[r] = (s[r][M_IOCTL].reg + s[r][M_IOCTL].unreg -
			s[r][M_REPLICA].reg - s[r][M_REPLICA].unreg) / pages;
	row("split", pn, len, "vtop-extra", "ns/page", v);
}

static int bench_one(enum bench_page pk, void *mem, uint64_t len)
{
	static struct sample s[MAX_REPEATS][NR_METHODS];
	double v[MAX_REPEATS];
	uint64_t loops = o.min_bytes / len ? o.min_bytes / len : 1;
	double pages = (double)(len / SZ_4K) * (double)loops;
	const char *pn = bench_page_name(pk);
	char szs[32];
	int err;

	/* --method (for a profile): that one alone, its own rows only. */
	if (only_method >= 0) {
		int m = only_method;

		for (uint64_t r = 0; r < o.repeats; r++) {
			err = run_method((enum method)m, mem, len, loops,
					 &s[r][m]);
			if (err)
				return err;
		}
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = (s[r][m].reg + s[r][m].unreg) / pages;
		row(method_names[m], pn, len, "total", "ns/page", v);
		return 0;
	}
	/* One untimed round of each method first: warm caches and slabs. */
	for (int m = 0; m < nr_methods; m++) {
		err = run_method((enum method)m, mem, len, 1, &s[0][m]);
		if (err) {
			bench_log("register: %s %s %s: %s\n", method_names[m],
				  pn, bench_size_str(len, szs, sizeof(szs)),
				  strerror(-err));
			return err;
		}
	}
	for (uint64_t r = 0; r < o.repeats; r++) {
		for (int k = 0; k < nr_methods; k++) {
			int m = (int)((r + (uint64_t)k) % (uint64_t)nr_methods);

			err = run_method((enum method)m, mem, len, loops,
					 &s[r][m]);
			if (err) {
				bench_log("register: %s: %s\n", method_names[m],
					  strerror(-err));
				return err;
			}
		}
	}
	for (int m = 0; m < nr_methods; m++) {
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = s[r][m].reg / pages;
		row(method_names[m], pn, len, "register", "ns/page", v);
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = s[r][m].unreg / pages;
		row(method_names[m], pn, len, "unregister", "ns/page", v);
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = (s[r][m].reg + s[r][m].unreg) / pages;
		row(method_names[m], pn, len, "total", "ns/page", v);
	}
	for (int m = 0; m < M_IOURING; m++) {
		char cas[32];

		snprintf(cas, sizeof(cas), "%s/io_uring", method_names[m]);
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = (s[r][m].reg + s[r][m].unreg) /
			       (s[r][M_IOURING].reg + s[r][M_IOURING].unreg);
		row(cas, pn, len, "total", "ratio", v);
		for (uint64_t r = 0; r < o.repeats; r++)
			v[r] = s[r][m].reg / s[r][M_IOURING].reg;
		row(cas, pn, len, "register", "ratio", v);
	}
	/* libvtop's own cost over the raw ioctls (issue 14 goal 5). */
	for (uint64_t r = 0; r < o.repeats; r++)
		v[r] = (s[r][M_LIBVTOP].reg + s[r][M_LIBVTOP].unreg) /
		       (s[r][M_IOCTL].reg + s[r][M_IOCTL].unreg) - 1;
	row("libvtop-ioctl", pn, len, "total", "fraction", v);
	if (nr_methods > M_FLOOR)
		floor_rows(s, pn, len, pages);
	bench_log("  %-8s %5s  libvtop %8.1f  ioctl %8.1f  io_uring %8.1f "
		  "ns/page (first repeat, x%" PRIu64 ")\n", pn,
		  bench_size_str(len, szs, sizeof(szs)),
		  (s[0][M_LIBVTOP].reg + s[0][M_LIBVTOP].unreg) / pages,
		  (s[0][M_IOCTL].reg + s[0][M_IOCTL].unreg) / pages,
		  (s[0][M_IOURING].reg + s[0][M_IOURING].unreg) / pages,
		  loops);
	return 0;
}

static int bench_kind(enum bench_page pk)
{
	uint64_t max = 0, maplen;
	void *mem;
	char szs[32];
	int err, fails = 0;

	for (int i = 0; i < o.nr_sizes; i++)
		if (o.sizes[i] > max)
			max = o.sizes[i];
	if (pk == BENCH_PAGE_HUGETLB) {
		long need = (long)((max + SZ_2M - 1) / SZ_2M);

		err = bench_hugepages_reserve(need, !o.no_hugepages);
		if (err) {
			bench_log("register: hugetlb: cannot get %ld free 2 MiB "
				  "hugepages (%ld free): skipped\n", need,
				  bench_hugepages_free());
			return err;
		}
	}
	/* One mapping of the largest size; smaller sizes use its start. */
	err = bench_alloc_mem(pk, max, &mem, &maplen);
	if (err) {
		bench_log("register: %s: cannot map %s: %s: skipped\n",
			  bench_page_name(pk),
			  bench_size_str(max, szs, sizeof(szs)),
			  strerror(-err));
		return err;
	}
	for (int i = 0; i < o.nr_sizes; i++)
		if (bench_one(pk, mem, o.sizes[i]))
			fails++;
	bench_free_mem(mem, maplen);
	bench_hugepages_restore();
	return fails ? -EIO : 0;
}

static int parse_sizes(char *arg)
{
	o.nr_sizes = 0;
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		uint64_t v;

		if (o.nr_sizes == MAX_SIZES || bench_parse_size(t, &v) ||
		    !v || v % SZ_4K || v > SZ_1G)
			return -EINVAL;
		o.sizes[o.nr_sizes++] = v;
	}
	return o.nr_sizes ? 0 : -EINVAL;
}

static int parse_pages(char *arg)
{
	memset(o.pages, 0, sizeof(o.pages));
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		enum bench_page pk;

		if (bench_parse_page(t, &pk))
			return -EINVAL;
		o.pages[pk] = true;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vtop-bench-register [options]\n"
"  -s, --sizes LIST      comma list of sizes, each a multiple of 4K and\n"
"                        at most 1G (default 4K,64K,2M,64M,512M)\n"
"  -p, --pages LIST      comma list of 4k,thp,hugetlb (default all)\n"
"  -r, --repeats N       repeats (default 5)\n"
"  -m, --min-bytes SIZE  each timed sample registers at least this much,\n"
"                        looping small sizes (default 64M)\n"
"  -t, --max-time MS     ... but ends after MS milliseconds, its time then\n"
"                        scaled to the pages of the others (default 400)\n"
"      --no-hugepages    do not grow the hugetlb pool\n"
"      --method NAME     run only libvtop, ioctl, io_uring, floor or\n"
"                        replica, print only its ns/page (for profiles)\n"
"      --env host|guest  label of the rows (default: detected)\n"
"Prints CSV rows (" BENCH_CSV_HEADER ") on stdout.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "pages", required_argument, NULL, 'p' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "min-bytes", required_argument, NULL, 'm' },
		{ "max-time", required_argument, NULL, 't' },
		{ "no-hugepages", no_argument, NULL, 'H' },
		{ "env", required_argument, NULL, 'e' },
		{ "method", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char defsizes[] = "4K,64K,2M,64M,512M", defpages[] = "4k,thp,hugetlb";
	uint64_t max = 0;
	int c, err = 0, fails = 0;

	parse_sizes(defsizes);
	parse_pages(defpages);
	while ((c = getopt_long(argc, argv, "s:p:r:m:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			err = parse_sizes(optarg);
			break;
		case 'p':
			err = parse_pages(optarg);
			break;
		case 'r':
			err = bench_parse_uint(optarg, 1, MAX_REPEATS,
					       &o.repeats);
			break;
		case 'm':
			err = bench_parse_size(optarg, &o.min_bytes);
			break;
		case 't':
			err = bench_parse_uint(optarg, 1, 100000, &o.max_ns);
			o.max_ns *= 1000000;
			break;
		case 'H':
			o.no_hugepages = true;
			break;
		case 'e':
			o.env = optarg;
			break;
		case 'M':
			err = -EINVAL;
			for (int m = 0; m < M_SPLIT; m++)
				if (!strcmp(optarg, method_names[m])) {
					only_method = m;
					err = 0;
				}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (err) {
			bench_log("vtop-bench-register: bad value for -%c: %s\n",
				  c, optarg);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	env = bench_env(o.env);
	for (int i = 0; i < o.nr_sizes; i++)
		if (o.sizes[i] > max)
			max = o.sizes[i];

	vtop_fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (vtop_fd < 0) {
		bench_log("register: %s: %s (load the vtop module; run in "
			  "the guest: tools/vm/run.sh)\n", VTOP_DEVICE_PATH,
			  strerror(errno));
		return 1;
	}
	floor_fd = open(VTOP_FLOOR_DEVICE, O_RDWR | O_CLOEXEC);
	if (floor_fd >= 0)
		nr_methods = NR_METHODS;
	else if (only_method >= M_FLOOR)
		return 1;
	else
		bench_log("register: %s: %s: no floor rows (insmod "
			  "vtop_floor.ko)\n", VTOP_FLOOR_DEVICE, strerror(errno));
	err = vtop_env_init(NULL);
	if (err) {
		bench_log("register: vtop_env_init: %s\n", strerror(-err));
		return 1;
	}
	err = io_uring_queue_init(4, &ring, 0);
	if (err) {
		bench_log("register: io_uring_queue_init: %s\n",
			  strerror(-err));
		return 1;
	}
	/* Worst case one segment per page; touched so PIN never faults. */
	nr_segs_cap = (uint32_t)(max / SZ_4K);
	segs = calloc(nr_segs_cap, sizeof(*segs));
	if (!segs) {
		bench_log("register: out of memory\n");
		return 1;
	}

	bench_log("vtop-bench-register: %s, %" PRIu64 " repeats\n", env,
		  o.repeats);
	bench_csv_header();
	for (int pk = 0; pk < 3; pk++)
		if (o.pages[pk] && bench_kind((enum bench_page)pk))
			fails++;
	io_uring_queue_exit(&ring);
	if (floor_fd >= 0)
		close(floor_fd);
	close(vtop_fd);
	vtop_env_fini();
	return fails ? 1 : 0;
}
