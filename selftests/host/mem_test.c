// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registration and notification semantics, through the fake backend:
 * EINVAL/EBUSY/ERANGE, notification order, replay, unwinding, vtophys.
 */
#define HOST_FILE "mem_test"
#include "fake_backend.h"

#define K4	0x1000ULL
#define M2	0x200000ULL
#define BASE	0x40000000ULL	/* fake VAs: the library never touches them */

#define P(va)	((void *)(uintptr_t)(va))

/* ---- an event log shared by maps and the backend ----------------------- */

#define EV_UNPIN	100

struct ev {
	int who;	/* map id, or EV_UNPIN */
	int action;
	uint64_t va, len;
	uint64_t vtophys;	/* vtop_vtophys(va) seen by the callback */
};

static struct ev evlog[4096];
static int nev;

static void log_ev(int who, int action, uint64_t va, uint64_t len)
{
	REQUIRE(nev < (int)VTOP_ARRAY_SIZE(evlog));
	evlog[nev++] = (struct ev){ who, action, va, len,
				    vtop_vtophys(P(va), NULL) };
}

static void log_unpin(uint64_t va, uint64_t len)
{
	log_ev(EV_UNPIN, 0, va, len);
}

struct mctx {
	int id;
	int fail_register_at;	/* fail the Nth REGISTER (1-based), 0: never */
	int fail_rc;
	int nreg;
	struct vtop_mem_map *shadow;	/* set on REGISTER, cleared on UNREG */
};

static int log_cb(void *ctx, struct vtop_mem_map *map,
		  enum vtop_mem_map_notify_action action, void *vaddr,
		  size_t size)
{
	struct mctx *c = ctx;

	(void)map;
	log_ev(c->id, action, (uintptr_t)vaddr, size);
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER) {
		if (++c->nreg == c->fail_register_at)
			return c->fail_rc;
		if (c->shadow)
			REQUIRE(vtop_mem_map_set_translation(c->shadow,
					(uintptr_t)vaddr, size, c->id) == 0);
	} else if (c->shadow) {
		REQUIRE(vtop_mem_map_clear_translation(c->shadow,
					(uintptr_t)vaddr, size) == 0);
	}
	return 0;
}

static struct vtop_mem_map *log_map(struct mctx *c)
{
	struct vtop_mem_map_ops ops = { .notify_cb = log_cb };

	return vtop_mem_map_alloc(0, &ops, c);
}

static void check_ev(int i, int who, int action, uint64_t va, uint64_t len)
{
	REQUIRE(i < nev);
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

static uint64_t nr_regs(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	REQUIRE(vtop_mem_get_stats(&st) == 0);
	return st.nr_registrations;
}

#define R VTOP_MEM_MAP_NOTIFY_REGISTER
#define U VTOP_MEM_MAP_NOTIFY_UNREGISTER

/* ---- tests -------------------------------------------------------------- */

static void register_args(void)
{
	fake_init();
	CHECK_EQ(vtop_mem_register(P(BASE + 1), K4), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(BASE), K4 + 5), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(1ULL << 48), K4), -EINVAL);
	CHECK_EQ(vtop_mem_register(P((1ULL << 48) - K4), 2 * K4), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(BASE), 0), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 0), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE + 1), K4), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 3), -EINVAL);
	CHECK_EQ(atomic_load(&fake.pins_total), 0);
	CHECK_EQ(nr_regs(), 0);
	/* the last page below 2^48 is fine */
	CHECK_EQ(vtop_mem_register(P((1ULL << 48) - K4), K4), 0);
	CHECK_EQ(vtop_mem_unregister(P((1ULL << 48) - K4), K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
}

static void overlap_ebusy(void)
{
	fake_init();
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * K4), 4 * K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * K4), 4 * K4), -EBUSY);
	CHECK_EQ(vtop_mem_register(P(BASE), 5 * K4), -EBUSY);
	CHECK_EQ(vtop_mem_register(P(BASE + 7 * K4), 2 * K4), -EBUSY);
	CHECK_EQ(vtop_mem_register(P(BASE + 5 * K4), K4), -EBUSY);
	CHECK_EQ(vtop_mem_register(P(BASE), 16 * K4), -EBUSY);
	CHECK(strstr(vtop_last_error(), "overlaps") != NULL);
	CHECK_EQ(atomic_load(&fake.live), 1);
	CHECK(fake_pinned(BASE + 4 * K4, 4 * K4));
	/* neighbours are fine */
	CHECK_EQ(vtop_mem_register(P(BASE), 4 * K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 8 * K4), 4 * K4), 0);
	CHECK_EQ(nr_regs(), 3);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 12 * K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(nr_regs(), 0);
}

