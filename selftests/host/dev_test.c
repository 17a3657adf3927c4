// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Several devices per process (issue 11, "Several devices per process"):
 * vtop_dev_attach() gives each device its own descriptor (here a fake one
 * whose DMA addresses are the fake physical address plus a per-device
 * offset) and translation; registration pins and maps for every device,
 * all or nothing; attaching maps existing registrations, all or nothing;
 * detach, unregister, invalidation, fini and fork end the device's pins.
 */
#define HOST_FILE "dev_test"
#include <sched.h>
#include <sys/wait.h>

#include "fake_backend.h"

#define K4	0x1000ULL
#define BASE	0x40000000ULL
#define P(va)	((void *)(uintptr_t)(va))
#define ERR	VTOP_VTOPHYS_ERROR

/* A fake device: its pins are the fake backend's, its addresses offset. */
struct fdev {
	const char *name;
	uint64_t off;
	int fail_pin;		/* the pin after @fail_after more fails */
	int fail_after;
	bool bad_segs;		/* the next pin reports a short list */
	int live;
	int pins;
	int opens;
	bool closed;
};

static struct fdev devs[10];
static int fail_open;

static int fdev_pin(void *ctx, uint64_t va, uint64_t len,
		    struct vtop_pin_result *res)
{
	struct fdev *d = ctx;
	uint32_t k;
	int rc;

	if (d->fail_pin && d->fail_after-- <= 0) {
		rc = d->fail_pin;
		d->fail_pin = 0;
		d->fail_after = 0;
		return rc;
	}
	rc = fake_pin(NULL, va, len, res);
	if (rc)
		return rc;
	for (k = 0; k < res->nr_segs; k++)
		res->segs[k].dma_addr += d->off;
	if (d->bad_segs) {
		d->bad_segs = false;
		res->segs[res->nr_segs - 1].len -= K4;
	}
	d->live++;
	d->pins++;
	return 0;
}

static int fdev_unpin(void *ctx, uint64_t handle)
{
	struct fdev *d = ctx;
	int rc = fake_unpin(NULL, handle);

	if (!rc)
		d->live--;
	return rc;
}

static void fdev_close(void *ctx)
{
	((struct fdev *)ctx)->closed = true;
}

static const struct vtop_backend_ops fdev_ops = {
	.name = "fake-dev",
	.pin = fdev_pin,
	.unpin = fdev_unpin,
	.close = fdev_close,
};

static int fdev_open(const char *bdf, const struct vtop_backend_ops **ops,
		     void **ctx)
{
	size_t i;

	if (fail_open)
		return vtop__err(fail_open, "fake ATTACH %s refused", bdf);
	for (i = 0; i < VTOP_ARRAY_SIZE(devs); i++) {
		if (!strcmp(devs[i].name, bdf)) {
			devs[i].opens++;
			devs[i].closed = false;
			*ops = &fdev_ops;
			*ctx = &devs[i];
			return 0;
		}
	}
	return -ENODEV;
}

static const char *const names[10] = {
	"0000:01:00.0", "0000:02:00.0", "0000:03:00.0", "0000:04:00.0",
	"0000:05:00.0", "0000:06:00.0", "0000:07:00.0", "0000:08:00.0",
	"0000:09:00.0", "0000:0a:00.0",
};

static void setup(bool events)
{
	size_t i;

	for (i = 0; i < VTOP_ARRAY_SIZE(devs); i++)
		devs[i] = (struct fdev){
			.name = names[i], .off = (i + 1) << 40,
		};
	vtop__dev_open_hook = fdev_open;
	if (events)
		fake_init_events(0);
	else
		fake_init();
}

static uint64_t phys(uint64_t va)
{
	return fake.phys(va);
}

static void stats(struct vtop_mem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	REQUIRE(vtop_mem_get_stats(st) == 0);
}

