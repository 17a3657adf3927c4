/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test-only backend: "pins" any range and reports made-up DMA addresses
 * from fake.phys(), page sizes from fake.shift(). It records live pins, can
 * fail on demand and logs pin/unpin into the test's event log. Installed
 * with the library's hidden vtop__env_init_backend() hook, which is not
 * exported from libvtop.so (abi_test.sh checks that).
 */
#ifndef FAKE_BACKEND_H
#define FAKE_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>

#include "host_test.h"
#include "../../libvtop/internal.h"

#define FAKE_MAX_PINS	1024

struct fake_pin {
	uint64_t handle, va, len;
	bool live;
	bool invalidated;
};

#define FAKE_QMAX	256

static struct {
	uint64_t (*phys)(uint64_t va);
	unsigned int (*shift)(uint64_t va);
	int fail_pin;		/* next pin fails with this */
	uint32_t last_pin_flags;	/* VTOP_PIN_* of the last pin */
	bool bad_segs;		/* next pin reports a short segment list */
	pthread_mutex_t lock;
	struct fake_pin pins[FAKE_MAX_PINS];
	uint64_t next_handle;
	atomic_int live;
	atomic_int pins_total;
	atomic_int unpins_total;
	int unpin_errors;
	void (*on_unpin)(uint64_t va, uint64_t len);
	/* called after a successful pin, with the new handle */
	void (*after_pin)(uint64_t va, uint64_t len);
	int fail_unpin;		/* next unpin fails with this (pin stays) */
	bool borrow_segs;	/* lend a static segment array (no free) */
	/* events: a queue of at most qcap records, an event page, an fd */
	struct vtop_event_page page;
	struct vtop_ev_rec q[FAKE_QMAX];
	int qhead, qlen, qcap;
	bool overflow_pending;
	int evfd;		/* an eventfd: readable while records wait */
	int fail_read;		/* read_events fails with this */
	int fail_get_inval;	/* get_invalidated fails with this */
	atomic_int reads;	/* read_events calls */
	atomic_int get_invals;	/* get_invalidated calls */
	bool revoked;		/* fake_revoke(): every pin fails -ENODEV */
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER, .qcap = 64, .evfd = -1,
	   .page = { .size = sizeof(struct vtop_event_page), .version = 1 } };

/* Default: linear, far from the VA, 4 KiB pages. */
static uint64_t fake_phys_linear(uint64_t va)
{
	return va + 0x100000000000ULL;
}

static unsigned int fake_shift_4k(uint64_t va)
{
	(void)va;
	return 12;
}

static int fake_pin(void *ctx, uint64_t va, uint64_t len,
		    struct vtop_pin_result *res)
{
	struct vtop_segment *segs;
	uint64_t p, pa;
	uint32_t n = 0;
	unsigned int sh;
	int i, rc;

	(void)ctx;
	fake.last_pin_flags = res->flags;
	if (fake.revoked)
		return -ENODEV;
	if (fake.fail_pin) {
		rc = fake.fail_pin;
		fake.fail_pin = 0;
		return rc;
	}
	if (fake.borrow_segs) {
		static struct vtop_segment lent[64];

		REQUIRE(len / 4096 <= 64);
		segs = lent;
	} else {
		segs = calloc(len / 4096, sizeof(*segs));
	}
	if (!segs)
		return -ENOMEM;
	for (p = va; p < va + len; p += 4096) {
		pa = fake.phys(p);
		sh = fake.shift(p);
		if (n && segs[n - 1].dma_addr + segs[n - 1].len == pa &&
		    segs[n - 1].page_shift == sh) {
			segs[n - 1].len += 4096;
			continue;
		}
		segs[n++] = (struct vtop_segment){
			.vaddr = p, .dma_addr = pa, .len = 4096,
			.page_shift = sh,
		};
	}
	if (fake.bad_segs) {
		fake.bad_segs = false;
		if (segs[n - 1].len > 4096)
			segs[n - 1].len -= 4096;
		else
			n--;
	}
	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < FAKE_MAX_PINS && fake.pins[i].live; i++)
		;
	REQUIRE(i < FAKE_MAX_PINS);
	fake.pins[i] = (struct fake_pin){
		.handle = ++fake.next_handle, .va = va, .len = len,
		.live = true,
	};
	res->handle = fake.pins[i].handle;
	pthread_mutex_unlock(&fake.lock);
	res->segs = segs;
	res->nr_segs = n;
	res->borrowed = fake.borrow_segs;
	atomic_fetch_add(&fake.live, 1);
	atomic_fetch_add(&fake.pins_total, 1);
	if (fake.after_pin)
		fake.after_pin(va, len);
	return 0;
}

