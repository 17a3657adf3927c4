// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Invalidation events (issue 10), through the fake backend's simulation of
 * the kernel's channel (records, event page seq, overflow and
 * GET_INVALIDATED, a pollable descriptor): exported translations refuse
 * invalidated memory before the events are processed, each registration
 * is reported once and in order, maps made without ops->size get
 * UNREGISTER, the range can be registered again, replays stay right.
 */
#define HOST_FILE "events_test"
#include <poll.h>
#include <time.h>

#include "fake_backend.h"

#define K4	0x1000ULL
#define M2	0x200000ULL
#define BASE	0x40000000ULL
#define P(va)	((void *)(uintptr_t)(va))

#define R	VTOP_MEM_MAP_NOTIFY_REGISTER
#define U	VTOP_MEM_MAP_NOTIFY_UNREGISTER
#define I	VTOP_MEM_MAP_NOTIFY_INVALIDATE
#define EV_UNPIN 100

struct ev {
	int who, action;
	uint64_t va, len, vtophys;
	pthread_t thread;
};

static struct ev evlog[1024];
static atomic_int nev;

static void log_ev(int who, int action, uint64_t va, uint64_t len)
{
	int i = atomic_fetch_add(&nev, 1);

	REQUIRE(i < (int)VTOP_ARRAY_SIZE(evlog));
	evlog[i] = (struct ev){ who, action, va, len,
				vtop_vtophys(P(va), NULL), pthread_self() };
}

static void log_unpin(uint64_t va, uint64_t len)
{
	log_ev(EV_UNPIN, 0, va, len);
}

struct mctx {
	int id;
	uint64_t value;
};

static int log_cb(void *ctx, struct vtop_mem_map *map,
		  enum vtop_mem_map_notify_action action, void *vaddr,
		  size_t size)
{
	struct mctx *c = ctx;

	log_ev(c->id, action, (uintptr_t)vaddr, size);
	if (action == R)
		return vtop_mem_map_set_translation(map, (uintptr_t)vaddr,
						    size, c->value);
	return vtop_mem_map_clear_translation(map, (uintptr_t)vaddr, size);
}

/* A 0.3 consumer (sized ops) or an old one (size 0). */
static struct vtop_mem_map *log_map(struct mctx *c, bool sized)
{
	struct vtop_mem_map_ops ops = { .notify_cb = log_cb };

	if (sized)
		ops.size = sizeof(ops);
	return vtop_mem_map_alloc(0, &ops, c);
}

static void check_ev(int i, int who, int action, uint64_t va, uint64_t len)
{
	REQUIRE(i < atomic_load(&nev));
	if (evlog[i].who != who || evlog[i].action != action ||
	    evlog[i].va != va || evlog[i].len != len) {
		fprintf(stderr, "# event %d: got who %d action %d 0x%llx+0x%llx, want who %d action %d 0x%llx+0x%llx\n",
			i, evlog[i].who, evlog[i].action,
			(unsigned long long)evlog[i].va,
			(unsigned long long)evlog[i].len, who, action,
			(unsigned long long)va, (unsigned long long)len);
		host_failures++;
	}
}

static struct vtop_mem_stats stats(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	REQUIRE(vtop_mem_get_stats(&st) == 0);
	return st;
}

/* "New frames" for a range mapped again: another linear offset. */
static uint64_t phys_new(uint64_t va)
{
	return va + 0x200000000000ULL;
}

/* ---- tests -------------------------------------------------------------- */