static void unregister_errors(void)
{
	fake_init();
	/* nothing registered */
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), -EINVAL);
	CHECK_EQ(vtop_mem_register(P(BASE + K4), 3 * K4), 0);
	/* middle, first, last page, first two, last two: -ERANGE */
	CHECK_EQ(vtop_mem_unregister(P(BASE + 2 * K4), K4), -ERANGE);
	CHECK_EQ(vtop_mem_unregister(P(BASE + K4), K4), -ERANGE);
	CHECK_EQ(vtop_mem_unregister(P(BASE + 3 * K4), K4), -ERANGE);
	CHECK_EQ(vtop_mem_unregister(P(BASE + K4), 2 * K4), -ERANGE);
	CHECK_EQ(vtop_mem_unregister(P(BASE + 2 * K4), 2 * K4), -ERANGE);
	/* ranges including unregistered pages: -EINVAL */
	CHECK_EQ(vtop_mem_unregister(P(BASE), 4 * K4), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(BASE + K4), 4 * K4), -EINVAL);
	CHECK_EQ(vtop_mem_unregister(P(BASE + 4 * K4), K4), -EINVAL);
	/*
	 * ... unless the first page is registered but not the start of a
	 * registration: SPDK checks that first (-ERANGE)
	 */
	CHECK_EQ(vtop_mem_unregister(P(BASE + 2 * K4), 3 * K4), -ERANGE);
	/* nothing happened */
	CHECK_EQ(atomic_load(&fake.live), 1);
	CHECK(vtop_vtophys(P(BASE + 2 * K4), NULL) != VTOP_VTOPHYS_ERROR);
	/* the whole registration */
	CHECK_EQ(vtop_mem_unregister(P(BASE + K4), 3 * K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(vtop_vtophys(P(BASE + 2 * K4), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_unregister(P(BASE + K4), 3 * K4), -EINVAL);
	/* a gap between two registrations: -EINVAL, both stay */
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 2 * K4), K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 3 * K4), -EINVAL);
	CHECK_EQ(nr_regs(), 2);
}

/* REGISTER in creation order, UNREGISTER in reverse, unpin after. */
static void notify_order(void)
{
	struct mctx a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	struct vtop_mem_map *ma, *mb, *mc, *plain;
	uint64_t va = BASE + M2, len = 3 * K4;

	fake_init();
	fake.on_unpin = log_unpin;
	ma = log_map(&a);
	mb = log_map(&b);
	plain = vtop_mem_map_alloc(5, NULL, NULL);
	mc = log_map(&c);
	REQUIRE(ma && mb && mc && plain);
	CHECK_EQ(nev, 0);

	CHECK_EQ(vtop_mem_register(P(va), len), 0);
	CHECK(fake_pinned(va, len));
	CHECK_EQ(nev, 3);
	check_ev(0, 1, R, va, len);
	check_ev(1, 2, R, va, len);
	check_ev(2, 3, R, va, len);
	/* the vtophys map is filled before the first notification */
	CHECK_EQ(evlog[0].vtophys, fake.phys(va));

	CHECK_EQ(vtop_mem_unregister(P(va), len), 0);
	CHECK_EQ(nev, 7);
	check_ev(3, 3, U, va, len);
	check_ev(4, 2, U, va, len);
	check_ev(5, 1, U, va, len);
	check_ev(6, EV_UNPIN, 0, va, len);
	/* ... and still valid while the maps are told */
	CHECK_EQ(evlog[5].vtophys, fake.phys(va));
	CHECK_EQ(evlog[6].vtophys, VTOP_VTOPHYS_ERROR);
	/* the plain map got nothing */
	CHECK_EQ(vtop_mem_map_translate(plain, va, NULL), 5);

	/* freeing a map in the middle keeps the order of the others */
	vtop_mem_map_free(&mb);
	CHECK(mb == NULL);
	nev = 0;
	CHECK_EQ(vtop_mem_register(P(va), len), 0);
	CHECK_EQ(vtop_mem_unregister(P(va), len), 0);
	CHECK_EQ(nev, 5);
	check_ev(0, 1, R, va, len);
	check_ev(1, 3, R, va, len);
	check_ev(2, 3, U, va, len);
	check_ev(3, 1, U, va, len);
	check_ev(4, EV_UNPIN, 0, va, len);
	vtop_mem_map_free(&ma);
	vtop_mem_map_free(&mc);
	vtop_mem_map_free(&plain);
}