static void per_device_translation(void)
{
	struct vtop_dev *a, *b;
	struct vtop_segment seg[4];
	uint32_t n = 4;
	uint64_t sz;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	REQUIRE(vtop_dev_attach("02:00.0", &b) == 0);
	CHECK(strcmp(vtop_dev_name(b), "0000:02:00.0") == 0);
	CHECK(vtop_dev_name(NULL) == NULL);
	CHECK_EQ(vtop_mem_register(P(BASE), 4 * K4), 0);
	/* one pin per descriptor: the environment's and each device's */
	CHECK_EQ(atomic_load(&fake.live), 3);
	CHECK_EQ(devs[0].live, 1);
	CHECK_EQ(devs[1].live, 1);
	CHECK_EQ(vtop_vtophys(P(BASE + K4), NULL), phys(BASE + K4));
	CHECK_EQ(vtop_vtophys_dev(NULL, P(BASE + K4), NULL), phys(BASE + K4));
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + K4 + 5), NULL),
		 phys(BASE + K4) + 5 + devs[0].off);
	sz = 8 * K4;
	CHECK_EQ(vtop_vtophys_dev(b, P(BASE), &sz), phys(BASE) + devs[1].off);
	CHECK_EQ(sz, 4 * K4);
	CHECK_EQ(vtop_vtophys_lookup(vtop_dev_vtophys_map(b), P(BASE + 3 * K4)),
		 phys(BASE + 3 * K4) + devs[1].off);
	CHECK(vtop_dev_vtophys_map(NULL) == vtop_vtophys_map());
	CHECK_EQ(vtop_dev_get_segs(a, P(BASE + K4), 2 * K4, seg, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(seg[0].dma_addr, phys(BASE + K4) + devs[0].off);
	CHECK_EQ(seg[0].len, 2 * K4);
	n = 4;
	CHECK_EQ(vtop_dev_get_segs(NULL, P(BASE), K4, seg, &n), 0);
	CHECK_EQ(seg[0].dma_addr, phys(BASE));
	n = 4;
	CHECK_EQ(vtop_dev_get_segs(b, P(BASE + 4 * K4), K4, seg, &n), -EINVAL);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + 4 * K4), NULL), ERR);
	/* unregister unmaps on every device */
	CHECK_EQ(vtop_mem_unregister(P(BASE), 4 * K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(devs[0].live, 0);
	CHECK_EQ(devs[1].live, 0);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE), NULL), ERR);
	CHECK_EQ(vtop_vtophys_dev(b, P(BASE), NULL), ERR);
	CHECK_EQ(vtop_dev_detach(a), 0);
	CHECK_EQ(vtop_dev_detach(b), 0);
	CHECK(devs[0].closed && devs[1].closed);
}

/* Nothing of a failed registration is left: no pin, no count, no entry. */
static void check_nothing_registered(struct vtop_dev *a, struct vtop_dev *b)
{
	struct vtop_mem_stats st;

	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(devs[0].live, 0);
	CHECK_EQ(devs[1].live, 0);
	stats(&st);
	CHECK_EQ(st.nr_registrations, 0);
	CHECK_EQ(st.registered_bytes, 0);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), ERR);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE), NULL), ERR);
	CHECK_EQ(vtop_vtophys_dev(b, P(BASE), NULL), ERR);
	CHECK_EQ(vtop__mem_check_regs(), 0);
}

static void register_all_or_nothing(void)
{
	struct vtop_dev *a, *b;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	REQUIRE(vtop_dev_attach("0000:02:00.0", &b) == 0);
	/* the second device refuses: the first device's pin is undone */
	devs[1].fail_pin = -ENOMEM;
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), -ENOMEM);
	CHECK(strstr(vtop_last_error(), "0000:02:00.0") != NULL);
	CHECK_EQ(devs[0].pins, 1);
	check_nothing_registered(a, b);
	/* the first device refuses: the second is never asked */
	devs[0].fail_pin = -EFAULT;
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), -EFAULT);
	CHECK_EQ(devs[1].pins, 0);
	check_nothing_registered(a, b);
	/* a device's bad segment list */
	devs[1].bad_segs = true;
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), -EIO);
	check_nothing_registered(a, b);
	/*
	 * A revoked device (pin -ENODEV) no longer fails the registration
	 * since 0.6: it is skipped (revoke_test).
	 */
	/* the environment's backend refuses: no device is asked */
	fake.fail_pin = -ENOSPC;
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), -ENOSPC);
	CHECK_EQ(devs[0].pins, 2);
	check_nothing_registered(a, b);
	/* and then it works, for all */
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_vtophys_dev(b, P(BASE), NULL), phys(BASE) + devs[1].off);
	CHECK_EQ(atomic_load(&fake.live), 3);
}