static void invalidate_one(void)
{
	struct mctx a = { .id = 1, .value = 11 }, b = { .id = 2, .value = 22 };
	const struct vtop_mem_map *vm;
	struct vtop_mem_map *ma, *mb;
	struct vtop_segment seg[2];
	uint32_t nseg = 2;

	fake_init_events(0);
	fake.on_unpin = log_unpin;
	ma = log_map(&a, true);
	mb = log_map(&b, true);
	REQUIRE(ma && mb);
	vm = vtop_vtophys_map();
	REQUIRE(vtop_mem_register(P(BASE), M2) == 0);
	REQUIRE(vtop_mem_register(P(BASE + M2), 4 * K4) == 0);
	REQUIRE(vtop_mem_register(P(BASE + 2 * M2), M2) == 0);
	atomic_store(&nev, 0);

	CHECK_EQ(fake_invalidate(BASE + M2 + K4, K4), 1);
	/* the inline lookup still reads the old value: nothing marked yet */
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + M2)), fake.phys(BASE + M2));
	/* the exported call checks the seq: refused, and marked */
	CHECK_EQ(vtop_vtophys(P(BASE + M2 + 3 * K4), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + M2)), VTOP_VTOPHYS_ERROR);
	/* neighbours are fine, through every exported path */
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), fake.phys(BASE));
	CHECK_EQ(vtop_mem_get_segs(P(BASE), M2, seg, &nseg), 0);
	nseg = 2;
	CHECK_EQ(vtop_mem_get_segs(P(BASE + M2), K4, seg, &nseg), -EINVAL);
	CHECK_EQ(vtop_mem_map_translate(vm, BASE + M2, NULL),
		 VTOP_VTOPHYS_ERROR);
	/* no callback before processing; consumer maps unchanged */
	CHECK_EQ(atomic_load(&nev), 0);
	CHECK_EQ(vtop_mem_map_translate(ma, BASE + M2, NULL), 11);
	CHECK_EQ(stats().nr_registrations, 3);

	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK_EQ(atomic_load(&nev), 3);
	check_ev(0, 2, I, BASE + M2, 4 * K4);
	check_ev(1, 1, I, BASE + M2, 4 * K4);
	check_ev(2, EV_UNPIN, 0, BASE + M2, 4 * K4);
	/* callbacks already saw the memory gone from vtophys */
	CHECK_EQ(evlog[0].vtophys, VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_map_translate(ma, BASE + M2, NULL), 0);
	CHECK_EQ(vtop_mem_map_translate(mb, BASE + M2, NULL), 0);
	CHECK_EQ(vtop_mem_map_translate(ma, BASE, NULL), 11);
	CHECK(!fake_pinned(BASE + M2, 4 * K4));
	CHECK_EQ(atomic_load(&fake.live), 2);
	CHECK_EQ(stats().nr_registrations, 2);
	CHECK_EQ(stats().invalidations, 1);
	CHECK_EQ(vtop__mem_check_regs(), 2);
	/* once */
	CHECK_EQ(vtop_mem_process_events(), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE + M2), 4 * K4), -EINVAL);
	CHECK_EQ(atomic_load(&nev), 3);
	/* the range registers again, with its new frames */
	fake.phys = phys_new;
	CHECK_EQ(vtop_mem_register(P(BASE + M2), 4 * K4), 0);
	CHECK_EQ(vtop_vtophys(P(BASE + M2 + 5), NULL), phys_new(BASE + M2) + 5);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + M2)), phys_new(BASE + M2));
	check_ev(3, 1, R, BASE + M2, 4 * K4);
	check_ev(4, 2, R, BASE + M2, 4 * K4);
	vtop_env_fini();
	CHECK_EQ(fake.unpin_errors, 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	vtop_mem_map_free(&ma);
	vtop_mem_map_free(&mb);
}

