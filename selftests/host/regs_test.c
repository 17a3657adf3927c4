// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The registration tree against a model: random registrations and
 * unregistrations (single, spanning several, bad ones), with notify
 * callbacks that fail now and then, maps allocated and freed in between
 * (replay), and allocation failures injected. After every call the return
 * value must be the model's to the errno, and the library's tree, stats,
 * vtophys answers, pins and every map's view must match the model.
 */
#define HOST_FILE "regs_test"
#include "fake_backend.h"

#define K4	0x1000ULL
#define BASE	0x7f0000000000ULL	/* fake VAs: the library never touches them */
#define NPAGES	2048		/* the model's universe, in 4 KiB pages */
#define MAXLEN	24		/* longest registration, in pages */
#define NMAPS	3

#define P(page)	((void *)(uintptr_t)(BASE + (uint64_t)(page) * K4))

/* ---- random numbers ---------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* ---- the model --------------------------------------------------------- */

static struct {
	int start[NPAGES];	/* first page of the registration, or -1 */
	int len[NPAGES];	/* at a registration's first page: its pages */
	long nregs;
	long npages;
} model;

static void model_reset(void)
{
	int p;

	for (p = 0; p < NPAGES; p++) {
		model.start[p] = -1;
		model.len[p] = 0;
	}
	model.nregs = 0;
	model.npages = 0;
}

static int model_register(int s, int n)
{
	int p;

	for (p = s; p < s + n; p++)
		if (model.start[p] >= 0)
			return -EBUSY;
	return 0;
}

static void model_add(int s, int n)
{
	int p;

	for (p = s; p < s + n; p++)
		model.start[p] = s;
	model.len[s] = n;
	model.nregs++;
	model.npages += n;
}

/* What vtop_mem_unregister() of pages [s, s + n) must return. */
static int model_unregister(int s, int n)
{
	int p;

	/* SPDK's order: a registered first page that starts nothing, */
	if (model.start[s] >= 0 && model.start[s] != s)
		return -ERANGE;
	/* then any page not registered, then the end inside a registration */
	for (p = s; p < s + n; p++)
		if (model.start[p] < 0)
			return -EINVAL;
	if (s + n < NPAGES && model.start[s + n] == model.start[s + n - 1])
		return -ERANGE;
	return 0;
}

static void model_remove(int s, int n)
{
	int p;

	for (p = s; p < s + n; p++) {
		if (model.start[p] == p) {
			model.nregs--;
			model.npages -= model.len[p];
			model.len[p] = 0;
		}
		model.start[p] = -1;
	}
}

/* ---- allocation failures ----------------------------------------------- */

static unsigned int fail_one_in;	/* 0: never */
static int nr_failed;			/* allocations failed so far */
static int nr_allocs;

static void *failing_calloc(size_t n, size_t s)
{
	nr_allocs++;
	if (fail_one_in && rnd_below(fail_one_in) == 0) {
		nr_failed++;
		return NULL;
	}
	return calloc(n, s);
}

/* ---- maps with a view of their own ------------------------------------- */

enum phase { PH_NONE, PH_REPLAY, PH_FREE };

struct view {
	struct vtop_mem_map *map;
	unsigned char regd[NPAGES];
	unsigned int fail_one_in;	/* fail REGISTER now and then */
	int failed;			/* REGISTERs failed so far */
	enum phase phase;
	uint64_t last_reg, last_unreg;	/* order checks during a phase */
	bool bad;			/* an impossible notification came */
};

static struct view views[NMAPS];