/* With fake.lock: keep the eventfd readable exactly while records wait. */
static void fake_update_fd_locked(void)
{
	uint64_t v = 1;

	if (fake.evfd < 0)
		return;
	if (fake.qlen || fake.overflow_pending) {
		if (read(fake.evfd, &v, sizeof(v)) < 0)
			v = 0;
		v = 1;
		REQUIRE(write(fake.evfd, &v, sizeof(v)) == sizeof(v));
	} else {
		if (read(fake.evfd, &v, sizeof(v)) < 0)
			v = 0;
	}
}

/* The kernel's side: a live pin overlapping [va, va + len) is unmapped. */
static inline int fake_invalidate(uint64_t va, uint64_t len)
{
	int i, n = 0;
	uint64_t seq;

	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < FAKE_MAX_PINS; i++) {
		struct fake_pin *p = &fake.pins[i];

		if (!p->live || p->invalidated || p->va >= va + len ||
		    p->va + p->len <= va)
			continue;
		p->invalidated = true;
		seq = fake.page.seq + 1;
		if (fake.qlen < fake.qcap) {
			fake.q[(fake.qhead + fake.qlen++) % FAKE_QMAX] =
				(struct vtop_ev_rec){
					.reason = VTOP_EVENT_UNMAP,
					.handle = p->handle, .vaddr = p->va,
					.length = p->len, .seq = seq,
				};
		} else {
			fake.overflow_pending = true;
			fake.page.overflows++;
		}
		__atomic_store_n(&fake.page.seq, seq, __ATOMIC_RELEASE);
		n++;
	}
	fake_update_fd_locked();
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/*
 * The kernel's side of a revocation of an attached descriptor (its device
 * unbound or removed): every live pin not invalidated yet gets a
 * VTOP_EVENT_REVOKED record, every later pin fails with -ENODEV.
 */
static inline int fake_revoke(void)
{
	int i, n = 0;
	uint64_t seq;

	pthread_mutex_lock(&fake.lock);
	fake.revoked = true;
	for (i = 0; i < FAKE_MAX_PINS; i++) {
		struct fake_pin *p = &fake.pins[i];

		if (!p->live || p->invalidated)
			continue;
		p->invalidated = true;
		seq = fake.page.seq + 1;
		REQUIRE(fake.qlen < fake.qcap);
		fake.q[(fake.qhead + fake.qlen++) % FAKE_QMAX] =
			(struct vtop_ev_rec){
				.reason = VTOP_EVENT_REVOKED,
				.handle = p->handle, .vaddr = p->va,
				.length = p->len, .seq = seq,
			};
		__atomic_store_n(&fake.page.seq, seq, __ATOMIC_RELEASE);
		n++;
	}
	fake_update_fd_locked();
	pthread_mutex_unlock(&fake.lock);
	return n;
}

static const struct vtop_event_page *fake_event_page(void *ctx)
{
	(void)ctx;
	return &fake.page;
}

static int fake_event_fd(void *ctx)
{
	(void)ctx;
	return fake.evfd;
}

static int fake_read_events(void *ctx, struct vtop_ev_rec *rec, size_t max)
{
	size_t n = 0;

	(void)ctx;
	atomic_fetch_add(&fake.reads, 1);
	if (fake.fail_read)
		return fake.fail_read;
	pthread_mutex_lock(&fake.lock);
	while (n < max && fake.qlen) {
		rec[n++] = fake.q[fake.qhead];
		fake.qhead = (fake.qhead + 1) % FAKE_QMAX;
		fake.qlen--;
	}
	if (n < max && !fake.qlen && fake.overflow_pending) {
		rec[n++] = (struct vtop_ev_rec){
			.reason = VTOP_EVENT_OVERFLOW,
			.seq = fake.page.seq,
		};
		fake.overflow_pending = false;
	}
	fake_update_fd_locked();
	pthread_mutex_unlock(&fake.lock);
	return (int)n;
}

