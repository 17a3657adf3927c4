// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Environment lifecycle (issue 10): options are never silently replaced by
 * an implicit initialization, they survive vtop_env_fini(), the vtophys
 * map pointer survives fini/init, and errors of unpins and of UNREGISTER
 * callbacks are reported. Runs the pagemap backend (no hugetlb memory is
 * registered with it) and the fake backend; no /dev/vtop is needed.
 */
#define HOST_FILE "lifecycle_test"
#include "fake_backend.h"

#define K4	0x1000ULL
#define M2	0x200000ULL
#define BASE	0x40000000ULL
#define P(va)	((void *)(uintptr_t)(va))

static struct vtop_mem_stats stats(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	REQUIRE(vtop_mem_get_stats(&st) == 0);
	return st;
}

static struct vtop_env_opts pagemap_opts(uint32_t flags)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;

	o.backend = VTOP_BACKEND_PAGEMAP;
	o.flags = flags;
	return o;
}

/*
 * A helper library fetches the vtophys map first (implicit init); the
 * application's vtop_env_init() afterwards still takes effect, because
 * nothing is registered yet.
 */
static void explicit_after_implicit_adopts(void)
{
	struct vtop_env_opts o = pagemap_opts(0), d = pagemap_opts(VTOP_ENV_DONTFORK);
	struct vtop_env_opts bad = VTOP_ENV_OPTS_INIT;
	const struct vtop_mem_map *vm;

	/* remembered options make the implicit init succeed on the host */
	REQUIRE(vtop_env_init(&o) == 0);
	vtop_env_fini();
	vm = vtop_vtophys_map();
	REQUIRE(vm);
	CHECK_EQ(stats().initialized, 1);
	CHECK_EQ(stats().backend, VTOP_BACKEND_PAGEMAP);
	CHECK_EQ(stats().flags, 0);

	/* other options, which cannot be opened: the implicit env stays */
	bad.device_path = "/nonexistent/vtop";
	CHECK_EQ(vtop_env_init(&bad), -ENOENT);
	CHECK_EQ(stats().initialized, 1);
	CHECK_EQ(stats().backend, VTOP_BACKEND_PAGEMAP);

	/* other options that work: adopted, not -EALREADY */
	CHECK_EQ(vtop_env_init(&d), 0);
	CHECK_EQ(stats().flags, VTOP_ENV_DONTFORK);
	CHECK(vtop_vtophys_map() == vm);
	/* explicit now: a second init is refused as before */
	CHECK_EQ(vtop_env_init(&o), -EALREADY);
	CHECK_EQ(vtop_env_init(&d), -EALREADY);
	vtop_env_fini();
}

/* Same options as the implicit init: accepted (even with registrations). */
static void explicit_same_as_implicit(void)
{
	struct vtop_env_opts o = pagemap_opts(0);

	REQUIRE(vtop_env_init(&o) == 0);
	vtop_env_fini();
	REQUIRE(vtop_vtophys_map());
	CHECK_EQ(vtop_env_init(&o), 0);
	CHECK_EQ(vtop_env_init(&o), -EALREADY);
	vtop_env_fini();
}

/* Implicit init, then memory registered: other options are -EBUSY. */
static void explicit_after_registration_ebusy(void)
{
	struct vtop_env_opts o = pagemap_opts(0);

	fake_init_events(VTOP__ENV_IMPLICIT);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	CHECK_EQ(vtop_env_init(&o), -EBUSY);
	CHECK(strstr(vtop_last_error(), "implicitly") != NULL);
	/* nothing changed */
	CHECK_EQ(stats().nr_registrations, 1);
	CHECK(!fake_closed);
	CHECK(vtop_vtophys(P(BASE), NULL) == fake.phys(BASE));
	/* with nothing registered it is adopted; the fake is closed */
	REQUIRE(vtop_mem_unregister(P(BASE), K4) == 0);
	CHECK_EQ(vtop_env_init(&o), 0);
	CHECK(fake_closed);
	CHECK_EQ(stats().backend, VTOP_BACKEND_PAGEMAP);
	vtop_env_fini();
}