static int view_cb(void *ctx, struct vtop_mem_map *map,
		   enum vtop_mem_map_notify_action action, void *vaddr,
		   size_t size)
{
	struct view *v = ctx;
	uint64_t va = (uintptr_t)vaddr;
	long p, first = (long)((va - BASE) / K4), n = (long)(size / K4);

	(void)map;
	if (va < BASE || (va - BASE) % K4 || size % K4 || !n ||
	    first + n > NPAGES) {
		v->bad = true;
		return 0;
	}
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER) {
		/* replay: in address order */
		if (v->phase == PH_REPLAY) {
			if (v->last_reg != UINT64_MAX && va <= v->last_reg)
				v->bad = true;
			v->last_reg = va;
		}
		for (p = first; p < first + n; p++)
			if (v->regd[p])
				v->bad = true;
		if (v->fail_one_in && rnd_below(v->fail_one_in) == 0) {
			v->failed++;
			return (int)rnd_below(2) ? -EIO : EIO;
		}
		memset(&v->regd[first], 1, (size_t)n);
	} else {
		/* the unwinding of a replay: newest first; map free: oldest */
		if (v->phase == PH_REPLAY) {
			if (va >= v->last_unreg)
				v->bad = true;
			v->last_unreg = va;
		} else if (v->phase == PH_FREE) {
			if (v->last_unreg != UINT64_MAX && va <= v->last_unreg)
				v->bad = true;
			v->last_unreg = va;
		}
		for (p = first; p < first + n; p++)
			if (!v->regd[p])
				v->bad = true;
		memset(&v->regd[first], 0, (size_t)n);
	}
	return 0;
}

static void view_phase(struct view *v, enum phase ph)
{
	v->phase = ph;
	v->last_reg = UINT64_MAX;
	v->last_unreg = UINT64_MAX;
}

/* Allocate map @i: NULL and errno set when the replay or memory fails. */
static bool view_alloc(int i)
{
	struct vtop_mem_map_ops ops = { .notify_cb = view_cb };
	struct view *v = &views[i];
	int failed = v->failed, nfail = nr_failed, p;

	REQUIRE(!v->map);
	memset(v->regd, 0, sizeof(v->regd));
	view_phase(v, PH_REPLAY);
	errno = 0;
	v->map = vtop_mem_map_alloc(0, &ops, v);
	view_phase(v, PH_NONE);
	if (v->map) {
		CHECK_EQ(v->failed, failed);
		CHECK_EQ(nr_failed, nfail);
		return true;
	}
	if (v->failed != failed)
		CHECK_EQ(errno, EIO);
	else
		CHECK(nr_failed != nfail && errno == ENOMEM);
	/* everything replayed was taken back */
	for (p = 0; p < NPAGES; p++)
		if (v->regd[p])
			v->bad = true;
	return false;
}

static void view_free(int i)
{
	struct view *v = &views[i];
	int p;

	view_phase(v, PH_FREE);
	vtop_mem_map_free(&v->map);
	view_phase(v, PH_NONE);
	CHECK(!v->map);
	for (p = 0; p < NPAGES; p++)
		if (v->regd[p])
			v->bad = true;
}

/* ---- checking everything against the model ----------------------------- */

static void check_page(int p)
{
	uint64_t want = model.start[p] >= 0 ?
			fake.phys(BASE + (uint64_t)p * K4) : VTOP_VTOPHYS_ERROR;

	CHECK_EQ(vtop_vtophys(P(p), NULL), want);
}

static void check_all(bool full)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	int i, p, k;

	CHECK_EQ(vtop__mem_check_regs(), model.nregs);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.nr_registrations, model.nregs);
	CHECK_EQ(st.registered_bytes, (uint64_t)model.npages * K4);
	CHECK_EQ(atomic_load(&fake.live), model.nregs);
	for (i = 0; i < NMAPS; i++)
		CHECK(!views[i].bad);
	if (!full) {
		for (k = 0; k < 8; k++)
			check_page((int)rnd_below(NPAGES));
		return;
	}
	for (p = 0; p < NPAGES; p++) {
		check_page(p);
		if (model.start[p] == p)
			CHECK(fake_pinned(BASE + (uint64_t)p * K4,
					  (uint64_t)model.len[p] * K4));
		for (i = 0; i < NMAPS; i++)
			if (views[i].map)
				CHECK_EQ(views[i].regd[p], model.start[p] >= 0);
	}
	REQUIRE(!host_failures);
}