static int fake_get_invalidated(void *ctx, uint64_t **handles, uint32_t *nr,
				uint64_t *seq)
{
	uint64_t *h;
	uint32_t n = 0;
	int i;

	(void)ctx;
	atomic_fetch_add(&fake.get_invals, 1);
	if (fake.fail_get_inval)
		return fake.fail_get_inval;
	h = calloc(FAKE_MAX_PINS, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < FAKE_MAX_PINS; i++)
		if (fake.pins[i].live && fake.pins[i].invalidated)
			h[n++] = fake.pins[i].handle;
	*seq = fake.page.seq;
	pthread_mutex_unlock(&fake.lock);
	*handles = h;
	*nr = n;
	return 0;
}

static int fake_unpin(void *ctx, uint64_t handle)
{
	uint64_t va = 0, len = 0;
	int i;

	(void)ctx;
	if (fake.fail_unpin) {
		int rc = fake.fail_unpin;

		fake.fail_unpin = 0;
		return rc;
	}
	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < FAKE_MAX_PINS; i++)
		if (fake.pins[i].live && fake.pins[i].handle == handle)
			break;
	if (i == FAKE_MAX_PINS) {
		fake.unpin_errors++;
		pthread_mutex_unlock(&fake.lock);
		return -ENOENT;
	}
	fake.pins[i].live = false;
	fake.pins[i].invalidated = false;
	/* Unpinning drops the pin's queued record, as the kernel does. */
	{
		int k, kept = 0;
		struct vtop_ev_rec tmp[FAKE_QMAX];

		for (k = 0; k < fake.qlen; k++) {
			struct vtop_ev_rec *e =
				&fake.q[(fake.qhead + k) % FAKE_QMAX];

			if (e->handle != handle)
				tmp[kept++] = *e;
		}
		memcpy(fake.q, tmp, sizeof(tmp[0]) * kept);
		fake.qhead = 0;
		fake.qlen = kept;
		fake_update_fd_locked();
	}
	va = fake.pins[i].va;
	len = fake.pins[i].len;
	pthread_mutex_unlock(&fake.lock);
	atomic_fetch_sub(&fake.live, 1);
	atomic_fetch_add(&fake.unpins_total, 1);
	if (fake.on_unpin)
		fake.on_unpin(va, len);
	return 0;
}

static int fake_info(void *ctx, struct vtop_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->nr_pins = (uint32_t)atomic_load(&fake.live);
	return 0;
}

static bool fake_closed;

static void fake_close(void *ctx)
{
	(void)ctx;
	fake_closed = true;
	if (fake.evfd >= 0)
		close(fake.evfd);
	fake.evfd = -1;
}

static const struct vtop_backend_ops fake_ops = {
	.name = "fake",
	.pin = fake_pin,
	.unpin = fake_unpin,
	.info = fake_info,
	.close = fake_close,
};

/* The same with invalidation events. */
static const struct vtop_backend_ops fake_ev_ops = {
	.name = "fake-events",
	.pin = fake_pin,
	.unpin = fake_unpin,
	.info = fake_info,
	.close = fake_close,
	.event_page = fake_event_page,
	.event_fd = fake_event_fd,
	.read_events = fake_read_events,
	.get_invalidated = fake_get_invalidated,
};

static void fake_defaults(void)
{
	if (!fake.phys)
		fake.phys = fake_phys_linear;
	if (!fake.shift)
		fake.shift = fake_shift_4k;
	/* a real descriptor, as the kmod backend has one */
	if (fake.evfd < 0)
		fake.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	REQUIRE(fake.evfd >= 0);
}

static void fake_init(void)
{
	fake_defaults();
	REQUIRE(vtop__env_init_backend(&fake_ops, NULL, VTOP_MODE_PHYS) == 0);
}

/* With events; @flags: VTOP_ENV_* (and VTOP__ENV_IMPLICIT). */
static inline int fake_init_events_rc(uint32_t flags)
{
	fake_defaults();
	return vtop__env_init_backend_flags(&fake_ev_ops, NULL,
					    VTOP_MODE_PHYS, flags);
}

static inline void fake_init_events(uint32_t flags)
{
	REQUIRE(fake_init_events_rc(flags) == 0);
}

/* Is [va, va + len) pinned by exactly one live pin? */
static inline bool fake_pinned(uint64_t va, uint64_t len)
{
	bool found = false;
	int i;

	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < FAKE_MAX_PINS; i++)
		if (fake.pins[i].live && fake.pins[i].va == va &&
		    fake.pins[i].len == len)
			found = true;
	pthread_mutex_unlock(&fake.lock);
	return found;
}

#endif /* FAKE_BACKEND_H */