/* Several events: in the kernel's order; old maps get UNREGISTER. */
static void order_and_old_maps(void)
{
	struct mctx a = { .id = 1, .value = 1 }, b = { .id = 2, .value = 2 };
	struct vtop_mem_map *ma, *mb;
	int i;

	fake_init_events(0);
	ma = log_map(&a, false);	/* built for 0.2 */
	mb = log_map(&b, true);
	REQUIRE(ma && mb);
	for (i = 0; i < 4; i++)
		REQUIRE(vtop_mem_register(P(BASE + i * M2), K4) == 0);
	atomic_store(&nev, 0);
	fake_invalidate(BASE + 3 * M2, K4);
	fake_invalidate(BASE, K4);
	fake_invalidate(BASE + 2 * M2, K4);
	CHECK_EQ(vtop_mem_process_events(), 3);
	CHECK_EQ(atomic_load(&nev), 6);
	check_ev(0, 2, I, BASE + 3 * M2, K4);
	check_ev(1, 1, U, BASE + 3 * M2, K4);
	check_ev(2, 2, I, BASE, K4);
	check_ev(3, 1, U, BASE, K4);
	check_ev(4, 2, I, BASE + 2 * M2, K4);
	check_ev(5, 1, U, BASE + 2 * M2, K4);
	/* a new map is replayed what is left, only */
	{
		struct mctx c = { .id = 3, .value = 3 };
		struct vtop_mem_map *mc = log_map(&c, true);

		REQUIRE(mc);
		CHECK_EQ(atomic_load(&nev), 7);
		check_ev(6, 3, R, BASE + M2, K4);
		CHECK_EQ(vtop_mem_map_translate(mc, BASE + M2, NULL), 3);
		CHECK_EQ(vtop_mem_map_translate(mc, BASE, NULL), 0);
		vtop_mem_map_free(&mc);
	}
	vtop_mem_map_free(&ma);
	vtop_mem_map_free(&mb);
	vtop_env_fini();
}

/* The 0.1 entry point reads the 0.1 struct only. */
struct vtop_mem_map *vtop__mem_map_alloc_v01(uint64_t, const void *, void *);

static void compat_entry_point(void)
{
	struct mctx a = { .id = 1, .value = 1 };
	struct {
		vtop_mem_map_notify_cb notify_cb;
		vtop_mem_map_contiguous_cb are_contiguous;
		uint64_t garbage;	/* beyond the 0.1 struct */
	} old = { log_cb, NULL, ~0ULL };
	struct vtop_mem_map *m;

	fake_init_events(0);
	m = vtop__mem_map_alloc_v01(0, &old, &a);
	REQUIRE(m);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	fake_invalidate(BASE, K4);
	CHECK_EQ(vtop_mem_process_events(), 1);
	check_ev(1, 1, U, BASE, K4);
	vtop_mem_map_free(&m);
	vtop_env_fini();
}