static int refuse_cb(void *ctx, struct vtop_mem_map *map,
		     enum vtop_mem_map_notify_action action, void *va,
		     size_t len)
{
	(void)ctx;
	(void)map;
	(void)va;
	(void)len;
	return action == VTOP_MEM_MAP_NOTIFY_REGISTER ? -EPERM : 0;
}

/* A consumer map refusing the registration undoes every device's pin. */
static void notify_failure_undoes_devices(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = refuse_cb,
					.size = sizeof(ops) };
	struct vtop_mem_map *m;
	struct vtop_dev *a, *b;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	REQUIRE(vtop_dev_attach("0000:02:00.0", &b) == 0);
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), -EPERM);
	CHECK_EQ(devs[0].pins, 1);
	CHECK_EQ(devs[1].pins, 1);
	check_nothing_registered(a, b);
	vtop_mem_map_free(&m);
}

static void attach_maps_registered(void)
{
	struct vtop_dev *a;

	setup(false);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * K4), K4), 0);
	CHECK_EQ(vtop_mem_register_ex(P(BASE + 8 * K4), K4,
				      VTOP_MEM_REGISTER_READONLY), 0);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	CHECK_EQ(devs[0].live, 3);
	/* the registration's flags reach the device's pin too */
	CHECK_EQ(fake.last_pin_flags, VTOP_PIN_READONLY);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + K4), NULL),
		 phys(BASE + K4) + devs[0].off);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + 4 * K4), NULL),
		 phys(BASE + 4 * K4) + devs[0].off);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + 8 * K4), NULL),
		 phys(BASE + 8 * K4) + devs[0].off);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + 2 * K4), NULL), ERR);
	CHECK_EQ(vtop_mem_unregister(P(BASE + 4 * K4), K4), 0);
	CHECK_EQ(devs[0].live, 2);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + 4 * K4), NULL), ERR);
}

static void attach_all_or_nothing(void)
{
	struct vtop_dev *a, *b = (struct vtop_dev *)&b;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 2 * K4), K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * K4), K4), 0);
	/* the second registration cannot be mapped for the new device */
	devs[1].fail_pin = -ENOMEM;
	devs[1].fail_after = 1;
	CHECK_EQ(vtop_dev_attach("0000:02:00.0", &b), -ENOMEM);
	CHECK(b == NULL);
	CHECK(strstr(vtop_last_error(), "0000:02:00.0") != NULL);
	CHECK_EQ(devs[1].pins, 1);
	CHECK_EQ(devs[1].live, 0);
	CHECK(devs[1].closed);
	/* the environment's pins and the first device's are untouched */
	CHECK_EQ(atomic_load(&fake.live), 6);
	CHECK_EQ(devs[0].live, 3);
	/* the slot is free again, and the device attaches when it can */
	REQUIRE(vtop_dev_attach("0000:02:00.0", &b) == 0);
	CHECK_EQ(devs[1].live, 3);
	CHECK_EQ(vtop_vtophys_dev(b, P(BASE + 2 * K4), NULL),
		 phys(BASE + 2 * K4) + devs[1].off);
	/* a refused ATTACH leaves nothing either */
	fail_open = -EPERM;
	{
		struct vtop_dev *c;

		CHECK_EQ(vtop_dev_attach("0000:03:00.0", &c), -EPERM);
		CHECK(c == NULL);
	}
	fail_open = 0;
	CHECK_EQ(atomic_load(&fake.live), 9);
}

