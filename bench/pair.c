// SPDX-License-Identifier: GPL-2.0-only
/*
 * Timed register/unregister pairs shared by vtop-bench-register and
 * vtop-bench-iommu (see pair.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common.h"
#include "pair.h"

int bench_pair_run(const struct bench_pair_ops *ops, void *ctx,
		   uint64_t loops, uint64_t max_ns, struct bench_pair *s)
{
	uint64_t t0, t1, t2, t_start = bench_now_ns(BENCH_CLOCK_WALL);
	int err;

	s->n = 0;
	s->reg = s->unreg = 0;
	for (uint64_t i = 0; i < loops; i++) {
		t0 = bench_now_ns(BENCH_CLOCK_WALL);
		err = ops->reg(ctx, i);
		t1 = bench_now_ns(BENCH_CLOCK_WALL);
		if (err)
			return err;
		err = ops->unreg(ctx, i);
		t2 = bench_now_ns(BENCH_CLOCK_WALL);
		if (err)
			return err;
		s->reg += (double)(t1 - t0);
		s->unreg += (double)(t2 - t1);
		s->n = i + 1;
		if (t2 - t_start > max_ns)
			break;
	}
	return 0;
}

double bench_pair_scale(struct bench_pair *s, uint64_t loops)
{
	double f = (double)loops / (double)(s->n ? s->n : 1);

	s->reg *= f;
	s->unreg *= f;
	return f;
}

static int pin_reg(void *ctx, uint64_t i)
{
	struct bench_pin_ctx *c = ctx;
	struct vtop_pin pin = {
		.size = sizeof(pin),
		.vaddr = (uint64_t)(uintptr_t)c->mem,
		.length = c->len,
		.segs = (uint64_t)(uintptr_t)c->segs,
		.nr_segs = c->nr_segs,
	};

	(void)i;
	if (ioctl(c->fd, VTOP_IOC_PIN, &pin))
		return -errno;
	c->handle = pin.handle;
	c->got_segs = pin.nr_segs;
	return 0;
}

static int pin_unreg(void *ctx, uint64_t i)
{
	struct bench_pin_ctx *c = ctx;
	struct vtop_unpin unpin = {
		.size = sizeof(unpin),
		.handle = c->handle,
	};

	if (ioctl(c->fd, VTOP_IOC_UNPIN, &unpin))
		return -errno;
	/* Once a sample, unpinned: physical addresses or IOVAs, never 0. */
	if (i == 0 && (!c->got_segs || !c->segs[0].dma_addr ||
		       c->segs[0].vaddr != (uint64_t)(uintptr_t)c->mem))
		return -EPROTO;
	return 0;
}

const struct bench_pair_ops bench_pin_ops = {
	.reg = pin_reg,
	.unreg = pin_unreg,
};

static int uring_reg(void *ctx, uint64_t i)
{
	struct bench_uring_ctx *c = ctx;

	(void)i;
	return io_uring_register_buffers(c->ring, &c->iov, 1);
}

static int uring_unreg(void *ctx, uint64_t i)
{
	struct bench_uring_ctx *c = ctx;

	(void)i;
	return io_uring_unregister_buffers(c->ring);
}

const struct bench_pair_ops bench_uring_ops = {
	.reg = uring_reg,
	.unreg = uring_unreg,
};

static double pair_part(const struct bench_pair *p, const char *param)
{
	if (!strcmp(param, "register"))
		return p->reg;
	if (!strcmp(param, "unregister"))
		return p->unreg;
	return p->reg + p->unreg;
}

static void pair_row(const char *bench, const char *env, const char *cas,
		     const char *page, uint64_t len, const char *param,
		     const char *unit, double *v, uint64_t repeats)
{
	struct bench_stats st;

	bench_stats(v, (int)repeats, &st);
	bench_csv_row(bench, env, cas, page, len, param, unit, &st);
}

void bench_pair_rows(const char *bench, const char *env, const char *cas,
		     const char *page, uint64_t len, struct bench_pair_col c,
		     uint64_t repeats, double pages)
{
	static const char *const params[] = {
		"register", "unregister", "total",
	};
	double v[BENCH_MAX_REPEATS];

	for (size_t k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
		for (uint64_t r = 0; r < repeats && r < BENCH_MAX_REPEATS; r++)
			v[r] = pair_part(bench_pair_at(c, r), params[k]) /
			       pages;
		pair_row(bench, env, cas, page, len, params[k], "ns/page", v,
			 repeats);
	}
}

void bench_pair_ratio_row(const char *bench, const char *env,
			  const char *cas, const char *page, uint64_t len,
			  const char *param, struct bench_pair_col a,
			  struct bench_pair_col b, uint64_t repeats)
{
	double v[BENCH_MAX_REPEATS];

	for (uint64_t r = 0; r < repeats && r < BENCH_MAX_REPEATS; r++)
		v[r] = pair_part(bench_pair_at(a, r), param) /
		       pair_part(bench_pair_at(b, r), param);
	pair_row(bench, env, cas, page, len, param, "ratio", v, repeats);
}