/* ---- the operations ---------------------------------------------------- */

static int callbacks_failed(void)
{
	int i, n = 0;

	for (i = 0; i < NMAPS; i++)
		n += views[i].failed;
	return n;
}

static void op_register(int s, int n)
{
	int want = model_register(s, n), nfail = nr_failed;
	int cbfail = callbacks_failed(), rc;

	nr_allocs = 0;
	rc = vtop_mem_register(P(s), (size_t)n * K4);
	if (want) {
		/* refused before anything is allocated or pinned */
		CHECK_EQ(rc, want);
		CHECK_EQ(nr_allocs, 0);
	} else if (nr_failed != nfail) {
		CHECK_EQ(rc, -ENOMEM);
	} else if (callbacks_failed() != cbfail) {
		CHECK_EQ(rc, -EIO);
	} else {
		CHECK_EQ(rc, 0);
		if (!rc)
			model_add(s, n);
	}
}

static void op_unregister(int s, int n)
{
	int want = model_unregister(s, n), rc;

	nr_allocs = 0;
	rc = vtop_mem_unregister(P(s), (size_t)n * K4);
	CHECK_EQ(rc, want);
	/* unregistering never allocates, so it cannot fail for memory */
	CHECK_EQ(nr_allocs, 0);
	if (!rc)
		model_remove(s, n);
}

/* A random registered page, or -1. */
static int some_registered(void)
{
	int k, p;

	if (!model.nregs)
		return -1;
	for (k = 0; k < 64; k++) {
		p = (int)rnd_below(NPAGES);
		if (model.start[p] >= 0)
			return p;
	}
	for (p = 0; p < NPAGES; p++)
		if (model.start[p] >= 0)
			return p;
	return -1;
}

static void one_op(void)
{
	unsigned int what = rnd_below(100);
	int s, e, n, i;

	if (what < 45) {
		/* register somewhere */
		n = 1 + (int)rnd_below(MAXLEN);
		s = (int)rnd_below(NPAGES - n + 1);
		op_register(s, n);
	} else if (what < 75) {
		/* unregister one whole registration */
		s = some_registered();
		if (s >= 0) {
			s = model.start[s];
			op_unregister(s, model.len[s]);
		}
	} else if (what < 83) {
		/* unregister from a registration's start to a later end */
		s = some_registered();
		if (s >= 0) {
			s = model.start[s];
			e = s + model.len[s];
			for (i = (int)rnd_below(4); i > 0 && e < NPAGES &&
			     model.start[e] == e; i--)
				e += model.len[e];
			op_unregister(s, e - s);
		}
	} else if (what < 93) {
		/* unregister anything: mostly -EINVAL / -ERANGE */
		n = 1 + (int)rnd_below(2 * MAXLEN);
		s = (int)rnd_below(NPAGES - n + 1);
		op_unregister(s, n);
	} else if (what < 97) {
		/* a map comes or goes */
		i = (int)rnd_below(NMAPS);
		if (views[i].map)
			view_free(i);
		else
			view_alloc(i);
	} else {
		/* register over an existing one: -EBUSY */
		s = some_registered();
		if (s >= 0) {
			n = 1 + (int)rnd_below(MAXLEN);
			s = s >= n / 2 ? s - n / 2 : 0;
			if (s + n > NPAGES)
				s = NPAGES - n;
			op_register(s, n);
		}
	}
}