static void detach_with_registrations(void)
{
	struct vtop_dev *a, *b;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	REQUIRE(vtop_dev_attach("0000:02:00.0", &b) == 0);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * K4), K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 6);
	CHECK_EQ(vtop_dev_detach(b), 0);
	CHECK(devs[1].closed);
	CHECK_EQ(devs[1].live, 0);
	CHECK_EQ(atomic_load(&fake.live), 4);
	/* still registered, for the environment and the other device */
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), phys(BASE));
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE), NULL), phys(BASE) + devs[0].off);
	CHECK_EQ(vtop_dev_detach(b), -EINVAL);
	/* a new registration is not pinned on the detached device */
	CHECK_EQ(vtop_mem_register(P(BASE + 8 * K4), K4), 0);
	CHECK_EQ(devs[1].pins, 2);
	CHECK_EQ(devs[0].live, 3);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 2 * K4), 0);
	CHECK_EQ(devs[0].live, 2);
	CHECK_EQ(atomic_load(&fake.unpins_total), 2 + 2);
}

static void bad_input(void)
{
	struct vtop_dev *d = (struct vtop_dev *)&d, *e, *all[8];
	struct vtop_mem_stats st;
	int i;

	/* before anything: bad input initializes nothing */
	vtop__dev_open_hook = fdev_open;
	CHECK_EQ(vtop_dev_attach(NULL, &d), -EINVAL);
	CHECK(d == NULL);
	CHECK_EQ(vtop_dev_attach("0000:01:00", &d), -EINVAL);
	CHECK_EQ(vtop_dev_attach("1:2:3", &d), -EINVAL);
	CHECK_EQ(vtop_dev_attach("0000:01:20.0", &d), -EINVAL);
	CHECK_EQ(vtop_dev_attach("0000:01:00.0", NULL), -EINVAL);
	CHECK_EQ(vtop_dev_detach(NULL), -EINVAL);
	stats(&st);
	CHECK_EQ(st.initialized, 0);

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &d) == 0);
	CHECK_EQ(vtop_dev_attach("01:00.0", &e), -EEXIST);
	CHECK(e == NULL);
	CHECK_EQ(devs[0].opens, 1);
	/* an unknown device: the backend's error */
	CHECK_EQ(vtop_dev_attach("0000:7f:00.0", &e), -ENODEV);
	/* the most devices, then -ENOSPC */
	for (i = 1; i < 8; i++)
		REQUIRE(vtop_dev_attach(names[i], &all[i]) == 0);
	CHECK_EQ(vtop_dev_attach(names[8], &e), -ENOSPC);
	CHECK_EQ(devs[8].opens, 0);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 9);
	CHECK_EQ(vtop_dev_detach(all[3]), 0);
	REQUIRE(vtop_dev_attach(names[8], &e) == 0);
	CHECK_EQ(vtop_vtophys_dev(e, P(BASE), NULL), phys(BASE) + devs[8].off);
	CHECK_EQ(atomic_load(&fake.live), 9);
}

/* Without a device backend (the fake environment, the pagemap backend). */
static void no_device_backend(void)
{
	struct vtop_dev *d;

	fake_init();
	vtop__dev_open_hook = NULL;
	CHECK_EQ(vtop_dev_attach("0000:01:00.0", &d), -EOPNOTSUPP);
	CHECK(d == NULL);
}

static void invalidation_clears_devices(void)
{
	struct vtop_dev *a;
	struct vtop_mem_stats st;

	setup(true);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * K4), K4), 0);
	CHECK(fake_invalidate(BASE, K4) >= 1);
	/* not processed yet: never served for the device either */
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + K4), NULL), ERR);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE + 4 * K4), NULL),
		 phys(BASE + 4 * K4) + devs[0].off);
	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK_EQ(devs[0].live, 1);
	stats(&st);
	CHECK_EQ(st.nr_registrations, 1);
	/* attaching with a marked registration skips it */
	CHECK(fake_invalidate(BASE + 4 * K4, K4) >= 1);
	CHECK_EQ(vtop_vtophys(P(BASE + 4 * K4), NULL), ERR);
	{
		struct vtop_dev *b;

		/* the attach processes it first: nothing to map */
		REQUIRE(vtop_dev_attach("0000:02:00.0", &b) == 0);
		CHECK_EQ(devs[1].pins, 0);
		CHECK_EQ(devs[0].live, 0);
	}
	CHECK_EQ(atomic_load(&fake.live), 0);
}

