// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A revoked device is noticed (since 0.6): when the module revokes an
 * attached descriptor (its device unbound or removed), it queues
 * VTOP_EVENT_REVOKED records on that descriptor and fails later pins with
 * -ENODEV. libvtop reads every attached device's records: the device's
 * translation goes at once, its pins when events are processed, the other
 * descriptors keep working, later registrations skip it, the event fd wakes
 * up, detach works. The environment's own device: registrations end as
 * invalidations, later ones fail with -ENODEV.
 */
#define HOST_FILE "revoke_test"
#include <poll.h>
#include <sched.h>

#include "fake_backend.h"

#define K4	0x1000ULL
#define BASE	0x40000000ULL
#define P(va)	((void *)(uintptr_t)(va))
#define ERR	VTOP_VTOPHYS_ERROR

/*
 * A fake attached descriptor with its own event channel: pins are the fake
 * backend's (offset addresses), records its own queue.
 */
#define RQ	64
struct rdev {
	const char *name;
	uint64_t off;
	struct vtop_event_page page;
	struct vtop_ev_rec q[RQ];
	int qlen;
	int evfd;
	bool revoked;
	bool has_status;	/* INFO reports VTOP_FEATURE_STATUS */
	int infos;
	uint64_t handles[64];
	int live;
	int unpin_errors;
	bool closed;
};

static struct rdev rdevs[2];

static void rdev_fd_update(struct rdev *d)
{
	uint64_t v = 1;

	if (read(d->evfd, &v, sizeof(v)) < 0)
		v = 0;
	v = 1;
	if (d->qlen)
		REQUIRE(write(d->evfd, &v, sizeof(v)) == sizeof(v));
}

static void rdev_post(struct rdev *d, uint32_t reason, uint64_t handle)
{
	REQUIRE(d->qlen < RQ);
	d->page.seq++;
	d->q[d->qlen++] = (struct vtop_ev_rec){
		.reason = reason, .handle = handle, .seq = d->page.seq,
	};
	rdev_fd_update(d);
}

static int rdev_pin(void *ctx, uint64_t va, uint64_t len,
		    struct vtop_pin_result *res)
{
	struct rdev *d = ctx;
	uint32_t k;
	int rc, i;

	if (d->revoked)
		return -ENODEV;
	rc = fake_pin(NULL, va, len, res);
	if (rc)
		return rc;
	for (k = 0; k < res->nr_segs; k++)
		res->segs[k].dma_addr += d->off;
	for (i = 0; i < 64 && d->handles[i]; i++)
		;
	REQUIRE(i < 64);
	d->handles[i] = res->handle;
	d->live++;
	return 0;
}

static int rdev_unpin(void *ctx, uint64_t handle)
{
	struct rdev *d = ctx;
	int i, rc;

	for (i = 0; i < 64 && d->handles[i] != handle; i++)
		;
	if (i == 64) {
		d->unpin_errors++;
		return -ENOENT;
	}
	rc = fake_unpin(NULL, handle);
	if (rc) {
		d->unpin_errors++;
		return rc;
	}
	d->handles[i] = 0;
	d->live--;
	return 0;
}

static void rdev_close(void *ctx)
{
	((struct rdev *)ctx)->closed = true;
}

static const struct vtop_event_page *rdev_page(void *ctx)
{
	return &((struct rdev *)ctx)->page;
}

static int rdev_event_fd(void *ctx)
{
	return ((struct rdev *)ctx)->evfd;
}

static int rdev_read(void *ctx, struct vtop_ev_rec *rec, size_t max)
{
	struct rdev *d = ctx;
	size_t n = 0;
	int i;

	while (n < max && (int)n < d->qlen) {
		rec[n] = d->q[n];
		n++;
	}
	for (i = (int)n; i < d->qlen; i++)
		d->q[i - n] = d->q[i];
	d->qlen -= (int)n;
	rdev_fd_update(d);
	return (int)n;
}