static void run_random(uint64_t seed, int ops, unsigned int alloc_fail,
		       unsigned int cb_fail)
{
	int k, i;

	printf("# seed 0x%llx, %d operations, allocations fail 1 in %u, callbacks 1 in %u\n",
	       (unsigned long long)seed, ops, alloc_fail, cb_fail);
	rng_state = seed;
	model_reset();
	fake_init();
	vtop__calloc_hook = failing_calloc;
	for (i = 0; i < NMAPS; i++) {
		views[i].fail_one_in = cb_fail;
		/* the first maps exist from the start */
		if (i < 2)
			REQUIRE(view_alloc(i));
	}
	fail_one_in = alloc_fail;
	for (k = 0; k < ops; k++) {
		one_op();
		check_all(k % 512 == 511);
	}
	fail_one_in = 0;
	check_all(true);
	CHECK(nr_failed || !alloc_fail);
	CHECK(callbacks_failed() || !cb_fail);

	/* env fini unregisters everything, every live map is told */
	for (i = 0; i < NMAPS; i++)
		views[i].fail_one_in = 0;
	vtop_env_fini();
	model_reset();
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(fake.unpin_errors, 0);
	for (i = 0; i < NMAPS; i++)
		if (views[i].map)
			view_free(i);
	for (i = 0; i < NMAPS; i++)
		CHECK(!views[i].bad);
	CHECK_EQ(vtop__mem_check_regs(), 0);
	vtop__calloc_hook = NULL;
}

static void random_plain(void)
{
	run_random(0x9e3779b97f4a7c15ULL, 40000, 0, 0);
}

static void random_callbacks_fail(void)
{
	run_random(0x243f6a8885a308d3ULL, 30000, 0, 16);
}

static void random_enomem(void)
{
	run_random(0xb7e151628aed2a6bULL, 30000, 6, 0);
}

static void random_everything_fails(void)
{
	run_random(0x452821e638d01377ULL, 30000, 9, 11);
}

/*
 * Orders that unbalance a naive tree: ascending, descending and
 * alternating ends, then one call unregistering all of them at once and
 * pieces of it.
 */
static void ordered_patterns(void)
{
	int order, k, p, lo, hi;
	const int n = 1000;

	fake_init();
	model_reset();
	for (order = 0; order < 3; order++) {
		lo = 0;
		hi = n - 1;
		for (k = 0; k < n; k++) {
			if (order == 0)
				p = k;
			else if (order == 1)
				p = n - 1 - k;
			else
				p = k % 2 ? hi-- : lo++;
			op_register(2 * p, 2);
			if (k % 100 == 99)
				check_all(false);
		}
		check_all(true);
		/* one page short of everything: splits the last one */
		op_unregister(0, 2 * n - 1);
		/* a page more than everything: not registered */
		op_unregister(0, 2 * n + 1);
		/* half of them, then the rest, in one call each */
		op_unregister(0, n);
		check_all(true);
		op_unregister(n, n);
		check_all(true);
		CHECK_EQ(model.nregs, 0);
	}
	/* gaps: -EINVAL for the first unregistered page, before any split */
	for (k = 0; k < 100; k++)
		op_register(4 * k, 2);
	op_unregister(1, 4);	/* split, and page 2 is a hole */
	op_unregister(0, 3);	/* page 2 is a hole */
	op_unregister(1, 1);	/* split */
	op_unregister(0, 2);
	op_unregister(4, 2);
	check_all(true);
	vtop_env_fini();
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(vtop__mem_check_regs(), 0);
}

/* Register and unregister the same pages over and over: no leak, no growth. */
static void churn(void)
{
	int k;

	fake_init();
	model_reset();
	for (k = 0; k < 20000; k++) {
		op_register(k % 7, 3);
		op_unregister(k % 7, 3);
	}
	check_all(true);
	CHECK_EQ(atomic_load(&fake.pins_total), 20000);
	vtop_env_fini();
}

HOST_MAIN(
	HOST_TEST(ordered_patterns),
	HOST_TEST(churn),
	HOST_TEST(random_plain),
	HOST_TEST(random_callbacks_fail),
	HOST_TEST(random_enomem),
	HOST_TEST(random_everything_fails),
)