/* fini keeps the options; vtop_env_init(NULL) explicitly resets them. */
static void fini_keeps_options(void)
{
	struct vtop_env_opts o = pagemap_opts(VTOP_ENV_DONTFORK);
	struct vtop_info info = { .size = sizeof(info) };

	REQUIRE(vtop_env_init(&o) == 0);
	vtop_env_fini();
	CHECK_EQ(stats().initialized, 0);
	/* implicitly, with the remembered options, not the defaults */
	CHECK_EQ(vtop_env_get_info(&info), -EOPNOTSUPP);	/* pagemap */
	CHECK_EQ(stats().initialized, 1);
	CHECK_EQ(stats().backend, VTOP_BACKEND_PAGEMAP);
	CHECK_EQ(stats().flags, VTOP_ENV_DONTFORK);
	vtop_env_fini();
	CHECK(vtop_vtophys_map() != NULL);
	CHECK_EQ(stats().backend, VTOP_BACKEND_PAGEMAP);
	vtop_env_fini();
	/* the caller's strings are copied: change them, nothing moves */
	{
		char path[32] = "/nonexistent/vtop";
		struct vtop_env_opts k = VTOP_ENV_OPTS_INIT;

		k.device_path = path;
		CHECK_EQ(vtop_env_init(&k), -ENOENT);
		/* a failed init changes nothing remembered */
		CHECK(vtop_vtophys_map() != NULL);
		CHECK_EQ(stats().backend, VTOP_BACKEND_PAGEMAP);
		vtop_env_fini();
	}
}

/* The pointer from vtop_vtophys_map() stays valid across fini/init. */
static void vtophys_map_survives_fini(void)
{
	const struct vtop_mem_map *vm, *vm2;

	fake_init();
	vm = vtop_vtophys_map();
	REQUIRE(vm);
	REQUIRE(vtop_mem_register(P(BASE), M2) == 0);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 8)), fake.phys(BASE) + 8);
	vtop_env_fini();
	/* still readable (ASan: no use after free) and empty */
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + 8)), VTOP_VTOPHYS_ERROR);
	fake_closed = false;
	fake_init();
	vm2 = vtop_vtophys_map();
	CHECK(vm2 == vm);
	REQUIRE(vtop_mem_register(P(BASE + M2), K4) == 0);
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE + M2)), fake.phys(BASE + M2));
	CHECK_EQ(vtop_vtophys_lookup(vm, P(BASE)), VTOP_VTOPHYS_ERROR);
	vtop_env_fini();
}

static int unreg_rc;
static int calls;

static int failing_unregister_cb(void *ctx, struct vtop_mem_map *map,
				 enum vtop_mem_map_notify_action action,
				 void *vaddr, size_t size)
{
	(void)ctx;
	(void)map;
	(void)vaddr;
	(void)size;
	calls++;
	return action == VTOP_MEM_MAP_NOTIFY_REGISTER ? 0 : unreg_rc;
}

/* A refused unpin is returned and counted; the registration is gone. */
static void unpin_error_reported(void)
{
	fake_init();
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	REQUIRE(vtop_mem_register(P(BASE + M2), K4) == 0);
	fake.fail_unpin = -EACCES;
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), -EACCES);
	CHECK(strstr(vtop_last_error(), "unpin") != NULL);
	CHECK_EQ(stats().unpin_errors, 1);
	CHECK_EQ(stats().nr_registrations, 1);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	/* the range is free again */
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	/* fini: counted */
	fake.fail_unpin = -EIO;
	vtop_env_fini();
	CHECK_EQ(stats().unpin_errors, 2);
	CHECK_EQ(stats().nr_registrations, 0);
}

/* A failing UNREGISTER callback is returned and counted. */
static void unregister_cb_error_reported(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = failing_unregister_cb };
	struct vtop_mem_map *m;

	fake_init();
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	unreg_rc = -EBUSY;
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), -EBUSY);
	CHECK_EQ(stats().notify_errors, 1);
	/* unregistered and unpinned anyway */
	CHECK_EQ(stats().nr_registrations, 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	/* a positive return counts as its negation */
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	unreg_rc = EPERM;
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), -EPERM);
	CHECK_EQ(stats().notify_errors, 2);
	/* map free and fini count theirs */
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	calls = 0;
	vtop_mem_map_free(&m);
	CHECK_EQ(calls, 1);
	CHECK_EQ(stats().notify_errors, 3);
	unreg_rc = 0;
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), 0);
	vtop_env_fini();
}

HOST_MAIN(
	HOST_TEST(explicit_after_implicit_adopts),
	HOST_TEST(explicit_same_as_implicit),
	HOST_TEST(explicit_after_registration_ebusy),
	HOST_TEST(fini_keeps_options),
	HOST_TEST(vtophys_map_survives_fini),
	HOST_TEST(unpin_error_reported),
	HOST_TEST(unregister_cb_error_reported),
)