static int rdev_get_invalidated(void *ctx, uint64_t **h, uint32_t *nr,
				uint64_t *seq)
{
	struct rdev *d = ctx;

	*h = calloc(1, sizeof(**h));
	*nr = 0;
	*seq = d->page.seq;
	return *h ? 0 : -ENOMEM;
}

static int rdev_info(void *ctx, struct vtop_info *info)
{
	struct rdev *d = ctx;

	d->infos++;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->mode = VTOP_MODE_IOVA;
	if (d->has_status) {
		info->features = VTOP_FEATURE_STATUS;
		info->status = d->revoked ? VTOP_STATUS_REVOKED : 0;
	}
	return 0;
}

static const struct vtop_backend_ops rdev_ops = {
	.name = "fake-dev-events",
	.info = rdev_info,
	.pin = rdev_pin,
	.unpin = rdev_unpin,
	.close = rdev_close,
	.event_page = rdev_page,
	.event_fd = rdev_event_fd,
	.read_events = rdev_read,
	.get_invalidated = rdev_get_invalidated,
};

enum revoke_how {
	PER_PIN,	/* one REVOKED record per live pin (vtop 0.5 module) */
	FD_RECORD,	/* one REVOKED record, handle 0, pins or not */
	SILENT,		/* no record: only the next pin's -ENODEV says it */
	LOST,		/* the record was lost: VTOP_EVENT_OVERFLOW */
};

/* The module's side of an unbind of @d's device. */
static void rdev_revoke(struct rdev *d, enum revoke_how how)
{
	int i;

	d->revoked = true;
	switch (how) {
	case PER_PIN:
		for (i = 0; i < 64; i++)
			if (d->handles[i])
				rdev_post(d, VTOP_EVENT_REVOKED, d->handles[i]);
		break;
	case FD_RECORD:
		rdev_post(d, VTOP_EVENT_REVOKED, 0);
		break;
	case SILENT:
		break;
	case LOST:
		rdev_post(d, VTOP_EVENT_OVERFLOW, 0);
		break;
	}
}

static int rdev_open(const char *bdf, const struct vtop_backend_ops **ops,
		     void **ctx)
{
	size_t i;

	for (i = 0; i < VTOP_ARRAY_SIZE(rdevs); i++) {
		if (!strcmp(rdevs[i].name, bdf)) {
			rdevs[i].closed = false;
			*ops = &rdev_ops;
			*ctx = &rdevs[i];
			return 0;
		}
	}
	return -ENODEV;
}

static struct vtop_dev *A, *B;
static struct rdev *const a = &rdevs[0], *const b = &rdevs[1];

/* Events on, devices A and B attached, @len registered at BASE. */
static void setup(uint32_t flags, uint64_t len)
{
	rdevs[0] = (struct rdev){ .name = "0000:01:00.0", .off = 1ULL << 40,
				  .page = { .size = sizeof(a->page) } };
	rdevs[1] = (struct rdev){ .name = "0000:02:00.0", .off = 2ULL << 40,
				  .page = { .size = sizeof(b->page) } };
	a->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	REQUIRE(a->evfd >= 0 && b->evfd >= 0);
	vtop__dev_open_hook = rdev_open;
	fake_init_events(flags);
	REQUIRE(vtop_dev_attach(a->name, &A) == 0);
	REQUIRE(vtop_dev_attach(b->name, &B) == 0);
	if (len)
		REQUIRE(vtop_mem_register(P(BASE), len) == 0);
}

static uint64_t phys(uint64_t va)
{
	return fake.phys(va);
}

static uint64_t unpin_errors(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	REQUIRE(vtop_mem_get_stats(&st) == 0);
	return st.unpin_errors;
}

static int notes[4];

