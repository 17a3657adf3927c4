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

#include "host_test.h"
#include "../../libvtop/internal.h"

#define FAKE_MAX_PINS	1024

struct fake_pin {
	uint64_t handle, va, len;
	bool live;
};

static struct {
	uint64_t (*phys)(uint64_t va);
	unsigned int (*shift)(uint64_t va);
	int fail_pin;		/* next pin fails with this */
	bool bad_segs;		/* next pin reports a short segment list */
	pthread_mutex_t lock;
	struct fake_pin pins[FAKE_MAX_PINS];
	uint64_t next_handle;
	atomic_int live;
	atomic_int pins_total;
	atomic_int unpins_total;
	int unpin_errors;
	void (*on_unpin)(uint64_t va, uint64_t len);
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER };

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
	if (fake.fail_pin) {
		rc = fake.fail_pin;
		fake.fail_pin = 0;
		return rc;
	}
	segs = calloc(len / 4096, sizeof(*segs));
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
	atomic_fetch_add(&fake.live, 1);
	atomic_fetch_add(&fake.pins_total, 1);
	return 0;
}

static int fake_unpin(void *ctx, uint64_t handle)
{
	uint64_t va = 0, len = 0;
	int i;

	(void)ctx;
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
}

static const struct vtop_backend_ops fake_ops = {
	.name = "fake",
	.pin = fake_pin,
	.unpin = fake_unpin,
	.info = fake_info,
	.close = fake_close,
};

static void fake_init(void)
{
	if (!fake.phys)
		fake.phys = fake_phys_linear;
	if (!fake.shift)
		fake.shift = fake_shift_4k;
	REQUIRE(vtop__env_init_backend(&fake_ops, NULL, VTOP_MODE_PHYS) == 0);
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