static void ops_size(void)
{
	struct {
		struct vtop_mem_map_ops ops;
		uint64_t future;
	} big = { .ops = { .notify_cb = log_cb } };
	struct vtop_mem_map *m;

	big.ops.size = sizeof(size_t);
	errno = 0;
	CHECK(vtop_mem_map_alloc(0, &big.ops, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	big.ops.size = sizeof(big);
	big.future = 1;
	CHECK(vtop_mem_map_alloc(0, &big.ops, NULL) == NULL);
	CHECK_EQ(errno, E2BIG);
	big.future = 0;
	m = vtop_mem_map_alloc(0, &big.ops, NULL);
	CHECK(m != NULL);
	vtop_mem_map_free(&m);
}

/* munmap + mmap at the same address + register: the "Why" scenario. */
static void register_drains_first(void)
{
	struct mctx a = { .id = 1, .value = 1 };
	struct vtop_mem_map *ma;

	fake_init_events(0);
	fake.on_unpin = log_unpin;
	ma = log_map(&a, true);
	REQUIRE(ma);
	REQUIRE(vtop_mem_register(P(BASE), M2) == 0);
	atomic_store(&nev, 0);
	fake_invalidate(BASE, M2);		/* munmap */
	fake.phys = phys_new;			/* mmap MAP_FIXED */
	CHECK_EQ(vtop_mem_register(P(BASE), M2), 0);	/* not -EBUSY */
	CHECK_EQ(atomic_load(&nev), 3);
	check_ev(0, 1, I, BASE, M2);
	check_ev(1, EV_UNPIN, 0, BASE, M2);	/* old pages unpinned */
	check_ev(2, 1, R, BASE, M2);
	CHECK_EQ(vtop_vtophys(P(BASE + 9), NULL), phys_new(BASE) + 9);
	CHECK_EQ(atomic_load(&fake.live), 1);
	vtop_mem_map_free(&ma);
	vtop_env_fini();
}

/* Overflow: the queued records first, in order, then the rest; once. */
static void overflow(void)
{
	struct mctx a = { .id = 1, .value = 1 };
	struct vtop_mem_map *ma;
	int i, seen[6] = { 0 };

	fake.qcap = 2;
	fake_init_events(0);
	ma = log_map(&a, true);
	REQUIRE(ma);
	for (i = 0; i < 6; i++)
		REQUIRE(vtop_mem_register(P(BASE + i * M2), K4) == 0);
	atomic_store(&nev, 0);
	fake_invalidate(BASE + 4 * M2, K4);
	fake_invalidate(BASE + 1 * M2, K4);
	fake_invalidate(BASE + 5 * M2, K4);	/* overflow from here */
	fake_invalidate(BASE + 0 * M2, K4);
	fake_invalidate(BASE + 3 * M2, K4);
	CHECK_EQ(fake.page.overflows, 3);
	/* translations refused before processing, even the unqueued */
	CHECK_EQ(vtop_vtophys(P(BASE + 3 * M2), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys(P(BASE + 5 * M2), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys(P(BASE + 2 * M2), NULL), fake.phys(BASE + 2 * M2));
	CHECK_EQ(vtop_mem_process_events(), 5);
	CHECK_EQ(atomic_load(&nev), 5);
	check_ev(0, 1, I, BASE + 4 * M2, K4);
	check_ev(1, 1, I, BASE + 1 * M2, K4);
	check_ev(2, 1, I, BASE + 0 * M2, K4);
	check_ev(3, 1, I, BASE + 3 * M2, K4);
	check_ev(4, 1, I, BASE + 5 * M2, K4);
	for (i = 0; i < 5; i++)
		seen[(evlog[i].va - BASE) / M2]++;
	CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 0 && seen[3] == 1 &&
	      seen[4] == 1 && seen[5] == 1);
	CHECK_EQ(stats().event_overflows, 1);
	CHECK_EQ(stats().invalidations, 5);
	CHECK_EQ(vtop_mem_process_events(), 0);
	CHECK_EQ(atomic_load(&fake.live), 1);
	/* recovered: the next events are records again */
	fake_invalidate(BASE + 2 * M2, K4);
	CHECK_EQ(vtop_mem_process_events(), 1);
	check_ev(5, 1, I, BASE + 2 * M2, K4);
	CHECK_EQ(stats().event_overflows, 1);
	vtop_mem_map_free(&ma);
	vtop_env_fini();
	CHECK_EQ(fake.unpin_errors, 0);
}

/* Channel errors: reported, nothing registered, nothing served. */
static void channel_errors(void)
{
	struct vtop_segment seg;
	uint32_t nseg = 1;
	int pins;

	fake_init_events(0);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	REQUIRE(vtop_mem_register(P(BASE + M2), K4) == 0);
	fake_invalidate(BASE, K4);
	/* the list cannot be had: no answer is trusted */
	fake.fail_get_inval = -EIO;
	CHECK_EQ(vtop_vtophys(P(BASE + M2), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_get_segs(P(BASE + M2), K4, &seg, &nseg), -EIO);
	fake.fail_get_inval = 0;
	CHECK_EQ(vtop_vtophys(P(BASE + M2), NULL), fake.phys(BASE + M2));
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	/* records cannot be read: processing, register, unregister fail */
	fake.fail_read = -EIO;
	pins = atomic_load(&fake.pins_total);
	CHECK_EQ(vtop_mem_process_events(), -EIO);
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * M2), K4), -EIO);
	CHECK_EQ(atomic_load(&fake.pins_total), pins);
	CHECK_EQ(vtop_mem_unregister(P(BASE + M2), K4), -EIO);
	CHECK_EQ(stats().nr_registrations, 2);
	fake.fail_read = 0;
	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK_EQ(vtop_mem_unregister(P(BASE + M2), K4), 0);
	vtop_env_fini();
	CHECK_EQ(fake.unpin_errors, 0);
}

/* Unmapped while being registered: REGISTER, then INVALIDATE. */
static void unmap_during_pin(uint64_t va, uint64_t len)
{
	fake_invalidate(va, len);
	/* a translator looks now: the registration is not in the tree */
	CHECK_EQ(vtop_vtophys(P(BASE + 8 * M2), NULL),
		 fake.phys(BASE + 8 * M2));
}

static void invalidated_while_registering(void)
{
	struct mctx a = { .id = 1, .value = 1 };
	struct vtop_mem_map *ma;

	fake_init_events(0);
	ma = log_map(&a, true);
	REQUIRE(ma);
	REQUIRE(vtop_mem_register(P(BASE + 8 * M2), K4) == 0);
	atomic_store(&nev, 0);
	fake.after_pin = unmap_during_pin;
	CHECK_EQ(vtop_mem_register(P(BASE), M2), 0);
	fake.after_pin = NULL;
	/* never served, although the seq was seen before the insertion */
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys_lookup(vtop_vtophys_map(), P(BASE)),
		 VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK_EQ(atomic_load(&nev), 2);
	check_ev(0, 1, R, BASE, M2);
	check_ev(1, 1, I, BASE, M2);
	vtop_mem_map_free(&ma);
	vtop_env_fini();
}

/* The descriptor for an application's poll loop. */
static void event_fd_poll(void)
{
	struct pollfd p = { .events = POLLIN };

	fake_init_events(0);
	p.fd = vtop_env_get_event_fd();
	REQUIRE(p.fd >= 0);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	CHECK_EQ(poll(&p, 1, 0), 0);
	fake_invalidate(BASE, K4);
	CHECK_EQ(poll(&p, 1, 0), 1);
	/* a translator marks, but consumes nothing: still readable */
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK_EQ(poll(&p, 1, 0), 0);
	vtop_env_fini();
}

/* Nothing new: register, unregister, process make no read at all. */
static void no_syscall_when_quiet(void)
{
	int reads;

	fake_init_events(0);
	reads = atomic_load(&fake.reads);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	CHECK_EQ(vtop_mem_process_events(), 0);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), fake.phys(BASE));
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), 0);
	CHECK_EQ(atomic_load(&fake.reads), reads);
	CHECK_EQ(atomic_load(&fake.get_invals), 0);
	vtop_env_fini();
}