static int count_cb(void *ctx, struct vtop_mem_map *map,
		    enum vtop_mem_map_notify_action action, void *va,
		    size_t len)
{
	(void)ctx;
	(void)map;
	(void)va;
	(void)len;
	if ((unsigned int)action < 4)
		notes[action]++;
	return 0;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* The brief's walk: revoke B with live pins; A and the environment work. */
static void revoked_device_cleared(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = count_cb,
					.size = sizeof(ops) };
	struct vtop_segment seg[4];
	struct vtop_mem_map *m;
	uint32_t n = 4;
	uint64_t sz;

	setup(0, 4 * K4);
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE + K4), NULL),
		 phys(BASE + K4) + b->off);
	CHECK_EQ(vtop_dev_is_revoked(B), 0);
	CHECK_EQ(b->live, 1);

	rdev_revoke(b, PER_PIN);
	/* the translation goes at the first look, before any processing */
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE + K4), NULL), ERR);
	sz = 4 * K4;
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), &sz), ERR);
	CHECK_EQ(vtop_vtophys_lookup(vtop_dev_vtophys_map(B), P(BASE)), ERR);
	CHECK_EQ(vtop_dev_get_segs(B, P(BASE), K4, seg, &n), -ENODEV);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(vtop_dev_is_revoked(A), 0);
	/* not processed yet: B's pins are live, the event fd says so */
	CHECK_EQ(b->live, 1);
	CHECK(readable(vtop_env_get_event_fd()));
	CHECK_EQ(vtop_dev_is_revoked(NULL), 0);
	CHECK_EQ(b->live, 0);
	/* A and the environment keep theirs */
	CHECK_EQ(vtop_vtophys_dev(A, P(BASE + K4), NULL),
		 phys(BASE + K4) + a->off);
	CHECK_EQ(vtop_vtophys(P(BASE + K4), NULL), phys(BASE + K4));

	/* processing (here already in vtop_dev_is_revoked(NULL)) unpins B's */
	CHECK(vtop_mem_process_events() >= 0);
	CHECK(!readable(vtop_env_get_event_fd()));
	CHECK_EQ(b->live, 0);
	CHECK_EQ(a->live, 1);
	CHECK(fake_pinned(BASE, 4 * K4));
	CHECK_EQ(atomic_load(&fake.live), 2);
	/* the memory stays registered: the consumer map hears nothing */
	CHECK_EQ(notes[VTOP_MEM_MAP_NOTIFY_UNREGISTER], 0);
	CHECK_EQ(notes[VTOP_MEM_MAP_NOTIFY_INVALIDATE], 0);

	/* a later registration skips B */
	CHECK_EQ(vtop_mem_register(P(BASE + 8 * K4), 2 * K4), 0);
	CHECK_EQ(a->live, 2);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(vtop_vtophys_dev(A, P(BASE + 9 * K4), NULL),
		 phys(BASE + 9 * K4) + a->off);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE + 9 * K4), NULL), ERR);
	CHECK_EQ(vtop_vtophys(P(BASE + 9 * K4), NULL), phys(BASE + 9 * K4));

	/* detach of a revoked device works, unregister balances the rest */
	CHECK_EQ(vtop_dev_detach(B), 0);
	CHECK(b->closed);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 4 * K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE + 8 * K4), 2 * K4), 0);
	CHECK_EQ(notes[VTOP_MEM_MAP_NOTIFY_UNREGISTER], 2);
	CHECK_EQ(vtop_dev_detach(A), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(a->unpin_errors + b->unpin_errors, 0);
	CHECK_EQ(unpin_errors(), 0);
	vtop_mem_map_free(&m);
	vtop_env_fini();
}

