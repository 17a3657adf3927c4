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
#include "pair.h"
#include "vtop_floor.h"

#define MAX_SIZES	16

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

/* One method's sample of one repeat; M_SPLIT: ns per step as well. */
struct sample {
	struct bench_pair p;
	double step[VTOP_FLOOR_NS_NR];
};

static int libvtop_reg(void *ctx, uint64_t i)
{
	struct bench_pin_ctx *c = ctx;

	(void)i;
	return vtop_mem_register(c->mem, c->len);
}

static int libvtop_unreg(void *ctx, uint64_t i)
{
	struct bench_pin_ctx *c = ctx;

	(void)i;
	return vtop_mem_unregister(c->mem, c->len);
}

static const struct bench_pair_ops libvtop_ops = {
	.reg = libvtop_reg,
	.unreg = libvtop_unreg,
};

/*
 * The floor module: bare GUP and unpin (flags 0), or the replica of vtop's
 * steps (VTOP_FLOOR_ALL), whose ns per step the module measures.
 */
struct floor_ctx {
	struct bench_pin_ctx pin;
	uint32_t flags;
	double *step;		/* [VTOP_FLOOR_NS_NR], summed over the pairs */
	struct vtop_floor_pin last;
};

static int floor_reg(void *ctx, uint64_t i)
{
	struct floor_ctx *c = ctx;
	struct vtop_floor_pin pin = {
		.vaddr = (uint64_t)(uintptr_t)c->pin.mem,
		.length = c->pin.len,
		.segs = (uint64_t)(uintptr_t)c->pin.segs,
		.nr_segs = c->pin.nr_segs,
		.flags = c->flags,
	};

	(void)i;
	if (ioctl(floor_fd, VTOP_FLOOR_IOC_PIN, &pin))
		return -errno;
	c->last = pin;
	return 0;
}

static int floor_unreg(void *ctx, uint64_t i)
{
	struct floor_ctx *c = ctx;
	struct vtop_floor_unpin unpin = {
		.flags = c->flags & (VTOP_FLOOR_RUNS | VTOP_FLOOR_TIME),
	};

	if (ioctl(floor_fd, VTOP_FLOOR_IOC_UNPIN, &unpin))
		return -errno;
	for (int k = 0; k < VTOP_FLOOR_NS_NR; k++)
		c->step[k] += (double)(c->last.ns[k] + unpin.ns[k]);
	/* The replica must have built what vtop would: check once. */
	if (c->flags && i == 0 && (c->last.nr_segs == 0 ||
				   c->pin.segs[0].vaddr != c->last.vaddr ||
				   !c->pin.segs[0].dma_addr))
		return -EPROTO;
	return 0;
}

static const struct bench_pair_ops floor_ops = {
	.reg = floor_reg,
	.unreg = floor_unreg,
};

static int run_method(enum method m, void *mem, uint64_t len, uint64_t loops,
		      struct sample *s)
{
	struct bench_uring_ctx uc = {
		.ring = &ring,
		.iov = { .iov_base = mem, .iov_len = len },
	};
	struct floor_ctx fc = {
		.pin = {
			.fd = vtop_fd,
			.mem = mem,
			.len = len,
			.segs = segs,
			.nr_segs = nr_segs_cap,
		},
		.step = s->step,
	};
	const struct bench_pair_ops *ops = &floor_ops;
	void *ctx = &fc;
	double f;
	int err;

	memset(s, 0, sizeof(*s));
	switch (m) {
	case M_LIBVTOP:
		ops = &libvtop_ops;
		ctx = &fc.pin;
		break;
	case M_IOCTL:
		ops = &bench_pin_ops;
		ctx = &fc.pin;
		break;
	case M_FLOOR:
		break;
	case M_REPLICA:
		fc.flags = VTOP_FLOOR_ALL & ~VTOP_FLOOR_TIME;
		break;
	case M_SPLIT:
		fc.flags = VTOP_FLOOR_ALL;
		break;
	default:
		ops = &bench_uring_ops;
		ctx = &uc;
		break;
	}
	err = bench_pair_run(ops, ctx, loops, o.max_ns, &s->p);
	if (err)
		return err;
	f = bench_pair_scale(&s->p, loops);
	for (int k = 0; k < VTOP_FLOOR_NS_NR; k++)
		s->step[k] *= f;
	return 0;
}