/* Translating for a device while another thread registers and unregisters. */
static struct vtop_dev *conc_dev;
static atomic_bool conc_stop;
static atomic_long conc_bad, conc_hits;

static void *conc_reader(void *arg)
{
	uint64_t e;

	(void)arg;
	while (!atomic_load(&conc_stop)) {
		for (uint64_t off = 0; off < 8 * K4; off += K4) {
			e = vtop_vtophys_dev(conc_dev, P(BASE + off), NULL);
			if (e == ERR)
				continue;
			atomic_fetch_add(&conc_hits, 1);
			if (e != phys(BASE + off) + devs[0].off)
				atomic_fetch_add(&conc_bad, 1);
		}
	}
	return NULL;
}

static void concurrent_translate(void)
{
	pthread_t t;
	int i;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &conc_dev) == 0);
	REQUIRE(pthread_create(&t, NULL, conc_reader, NULL) == 0);
	for (i = 0; i < 2000; i++) {
		CHECK_EQ(vtop_mem_register(P(BASE), 8 * K4), 0);
		CHECK_EQ(vtop_mem_unregister(P(BASE), 8 * K4), 0);
	}
	/* the reader sees it registered at least once */
	CHECK_EQ(vtop_mem_register(P(BASE), 8 * K4), 0);
	while (!atomic_load(&conc_hits))
		sched_yield();
	atomic_store(&conc_stop, true);
	pthread_join(t, NULL);
	CHECK_EQ(atomic_load(&conc_bad), 0);
	CHECK_EQ(devs[0].live, 1);
}

static void fini_detaches(void)
{
	struct vtop_dev *a;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	vtop_env_fini();
	CHECK(devs[0].closed);
	CHECK_EQ(devs[0].live, 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	/* the pointer is gone with the environment */
	CHECK_EQ(vtop_dev_detach(a), -EINVAL);
}

static void fork_child(void)
{
	struct vtop_dev *a, *b;
	int status;
	pid_t pid;

	setup(false);
	REQUIRE(vtop_dev_attach("0000:01:00.0", &a) == 0);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		int bad = 0;

		bad += !devs[0].closed;
		bad += vtop_vtophys_dev(a, P(BASE), NULL) != ERR;
		bad += vtop_vtophys_lookup(vtop_dev_vtophys_map(a), P(BASE)) != ERR;
		bad += vtop_dev_attach("0000:02:00.0", &b) != -ECHILD;
		bad += vtop_dev_detach(a) != 0;
		/* nothing of the parent's unpinned */
		bad += atomic_load(&fake.unpins_total) != 0;
		bad += devs[0].live != 1;
		_exit(bad);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the parent's device is untouched */
	CHECK(!devs[0].closed);
	CHECK_EQ(vtop_vtophys_dev(a, P(BASE), NULL), phys(BASE) + devs[0].off);
}

HOST_MAIN(
	HOST_TEST(per_device_translation),
	HOST_TEST(register_all_or_nothing),
	HOST_TEST(notify_failure_undoes_devices),
	HOST_TEST(attach_maps_registered),
	HOST_TEST(attach_all_or_nothing),
	HOST_TEST(detach_with_registrations),
	HOST_TEST(bad_input),
	HOST_TEST(no_device_backend),
	HOST_TEST(invalidation_clears_devices),
	HOST_TEST(concurrent_translate),
	HOST_TEST(fini_detaches),
	HOST_TEST(fork_child),
)