/* vtop_env_get_event_fd() wakes up for a device's revocation. */
static void event_fd_wakes(void)
{
	int fd;

	setup(0, 2 * K4);
	fd = vtop_env_get_event_fd();
	REQUIRE(fd >= 0);
	CHECK(!readable(fd));
	rdev_revoke(b, FD_RECORD);
	CHECK(readable(fd));
	/* the fast path reads B's record: the fd stays readable */
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), NULL), ERR);
	CHECK_EQ(b->qlen, 0);
	CHECK(readable(fd));
	CHECK_EQ(b->live, 1);
	CHECK(vtop_mem_process_events() >= 0);
	CHECK(!readable(fd));
	CHECK_EQ(b->live, 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK(!readable(fd));
	/* the same descriptor for the environment's own events */
	fake_invalidate(BASE, K4);
	CHECK(readable(fd));
	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK(!readable(fd));
	CHECK_EQ(vtop_dev_detach(B), 0);
	CHECK_EQ(vtop_dev_detach(A), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	vtop_env_fini();
}

/* VTOP_ENV_EVENT_THREAD unpins a revoked device's pins by itself. */
static void event_thread_revokes(void)
{
	int i;

	setup(VTOP_ENV_EVENT_THREAD, 2 * K4);
	CHECK_EQ(b->live, 1);
	rdev_revoke(b, PER_PIN);
	/* a wait for the thread, not a speed check: 20 s is generous */
	for (i = 0; i < 20000 && __atomic_load_n(&b->live, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&b->live, __ATOMIC_ACQUIRE), 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(a->live, 1);
	CHECK_EQ(vtop_dev_detach(B), 0);
	vtop_env_fini();
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(a->live, 0);
}

/*
 * A revocation with no pin on the device: a module that writes a record
 * for the descriptor says so; one that does not is found out by the next
 * registration's pin (-ENODEV), which succeeds for the others.
 */
static void revoked_without_pins(void)
{
	setup(0, 0);
	rdev_revoke(b, FD_RECORD);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	CHECK_EQ(a->live, 1);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(vtop_dev_detach(B), 0);

	/* silent: nothing queued */
	b->revoked = false;
	REQUIRE(vtop_dev_attach(b->name, &B) == 0);
	CHECK_EQ(b->live, 1);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 2 * K4), 0);
	CHECK_EQ(b->live, 0);
	rdev_revoke(b, SILENT);
	CHECK_EQ(vtop_dev_is_revoked(B), 0);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), NULL), ERR);
	CHECK_EQ(vtop_vtophys_dev(A, P(BASE), NULL), phys(BASE) + a->off);
	CHECK_EQ(a->live, 1);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(vtop_dev_detach(B), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_dev_detach(A), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(unpin_errors(), 0);
	vtop_env_fini();
}

/* Records lost to an overflow: a probe pin tells, and leaves no pin. */
static void overflow_probe(void)
{
	setup(0, 2 * K4);
	rdev_post(b, VTOP_EVENT_OVERFLOW, 0);
	CHECK(vtop_mem_process_events() >= 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 0);
	CHECK_EQ(b->live, 1);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), NULL), phys(BASE) + b->off);
	rdev_revoke(b, LOST);
	CHECK(vtop_mem_process_events() >= 0);
	CHECK(!readable(vtop_env_get_event_fd()));
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), NULL), ERR);
	CHECK_EQ(vtop_dev_detach(B), 0);
	CHECK_EQ(vtop_dev_detach(A), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 2 * K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(unpin_errors(), 0);
	vtop_env_fini();
}

/* The same with a module whose INFO tells the revocation: no probe pin. */
static void overflow_status(void)
{
	int pins;

	setup(0, 2 * K4);
	b->has_status = true;
	pins = atomic_load(&fake.pins_total);
	rdev_post(b, VTOP_EVENT_OVERFLOW, 0);
	CHECK(vtop_mem_process_events() >= 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 0);
	CHECK_EQ(b->live, 1);
	rdev_revoke(b, LOST);
	CHECK(vtop_mem_process_events() >= 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(b->infos, 2);
	CHECK_EQ(atomic_load(&fake.pins_total), pins);
	CHECK_EQ(vtop_dev_detach(B), 0);
	vtop_env_fini();
	CHECK_EQ(atomic_load(&fake.live), 0);
}

/* A device's other records (its pins watch the range too) change nothing. */
static void other_records_ignored(void)
{
	setup(0, 2 * K4);
	rdev_post(b, VTOP_EVENT_UNMAP, b->handles[0]);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), NULL), phys(BASE) + b->off);
	CHECK_EQ(vtop_mem_process_events(), 0);
	CHECK_EQ(vtop_dev_is_revoked(B), 0);
	CHECK_EQ(b->live, 1);
	CHECK_EQ(b->qlen, 0);
	vtop_env_fini();
	CHECK_EQ(atomic_load(&fake.live), 0);
}

