/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Timed register/unregister pairs: the loop that vtop-bench-register and
 * vtop-bench-iommu run for every method, the two methods they share (the
 * raw VTOP_IOC_PIN + VTOP_IOC_UNPIN ioctls and io_uring's buffer
 * registration, the baseline), and the rows they print from the samples.
 *
 * A method is a pair of callbacks; every method goes through the same
 * loop, so the clock reads around each call are the same for all of them.
 */
#ifndef VTOP_BENCH_PAIR_H
#define VTOP_BENCH_PAIR_H

#include <fcntl.h>		/* AT_FDCWD, for liburing.h */
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>
#include <vtop.h>

/* Repeats of a measurement at most (the arrays of samples are this big). */
#define BENCH_MAX_REPEATS	64

/* What one method did in one timed sample. */
struct bench_pair {
	uint64_t n;	/* pairs done: a sample may stop at its time cap */
	double reg;	/* ns spent in the register calls */
	double unreg;	/* ns spent in the unregister calls */
};

/* @i is the pair's index in the sample; each returns 0 or -errno. */
struct bench_pair_ops {
	int (*reg)(void *ctx, uint64_t i);
	int (*unreg)(void *ctx, uint64_t i);
};

/*
 * Runs @loops pairs, timing each call with the wall clock, and stops after
 * the pair that ends more than @max_ns after the start (io_uring's
 * unregister waits for an RCU grace period on 6.1: milliseconds per call
 * under TCG). Returns 0 or the first error.
 */
int bench_pair_run(const struct bench_pair_ops *ops, void *ctx,
		   uint64_t loops, uint64_t max_ns, struct bench_pair *s);

/*
 * A sample that hit its time cap did s->n < @loops pairs: scales it to
 * @loops, so that every sample of a size counts the same pages. Returns
 * the factor, for whatever else the caller measured in the sample.
 */
double bench_pair_scale(struct bench_pair *s, uint64_t loops);

/*
 * VTOP_IOC_PIN + VTOP_IOC_UNPIN of [mem, mem + len) on @fd, segments into
 * @segs (room for @nr_segs). The first pair of a sample checks, once
 * unpinned, that the result described the memory (-EPROTO if not).
 */
struct bench_pin_ctx {
	int fd;
	void *mem;
	uint64_t len;
	struct vtop_segment *segs;
	uint32_t nr_segs;
	uint64_t handle;	/* the pin made by the last reg */
	uint32_t got_segs;	/* and its number of segments */
};
extern const struct bench_pair_ops bench_pin_ops;

/* IORING_REGISTER_BUFFERS of one buffer + IORING_UNREGISTER_BUFFERS. */
struct bench_uring_ctx {
	struct io_uring *ring;
	struct iovec iov;
};
extern const struct bench_pair_ops bench_uring_ops;

/*
 * Samples of one method over the repeats: repeat r's sample is at
 * (const char *)@s + r * @stride (a column of a [repeat][method] array).
 */
struct bench_pair_col {
	const struct bench_pair *s;
	size_t stride;
};

static inline const struct bench_pair *
bench_pair_at(struct bench_pair_col c, uint64_t r)
{
	return (const struct bench_pair *)(const void *)
	       ((const char *)c.s + r * c.stride);
}

/* Rows "<case>,<page>,<len>,register|unregister|total,ns/page". */
void bench_pair_rows(const char *bench, const char *env, const char *cas,
		     const char *page, uint64_t len, struct bench_pair_col c,
		     uint64_t repeats, double pages);

/*
 * Row "<case>,<page>,<len>,<param>,ratio": @a's time over @b's within each
 * repeat, for @param "total" (register + unregister), "register" or
 * "unregister".
 */
void bench_pair_ratio_row(const char *bench, const char *env,
			  const char *cas, const char *page, uint64_t len,
			  const char *param, struct bench_pair_col a,
			  struct bench_pair_col b, uint64_t repeats);

#endif /* VTOP_BENCH_PAIR_H */