/* SPDK's adjacent registrations of 2,1,3,2,1,1 units. */
static void replay_pieces(void)
{
	static const int units[] = { 2, 1, 3, 2, 1, 1 };
	struct mctx a = { .id = 1 }, b = { .id = 2 };
	struct vtop_mem_map *ma, *mb;
	uint64_t va, start[6];
	int i;

	fake_init();
	ma = log_map(&a);
	REQUIRE(ma);
	va = BASE;
	for (i = 0; i < 6; i++) {
		start[i] = va;
		CHECK_EQ(vtop_mem_register(P(va), units[i] * M2), 0);
		va += units[i] * M2;
	}
	CHECK_EQ(nev, 6);
	nev = 0;
	/* a new map sees each registration once, in address order */
	mb = log_map(&b);
	REQUIRE(mb);
	CHECK_EQ(nev, 6);
	for (i = 0; i < 6; i++)
		check_ev(i, 2, R, start[i], units[i] * M2);

	/* unregister pieces 1 and 2 (1 + 3 units) in one call */
	nev = 0;
	CHECK_EQ(vtop_mem_unregister(P(start[1]), 4 * M2), 0);
	CHECK_EQ(nev, 4);
	check_ev(0, 2, U, start[1], M2);
	check_ev(1, 1, U, start[1], M2);
	check_ev(2, 2, U, start[2], 3 * M2);
	check_ev(3, 1, U, start[2], 3 * M2);
	/* half of the 2-unit piece 3: -ERANGE */
	CHECK_EQ(vtop_mem_unregister(P(start[3]), M2), -ERANGE);
	CHECK_EQ(vtop_mem_unregister(P(start[3] + M2), 2 * M2), -ERANGE);

	/* freeing b replays UNREGISTER per piece, in address order */
	nev = 0;
	vtop_mem_map_free(&mb);
	CHECK_EQ(nev, 4);
	check_ev(0, 2, U, start[0], 2 * M2);
	check_ev(1, 2, U, start[3], 2 * M2);
	check_ev(2, 2, U, start[4], M2);
	check_ev(3, 2, U, start[5], M2);

	/* the rest in one call */
	nev = 0;
	CHECK_EQ(vtop_mem_unregister(P(start[3]), 4 * M2), 0);
	CHECK_EQ(nev, 3);
	CHECK_EQ(vtop_mem_unregister(P(start[0]), 2 * M2), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	vtop_mem_map_free(&ma);
}

/* A failing REGISTER undoes the registration. */
static void register_cb_fails(void)
{
	struct mctx a = { .id = 1 }, c = { .id = 3 };
	struct mctx b = { .id = 2, .fail_register_at = 1, .fail_rc = -ENOSPC };
	struct vtop_mem_map *ma, *mb, *mc;
	uint64_t va = BASE, len = M2 + K4;

	fake_init();
	fake.on_unpin = log_unpin;
	ma = log_map(&a);
	mb = log_map(&b);
	mc = log_map(&c);
	REQUIRE(ma && mb && mc);
	CHECK_EQ(vtop_mem_register(P(va), len), -ENOSPC);
	CHECK(strstr(vtop_last_error(), "notify_cb") != NULL);
	CHECK_EQ(nev, 4);
	check_ev(0, 1, R, va, len);
	check_ev(1, 2, R, va, len);
	check_ev(2, 1, U, va, len);
	check_ev(3, EV_UNPIN, 0, va, len);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(nr_regs(), 0);
	CHECK_EQ(vtop_vtophys(P(va), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys(P(va + M2), NULL), VTOP_VTOPHYS_ERROR);

	/* a positive return counts as its negation */
	b.nreg = 0;
	b.fail_rc = EIO;
	CHECK_EQ(vtop_mem_register(P(va), len), -EIO);
	CHECK_EQ(nr_regs(), 0);

	/* the same range registers fine once b stops failing */
	b.fail_register_at = 0;
	nev = 0;
	CHECK_EQ(vtop_mem_register(P(va), len), 0);
	CHECK_EQ(nev, 3);
	CHECK_EQ(vtop_mem_unregister(P(va), len), 0);
	vtop_mem_map_free(&ma);
	vtop_mem_map_free(&mb);
	vtop_mem_map_free(&mc);
}

/* A failing replay frees the new map and leaves nothing behind. */
static void alloc_replay_fails(void)
{
	struct mctx a = { .id = 1 };
	struct mctx b = { .id = 2, .fail_register_at = 3, .fail_rc = -EMFILE };
	struct vtop_mem_map *shadow, *ma, *mb;
	uint64_t r[3] = { BASE, BASE + 4 * M2, BASE + 9 * M2 }, i;

	fake_init();
	shadow = vtop_mem_map_alloc(0, NULL, NULL);
	REQUIRE(shadow);
	b.shadow = shadow;
	ma = log_map(&a);
	REQUIRE(ma);
	for (i = 0; i < 3; i++)
		CHECK_EQ(vtop_mem_register(P(r[i]), M2 + K4), 0);
	nev = 0;
	errno = 0;
	mb = log_map(&b);
	CHECK(mb == NULL);
	CHECK_EQ(errno, EMFILE);
	CHECK_EQ(nev, 5);
	check_ev(0, 2, R, r[0], M2 + K4);
	check_ev(1, 2, R, r[1], M2 + K4);
	check_ev(2, 2, R, r[2], M2 + K4);
	check_ev(3, 2, U, r[1], M2 + K4);
	check_ev(4, 2, U, r[0], M2 + K4);
	/* no translation left behind by the callback */
	for (i = 0; i < 3; i++) {
		CHECK_EQ(vtop_mem_map_translate(shadow, r[i], NULL), 0);
		CHECK_EQ(vtop_mem_map_translate(shadow, r[i] + M2, NULL), 0);
	}
	/* the failed map is not notified any more */
	nev = 0;
	CHECK_EQ(vtop_mem_register(P(BASE + 20 * M2), K4), 0);
	CHECK_EQ(nev, 1);
	check_ev(0, 1, R, BASE + 20 * M2, K4);
	/* registrations are untouched */
	CHECK_EQ(nr_regs(), 4);
	CHECK_EQ(atomic_load(&fake.live), 4);
	vtop_mem_map_free(&ma);
	vtop_mem_map_free(&shadow);
}

/* vtophys: value + offset, contiguity across 4 KiB and 2 MiB entries. */
static uint64_t phys_scrambled(uint64_t va)
{
	/* 4 KiB pages, neighbours 3 pages apart, reversed in groups of 4 */
	uint64_t pg = va >> 12;

	return 0x200000000ULL + ((pg & ~3ULL) + (3 - (pg & 3))) * 3 * 4096;
}

static unsigned int shift_2m_window(uint64_t va)
{
	/* "hugepages" between BASE + 2 MiB and BASE + 6 MiB */
	return va >= BASE + M2 && va < BASE + 3 * M2 ? 21 : 12;
}

static void vtophys_values(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	uint64_t va, size;

	fake.phys = phys_scrambled;
	fake_init();
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_register(P(BASE), 8 * K4), 0);
	for (va = BASE; va < BASE + 8 * K4; va += 1000)
		CHECK_EQ(vtop_vtophys(P(va), NULL),
			 phys_scrambled(va & ~(K4 - 1)) + (va & (K4 - 1)));
	size = 8 * K4;
	vtop_vtophys(P(BASE + 10), &size);
	CHECK_EQ(size, K4 - 10);
	CHECK_EQ(vtop_vtophys(P(BASE + 8 * K4), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys(P(BASE - 1), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.entries_4k, 8);
	CHECK_EQ(st.entries_2m, 0);
	CHECK_EQ(st.registered_bytes, 8 * K4);
	CHECK_EQ(st.nr_registrations, 1);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 8 * K4), 0);
}

static void vtophys_mixed_entries(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	uint64_t va = BASE + M2 / 2, len = 3 * M2, size;

	/* linear phys, 2 MiB pages in [BASE + 2M, BASE + 6M) */
	fake.shift = shift_2m_window;
	fake_init();
	CHECK_EQ(vtop_mem_register(P(va), len), 0);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.entries_2m, 2);
	CHECK_EQ(st.entries_4k, (len - 2 * M2) / K4);
	/* one run from the first byte over 4K, 2M, 2M and 4K entries */
	size = 2 * len;
	CHECK_EQ(vtop_vtophys(P(va + 5), &size), fake_phys_linear(va + 5));
	CHECK_EQ(size, len - 5);
	size = len;
	CHECK_EQ(vtop_vtophys(P(BASE + M2 + 12345), &size),
		 fake_phys_linear(BASE + M2 + 12345));
	CHECK_EQ(size, va + len - (BASE + M2 + 12345));
	CHECK_EQ(vtop_vtophys(P(BASE + 3 * M2 - 1), NULL),
		 fake_phys_linear(BASE + 3 * M2 - 1));
	CHECK_EQ(vtop_mem_unregister(P(va), len), 0);
	CHECK_EQ(vtop_vtophys(P(BASE + 2 * M2), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.entries_2m + st.entries_4k, 0);
}

static uint64_t phys_break(uint64_t va)
{
	/* linear, but jumps at BASE + 4M and BASE + 4M + 8K */
	if (va >= BASE + 2 * M2 + 2 * K4)
		return va + 0x900000000ULL;
	if (va >= BASE + 2 * M2)
		return va + 0x500000000ULL;
	return va + 0x100000000ULL;
}

static void vtophys_breaks(void)
{
	struct vtop_segment segs[4];
	uint32_t n;
	uint64_t size;

	fake.phys = phys_break;
	fake.shift = shift_2m_window;
	fake_init();
	CHECK_EQ(vtop_mem_register(P(BASE), 3 * M2), 0);
	size = 3 * M2;
	CHECK_EQ(vtop_vtophys(P(BASE + 100), &size), phys_break(BASE + 100));
	CHECK_EQ(size, 2 * M2 - 100);
	size = 3 * M2;
	vtop_vtophys(P(BASE + 2 * M2), &size);
	CHECK_EQ(size, 2 * K4);

	/* get_segs describes the same runs */
	n = 4;
	CHECK_EQ(vtop_mem_get_segs(P(BASE + 100), 3 * M2 - 200, segs, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(segs[0].vaddr, BASE + 100);
	CHECK_EQ(segs[0].dma_addr, phys_break(BASE + 100));
	CHECK_EQ(segs[0].len, 2 * M2 - 100);
	CHECK_EQ(segs[0].page_shift, 12);
	CHECK_EQ(segs[1].vaddr, BASE + 2 * M2);
	CHECK_EQ(segs[1].len, 2 * K4);
	CHECK_EQ(segs[2].vaddr, BASE + 2 * M2 + 2 * K4);
	CHECK_EQ(segs[2].dma_addr, phys_break(BASE + 2 * M2 + 2 * K4));
	CHECK_EQ(segs[2].len, M2 - 2 * K4 - 100);
	/* the 2 MiB part alone has page_shift 21 */
	n = 1;
	CHECK_EQ(vtop_mem_get_segs(P(BASE + M2), M2, segs, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(segs[0].page_shift, 21);
	/* too small an array */
	n = 2;
	CHECK_EQ(vtop_mem_get_segs(P(BASE), 3 * M2, segs, &n), -ENOBUFS);
	CHECK_EQ(n, 3);
	n = 0;
	CHECK_EQ(vtop_mem_get_segs(P(BASE), 3 * M2, NULL, &n), -ENOBUFS);
	CHECK_EQ(n, 3);
	/* unregistered bytes, empty range */
	n = 4;
	CHECK_EQ(vtop_mem_get_segs(P(BASE + 3 * M2 - 1), 2, segs, &n),
		 -EINVAL);
	CHECK_EQ(vtop_mem_get_segs(P(BASE), 0, segs, &n), -EINVAL);
	CHECK_EQ(n, 4);
}

static void backend_failures(void)
{
	struct mctx a = { .id = 1 };
	struct vtop_mem_map *ma;

	fake_init();
	ma = log_map(&a);
	REQUIRE(ma);
	fake.fail_pin = -EFAULT;
	CHECK_EQ(vtop_mem_register(P(BASE), K4), -EFAULT);
	CHECK_EQ(nev, 0);
	CHECK_EQ(nr_regs(), 0);
	/* segments not covering the range: -EIO, unpinned */
	fake.bad_segs = true;
	CHECK_EQ(vtop_mem_register(P(BASE), 4 * K4), -EIO);
	CHECK_EQ(nev, 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(nr_regs(), 0);
	vtop_mem_map_free(&ma);
}

/* Callbacks run under the global lock: re-entry is refused. */
static int reenter_rc[4];

static int reenter_cb(void *ctx, struct vtop_mem_map *map,
		      enum vtop_mem_map_notify_action action, void *vaddr,
		      size_t size)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_mem_map_ops ops = { .notify_cb = reenter_cb };

	(void)ctx;
	(void)vaddr;
	(void)size;
	if (action != VTOP_MEM_MAP_NOTIFY_REGISTER)
		return 0;
	reenter_rc[0] = vtop_mem_register(P(BASE + 100 * M2), K4);
	reenter_rc[1] = vtop_mem_unregister(vaddr, size);
	reenter_rc[2] = vtop_mem_get_stats(&st);
	errno = 0;
	reenter_rc[3] = vtop_mem_map_alloc(0, &ops, NULL) ? 0 : -errno;
	/* translating and setting translations is fine */
	REQUIRE(vtop_mem_map_set_translation(map, (uintptr_t)vaddr, size, 1)
		== 0);
	return 0;
}

static void callback_reentry(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = reenter_cb };
	struct vtop_mem_map *m;

	fake_init();
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(reenter_rc[0], -EDEADLK);
	CHECK_EQ(reenter_rc[1], -EDEADLK);
	CHECK_EQ(reenter_rc[2], -EDEADLK);
	CHECK_EQ(reenter_rc[3], -EDEADLK);
	CHECK_EQ(vtop_mem_map_translate(m, BASE, NULL), 1);
	CHECK_EQ(nr_regs(), 1);
	vtop_mem_map_free(&m);
}

static void env_fini_unregisters(void)
{
	struct mctx a = { .id = 1 };
	struct vtop_mem_map *ma;
	struct vtop_info info = { .size = sizeof(info) };

	fake_init();
	CHECK_EQ(vtop_env_init(NULL), -EALREADY);
	ma = log_map(&a);
	REQUIRE(ma);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + M2), K4), 0);
	CHECK_EQ(vtop_env_get_info(&info), 0);
	CHECK_EQ(info.nr_pins, 2);
	nev = 0;
	vtop_env_fini();
	CHECK(fake_closed);
	CHECK_EQ(nev, 2);
	check_ev(0, 1, U, BASE, K4);
	check_ev(1, 1, U, BASE + M2, K4);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(nr_regs(), 0);
	/* the map survives and can be freed; init works again */
	fake_closed = false;
	fake_init();
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	check_ev(2, 1, R, BASE, K4);
	vtop_mem_map_free(&ma);
	vtop_env_fini();
	CHECK_EQ(fake.unpin_errors, 0);
}

static void stats_size(void)
{
	struct {
		struct vtop_mem_stats st;
		uint64_t future[2];
	} big;

	fake_init();
	memset(&big, 0xff, sizeof(big));
	big.st.size = sizeof(big);
	CHECK_EQ(vtop_mem_get_stats(&big.st), 0);
	CHECK_EQ(big.st.size, sizeof(big.st));
	CHECK_EQ(big.st.initialized, 1);
	CHECK_EQ(big.future[0], 0);
	CHECK_EQ(big.future[1], 0);
	/* the 0.1 struct (up to entries_4k) is still served, exactly */
	memset(&big, 0xff, sizeof(big));
	big.st.size = offsetof(struct vtop_mem_stats, inherited);
	CHECK_EQ(vtop_mem_get_stats(&big.st), 0);
	CHECK_EQ(big.st.size, offsetof(struct vtop_mem_stats, inherited));
	CHECK_EQ(big.st.initialized, 1);
	CHECK_EQ(big.st.inherited, UINT32_MAX);	/* not written */
	big.st.size = offsetof(struct vtop_mem_stats, inherited) - 1;
	CHECK_EQ(vtop_mem_get_stats(&big.st), -EINVAL);
	CHECK_EQ(vtop_mem_get_stats(NULL), -EINVAL);
}

HOST_MAIN(
	HOST_TEST(register_args),
	HOST_TEST(overlap_ebusy),
	HOST_TEST(unregister_errors),
	HOST_TEST(notify_order),
	HOST_TEST(replay_pieces),
	HOST_TEST(register_cb_fails),
	HOST_TEST(alloc_replay_fails),
	HOST_TEST(vtophys_values),
	HOST_TEST(vtophys_mixed_entries),
	HOST_TEST(vtophys_breaks),
	HOST_TEST(backend_failures),
	HOST_TEST(callback_reentry),
	HOST_TEST(env_fini_unregisters),
	HOST_TEST(stats_size),
)