/* Detach right after the unbind, before anything was processed. */
static void detach_before_processing(void)
{
	setup(0, 2 * K4);
	rdev_revoke(b, PER_PIN);
	CHECK_EQ(vtop_dev_detach(B), 0);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(b->unpin_errors, 0);
	CHECK_EQ(vtop_vtophys_dev(A, P(BASE), NULL), phys(BASE) + a->off);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_dev_detach(A), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(unpin_errors(), 0);
	vtop_env_fini();
}

/* After the environment's, A's and B's pin of a registration: revoke B. */
static int pin_calls;

static void revoke_b_after_third_pin(uint64_t va, uint64_t len)
{
	(void)va;
	(void)len;
	if (++pin_calls == 3)
		rdev_revoke(b, FD_RECORD);
}

/*
 * B revoked between its pin of a new registration and the map fill: that
 * pin is released too, nothing is mapped for B.
 */
static void revoked_during_register(void)
{
	setup(0, 0);
	fake.after_pin = revoke_b_after_third_pin;
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), 0);
	fake.after_pin = NULL;
	CHECK_EQ(pin_calls, 3);
	CHECK_EQ(vtop_dev_is_revoked(B), 1);
	CHECK_EQ(b->live, 0);
	CHECK_EQ(a->live, 1);
	CHECK_EQ(vtop_vtophys_dev(B, P(BASE), NULL), ERR);
	CHECK_EQ(vtop_vtophys_dev(A, P(BASE), NULL), phys(BASE) + a->off);
	CHECK_EQ(vtop_dev_detach(B), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 2 * K4), 0);
	CHECK_EQ(vtop_dev_detach(A), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(unpin_errors(), 0);
	vtop_env_fini();
}

/* The environment's own device: registrations end, later ones -ENODEV. */
static void env_device_revoked(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = count_cb,
					.size = sizeof(ops) };
	struct vtop_mem_map *m;

	fake_defaults();
	REQUIRE(vtop__env_init_backend_flags(&fake_ev_ops, NULL,
					     VTOP_MODE_IOVA, 0) == 0);
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	REQUIRE(vtop_mem_register(P(BASE), 2 * K4) == 0);
	CHECK_EQ(vtop_dev_is_revoked(NULL), 0);
	CHECK_EQ(fake_revoke(), 1);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), ERR);
	CHECK_EQ(vtop_mem_process_events(), 1);
	CHECK_EQ(notes[VTOP_MEM_MAP_NOTIFY_INVALIDATE], 1);
	CHECK_EQ(vtop_dev_is_revoked(NULL), 1);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(vtop_mem_register(P(BASE), 2 * K4), -ENODEV);
	CHECK(strstr(vtop_last_error(), "revoked") != NULL);
	CHECK_EQ(atomic_load(&fake.live), 0);
	vtop_mem_map_free(&m);
	vtop_env_fini();
}

/* Without events (physical mode): never revoked, nothing read. */
static void no_events(void)
{
	fake_init();
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	CHECK_EQ(vtop_dev_is_revoked(NULL), 0);
	CHECK_EQ(vtop_env_get_event_fd(), -EOPNOTSUPP);
	vtop_env_fini();
}

HOST_MAIN(
	HOST_TEST(no_events),
	HOST_TEST(revoked_device_cleared),
	HOST_TEST(event_fd_wakes),
	HOST_TEST(event_thread_revokes),
	HOST_TEST(revoked_without_pins),
	HOST_TEST(overflow_probe),
	HOST_TEST(overflow_status),
	HOST_TEST(other_records_ignored),
	HOST_TEST(detach_before_processing),
	HOST_TEST(revoked_during_register),
	HOST_TEST(env_device_revoked),
)