static double total(const struct sample *x)
{
	return x->p.reg + x->p.unreg;
}

/* Column @m of the [repeat][method] samples. */
static struct bench_pair_col col(struct sample (*s)[NR_METHODS], int m)
{
	return (struct bench_pair_col){ &s[0][m].p, sizeof(s[0]) };
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
	double v[BENCH_MAX_REPEATS];

	/* The floor in io_uring's units, for the plot. */
	bench_pair_ratio_row("register", env, "floor/io_uring", pn, len,
			     "total", col(s, M_FLOOR), col(s, M_IOURING),
			     o.repeats);
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		char cas[32];

		snprintf(cas, sizeof(cas), "%s/floor", method_names[over[i]]);
		bench_pair_ratio_row("register", env, cas, pn, len, "total",
				     col(s, over[i]), col(s, M_FLOOR),
				     o.repeats);
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
		v[r] = (total(&s[r][M_REPLICA]) - in) / pages;
	}
	row("split", pn, len, "syscall", "ns/page", v);
	for (uint64_t r = 0; r < o.repeats; r++)
		v[r] = (total(&s[r][M_IOCTL]) - total(&s[r][M_REPLICA])) /
		       pages;
	row("split", pn, len, "vtop-extra", "ns/page", v);
}

static int bench_one(enum bench_page pk, void *mem, uint64_t len)
{
	static struct sample s[BENCH_MAX_REPEATS][NR_METHODS];
	double v[BENCH_MAX_REPEATS];
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
			v[r] = total(&s[r][m]) / pages;
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
	for (int m = 0; m < nr_methods; m++)
		bench_pair_rows("register", env, method_names[m], pn, len,
				col(s, m), o.repeats, pages);
	for (int m = 0; m < M_IOURING; m++) {
		char cas[32];

		snprintf(cas, sizeof(cas), "%s/io_uring", method_names[m]);
		bench_pair_ratio_row("register", env, cas, pn, len, "total",
				     col(s, m), col(s, M_IOURING), o.repeats);
		bench_pair_ratio_row("register", env, cas, pn, len,
				     "register", col(s, m), col(s, M_IOURING),
				     o.repeats);
	}
	/* libvtop's own cost over the raw ioctls (issue 14 goal 5). */
	for (uint64_t r = 0; r < o.repeats; r++)
		v[r] = total(&s[r][M_LIBVTOP]) / total(&s[r][M_IOCTL]) - 1;
	row("libvtop-ioctl", pn, len, "total", "fraction", v);
	if (nr_methods > M_FLOOR)
		floor_rows(s, pn, len, pages);
	bench_log("  %-8s %5s  libvtop %8.1f  ioctl %8.1f  io_uring %8.1f "
		  "ns/page (first repeat, x%" PRIu64 ")\n", pn,
		  bench_size_str(len, szs, sizeof(szs)),
		  total(&s[0][M_LIBVTOP]) / pages,
		  total(&s[0][M_IOCTL]) / pages,
		  total(&s[0][M_IOURING]) / pages,
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

	bench_parse_sizes(defsizes, o.sizes, MAX_SIZES, &o.nr_sizes);
	bench_parse_pages(defpages, o.pages);
	while ((c = getopt_long(argc, argv, "s:p:r:m:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			err = bench_parse_sizes(optarg, o.sizes, MAX_SIZES,
						&o.nr_sizes);
			break;
		case 'p':
			err = bench_parse_pages(optarg, o.pages);
			break;
		case 'r':
			err = bench_parse_uint(optarg, 1, BENCH_MAX_REPEATS,
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