/* Backends without events. */
static void no_events(void)
{
	fake_init();
	CHECK_EQ(vtop_env_get_event_fd(), -EOPNOTSUPP);
	CHECK_EQ(vtop_mem_process_events(), 0);
	vtop_env_fini();
	CHECK_EQ(vtop_mem_process_events(), 0);	/* not initialized */
	CHECK_EQ(vtop__env_init_backend_flags(&fake_ops, NULL, VTOP_MODE_PHYS,
					      VTOP_ENV_EVENT_THREAD),
		 -EOPNOTSUPP);
	CHECK_EQ(stats().initialized, 0);
}

/* VTOP_ENV_EVENT_THREAD: callbacks arrive on the library's thread. */
static pthread_mutex_t wl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wc = PTHREAD_COND_INITIALIZER;
static int invalidated;

static int thread_cb(void *ctx, struct vtop_mem_map *map,
		     enum vtop_mem_map_notify_action action, void *vaddr,
		     size_t size)
{
	log_cb(ctx, map, action, vaddr, size);
	if (action == I) {
		pthread_mutex_lock(&wl);
		invalidated++;
		pthread_cond_signal(&wc);
		pthread_mutex_unlock(&wl);
	}
	return 0;
}

static void event_thread(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = thread_cb,
					.size = sizeof(ops) };
	struct mctx a = { .id = 1, .value = 1 };
	struct vtop_mem_map *ma;
	struct timespec ts;
	int i, rc = 0;

	fake_init_events(VTOP_ENV_EVENT_THREAD);
	CHECK_EQ(stats().flags, VTOP_ENV_EVENT_THREAD);
	ma = vtop_mem_map_alloc(0, &ops, &a);
	REQUIRE(ma);
	for (i = 0; i < 8; i++)
		REQUIRE(vtop_mem_register(P(BASE + i * M2), K4) == 0);
	atomic_store(&nev, 0);
	for (i = 0; i < 8; i++)
		fake_invalidate(BASE + i * M2, K4);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&wl);
	while (invalidated < 8 && rc == 0)
		rc = pthread_cond_timedwait(&wc, &wl, &ts);
	pthread_mutex_unlock(&wl);
	CHECK_EQ(invalidated, 8);
	CHECK_EQ(atomic_load(&nev), 8);
	for (i = 0; i < 8; i++) {
		check_ev(i, 1, I, BASE + i * M2, K4);
		CHECK(!pthread_equal(evlog[i].thread, pthread_self()));
	}
	CHECK_EQ(stats().nr_registrations, 0);
	vtop_env_fini();	/* joins the thread */
	vtop_mem_map_free(&ma);
	/* and again */
	fake.evfd = -1;
	fake_init_events(VTOP_ENV_EVENT_THREAD);
	vtop_env_fini();
}

/*
 * Readers translate while a writer invalidates and re-registers the same
 * range with new frames: once the kernel side reported an invalidation
 * (the generation below moved), no reader that starts afterwards may get
 * an older generation's address.
 */
#define GEN_SHIFT	36
static _Atomic uint64_t gen;
static atomic_int stop;
static atomic_int stale;

static uint64_t phys_gen(uint64_t va)
{
	return va + ((atomic_load(&gen) + 1) << GEN_SHIFT);
}

static void *reader(void *arg)
{
	uint64_t g, a, got;

	(void)arg;
	while (!atomic_load(&stop)) {
		g = atomic_load(&gen);	/* published after the invalidation */
		a = vtop_vtophys(P(BASE + K4), NULL);
		if (a == VTOP_VTOPHYS_ERROR)
			continue;
		got = ((a - BASE - K4) >> GEN_SHIFT) - 1;
		if (got < g)
			atomic_fetch_add(&stale, 1);
	}
	return NULL;
}

static void readers_never_stale(void)
{
	pthread_t t[2];
	int i;

	fake.phys = phys_gen;
	fake_init_events(0);
	REQUIRE(vtop_mem_register(P(BASE), M2) == 0);
	for (i = 0; i < 2; i++)
		REQUIRE(!pthread_create(&t[i], NULL, reader, NULL));
	for (i = 0; i < 2000; i++) {
		REQUIRE(fake_invalidate(BASE, M2) == 1);
		atomic_fetch_add(&gen, 1);
		REQUIRE(vtop_mem_register(P(BASE), M2) == 0);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&stale), 0);
	CHECK_EQ(stats().invalidations, 2000);
	CHECK_EQ(atomic_load(&fake.live), 1);
	vtop_env_fini();
}

HOST_MAIN(
	HOST_TEST(invalidate_one),
	HOST_TEST(order_and_old_maps),
	HOST_TEST(compat_entry_point),
	HOST_TEST(ops_size),
	HOST_TEST(register_drains_first),
	HOST_TEST(overflow),
	HOST_TEST(channel_errors),
	HOST_TEST(invalidated_while_registering),
	HOST_TEST(event_fd_poll),
	HOST_TEST(no_syscall_when_quiet),
	HOST_TEST(no_events),
	HOST_TEST(event_thread),
	HOST_TEST(readers_never_stale),
)
