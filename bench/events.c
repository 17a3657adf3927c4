// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-bench-events: what invalidation events cost (issue 10).
 *
 *   notifier  Unrelated memory work in a process that holds pins: time of
 *             mmap + touch every page + munmap ("map_touch_unmap"), and of
 *             mmap + munmap alone ("map_unmap"), of --size bytes of
 *             anonymous memory outside any pin, while the process's
 *             /dev/vtop descriptor holds 0, 100 or 10000 live pins
 *             (--pins), each pin one 4 KiB page of its own, so that the mm
 *             carries that many interval notifiers. Also "0+used": no live
 *             pin, but one was made and released, so the mm keeps its
 *             (empty) notifier subscription. Raw ioctls, no library. Each
 *             pin count lives in a child process of its own (a pin belongs
 *             to one address space); the parent asks the children for
 *             samples in rotating order, and each time is also reported as
 *             the ratio to the 0-pin child's time in the same repeat. The
 *             children check (VTOP_IOC_INFO) that the unrelated work
 *             invalidated no pin and queued no event.
 *   latency   munmap() of a registered buffer (--lat-size of 4 KiB pages)
 *             to the consumer map's invalidation callback, per event:
 *               epoll   the event descriptor (vtop_env_get_event_fd()) in
 *                       an epoll loop on another thread, which calls
 *                       vtop_mem_process_events() when it is readable
 *               thread  the library's own event thread
 *                       (VTOP_ENV_EVENT_THREAD)
 *               inline  munmap() then vtop_mem_process_events() in the
 *                       same thread: processing alone, no wake-up
 *             Also the munmap() call itself. The callback checks the
 *             range, and vtop_vtophys() must refuse the buffer afterwards.
 *   check     The "anything new?" check of the exported translate path,
 *             on registered hugetlb memory (--check-size; pagemap backend
 *             on the host, kmod in the guest), random addresses:
 *               vtophys          vtop_vtophys(), the exported call (with
 *                                the library's check)
 *               vtophys_nocheck  a copy of vtop_vtophys() in this file,
 *                                behind a call through a pointer (as a
 *                                PLT call is), without the check
 *               vtophys_check    the same copy with the library's check:
 *                                a relaxed load of the event page pointer,
 *                                an acquire load of its seq, a compare
 *                                with the last seq seen
 *               lookup           vtop_vtophys_lookup(), inline
 *               lookup_check     the same check inline, then the lookup
 *             The event page of the copies is this process's own
 *             /dev/vtop event page in the guest, a static page on the host
 *             (the library uses one too without events). Each repeat runs
 *             the five loops in rotating order; "ns added" is the
 *             difference within each repeat: vtophys_check -
 *             vtophys_nocheck (the check behind a call), lookup_check -
 *             lookup (inline), and vtophys - vtophys_nocheck (the exported
 *             call against the copy without check).
 *
 * Prints CSV rows (see common.h) on stdout, a log on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vtop.h>

#include "common.h"

/* The library's side of events (0.3): latency and check need it. */
#ifdef VTOP_ENV_EVENT_THREAD
#define HAVE_LIB_EVENTS 1
#else
#define HAVE_LIB_EVENTS 0
#endif

#define MAX_PINS_CASES	8
#define MAX_REPEATS	256
#define MAX_EVENTS	100000
#define NR_RAND		(1u << 16)	/* random addresses, 512 KiB */

struct opts {
	uint64_t pins[MAX_PINS_CASES];
	int nr_pins;
	bool no_used;
	uint64_t size;
	uint64_t iterations;
	uint64_t batch_us;
	uint64_t repeats;	/* check */
	uint64_t n_repeats;	/* notifier */
	uint64_t events;
	uint64_t lat_size;
	uint64_t check_size;
	uint64_t min_time_ms;	/* check */
	uint64_t n_min_time_ms;	/* notifier */
	enum bench_clock clock;
	bool clock_set;
	const char *cases;
	const char *backend;
	const char *env;
	bool no_hugepages;
};

static struct opts o = {
	.size = 64 << 10,
	.batch_us = 200,
	.repeats = 21,
	.n_repeats = 101,
	.events = 200,
	.lat_size = 64 << 10,
	.check_size = 64 << 20,
	.min_time_ms = 100,
	.n_min_time_ms = 20,
	.clock = BENCH_CLOCK_CPU,
};

static const char *env;

static bool want(const char *name)
{
	return bench_want(o.cases, name);
}

static void row(const char *cas, const char *page, uint64_t size,
		const char *param, const char *unit, double *v, int n)
{
	struct bench_stats st;

	bench_stats(v, n, &st);
	bench_csv_row("events", env, cas, page, size, param, unit, &st);
}

/* ---- notifier: unrelated work with 0, 100, 10000 live pins -------------- */

enum { OP_TOUCH, OP_NOTOUCH, NR_OPS };

static const char *const op_names[NR_OPS] = {
	[OP_TOUCH] = "map_touch_unmap",
	[OP_NOTOUCH] = "map_unmap",
};

struct ncmd {
	uint32_t op;		/* OP_*, or NR_OPS to quit */
	uint32_t pad;
	uint64_t iterations;
	uint64_t batch;		/* operations per timed batch */
};

struct nres {
	int32_t err;		/* 0 or -errno */
	int32_t pad;
	double ns;		/* per operation */
};

struct nchild {
	pid_t pid;
	int cmd;		/* parent writes commands */
	int res;		/* parent reads results */
	uint64_t pins;
	uint64_t max_pins;
	bool used;
	char label[32];
};

static int full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int full_read(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int vtop_info(int fd, struct vtop_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, VTOP_IOC_INFO, info) ? -errno : 0;
}

/*
 * Maps @max_pins pages (every child the same, so that the unrelated
 * mappings land in the same layout), pins @n of them, each by itself, and
 * with @used pins and unpins one more.
 */
static int child_setup(uint64_t n, uint64_t max_pins, bool used, int *fdp)
{
	uint64_t len = (max_pins ? max_pins : 1) * SZ_4K;
	struct vtop_segment seg;
	struct vtop_info info;
	char *mem;
	int fd, err;

	fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (uint64_t off = 0; off < len; off += SZ_4K)
		mem[off] = 1;
	for (uint64_t i = 0; i < n + (used ? 1 : 0); i++) {
		struct vtop_pin pin = {
			.size = sizeof(pin),
			.vaddr = (uint64_t)(uintptr_t)mem + (i % (n ? n : 1)) * SZ_4K,
			.length = SZ_4K,
			.segs = (uint64_t)(uintptr_t)&seg,
			.nr_segs = 1,
		};

		if (i == n) {
			/* "used": one more pin of the first page, unpinned */
			struct vtop_unpin unpin = { .size = sizeof(unpin) };

			if (ioctl(fd, VTOP_IOC_PIN, &pin))
				return -errno;
			unpin.handle = pin.handle;
			if (ioctl(fd, VTOP_IOC_UNPIN, &unpin))
				return -errno;
			break;
		}
		if (ioctl(fd, VTOP_IOC_PIN, &pin))
			return -errno;
	}
	err = vtop_info(fd, &info);
	if (err)
		return err;
	if (!(info.features & VTOP_FEATURE_EVENTS))
		return -EOPNOTSUPP;
	if (info.nr_pins != n)
		return -EIO;
	*fdp = fd;
	return 0;
}

/*
 * The timed work: memory that no pin covers. @iters operations in batches
 * of @batch, each batch timed; returns the median batch time per
 * operation. A TCG guest on a shared host is preempted for milliseconds
 * at a time: a median over short batches leaves those out, a total would
 * not.
 */
#define MAX_BATCHES	4096

static double unrelated(uint32_t op, uint64_t iters, uint64_t batch, int *err)
{
	static double bt[MAX_BATCHES];
	struct bench_stats st;
	uint64_t nb = (iters + batch - 1) / batch;

	if (nb > MAX_BATCHES)
		nb = MAX_BATCHES;
	for (uint64_t b = 0; b < nb; b++) {
		uint64_t t0 = bench_now_ns(o.clock);

		for (uint64_t i = 0; i < batch; i++) {
			char *p = mmap(NULL, o.size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED) {
				*err = -errno;
				return 0;
			}
			if (op == OP_TOUCH)
				for (uint64_t off = 0; off < o.size;
				     off += SZ_4K)
					((volatile char *)p)[off] = 1;
			munmap(p, o.size);
		}
		bt[b] = (double)(bench_now_ns(o.clock) - t0) / (double)batch;
	}
	bench_stats(bt, (int)nb, &st);
	return st.median;
}

static void __attribute__((noreturn)) child_main(struct nchild *c)
{
	struct nres r = { 0 };
	struct ncmd cmd;
	int fd = -1;

	r.err = child_setup(c->pins, c->max_pins, c->used, &fd);
	if (full_write(c->res, &r, sizeof(r)) || r.err)
		_exit(1);
	while (!full_read(c->cmd, &cmd, sizeof(cmd)) && cmd.op < NR_OPS) {
		struct vtop_info info;

		r.err = 0;
		r.ns = unrelated(cmd.op, cmd.iterations, cmd.batch, &r.err);
		/* The unrelated work must not have touched any pin. */
		if (!r.err)
			r.err = vtop_info(fd, &info);
		if (!r.err && (info.nr_pins != c->pins ||
			       info.nr_invalidated || info.nr_queued_events))
			r.err = -EIO;
		if (full_write(c->res, &r, sizeof(r)))
			_exit(1);
	}
	_exit(0);
}

static int child_start(struct nchild *c)
{
	int cp[2], rp[2];
	struct nres r;
	int err;

	if (pipe2(cp, O_CLOEXEC) || pipe2(rp, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (!c->pid) {
		close(cp[1]);
		close(rp[0]);
		c->cmd = cp[0];
		c->res = rp[1];
		child_main(c);
	}
	close(cp[0]);
	close(rp[1]);
	c->cmd = cp[1];
	c->res = rp[0];
	err = full_read(c->res, &r, sizeof(r));
	return err ? err : r.err;
}

static int child_sample(struct nchild *c, uint32_t op, uint64_t iters,
			uint64_t batch, double *ns)
{
	struct ncmd cmd = { .op = op, .iterations = iters, .batch = batch };
	struct nres r;
	int err;

	err = full_write(c->cmd, &cmd, sizeof(cmd));
	if (!err)
		err = full_read(c->res, &r, sizeof(r));
	if (!err)
		err = r.err;
	*ns = r.ns;
	return err;
}

static void child_stop(struct nchild *c)
{
	struct ncmd cmd = { .op = NR_OPS };
	int st;

	if (c->pid <= 0)
		return;
	full_write(c->cmd, &cmd, sizeof(cmd));
	close(c->cmd);
	close(c->res);
	waitpid(c->pid, &st, 0);
	c->pid = 0;
}

static int run_notifier(void)
{
	struct nchild ch[MAX_PINS_CASES + 1];
	static double t[NR_OPS][MAX_PINS_CASES + 1][MAX_REPEATS];
	double v[MAX_REPEATS];
	uint64_t iters[NR_OPS] = { 0 }, batch[NR_OPS] = { 0 }, max_pins = 0;
	int n = 0, err = 0;
	char szs[32];

	for (int i = 0; i < o.nr_pins; i++)
		if (o.pins[i] > max_pins)
			max_pins = o.pins[i];
	/* The baseline (0 pins, never pinned) first, then "0+used". */
	memset(ch, 0, sizeof(ch));
	ch[n].pins = 0;
	snprintf(ch[n].label, sizeof(ch[n].label), "pins=0");
	n++;
	if (!o.no_used) {
		ch[n].pins = 0;
		ch[n].used = true;
		snprintf(ch[n].label, sizeof(ch[n].label), "pins=0+used");
		n++;
	}
	for (int i = 0; i < o.nr_pins; i++) {
		if (!o.pins[i])
			continue;
		ch[n].pins = o.pins[i];
		snprintf(ch[n].label, sizeof(ch[n].label), "pins=%" PRIu64,
			 o.pins[i]);
		n++;
	}
	for (int i = 0; i < n; i++) {
		ch[i].max_pins = max_pins;
		err = child_start(&ch[i]);
		if (err) {
			bench_log("events: notifier: child with %s: %s%s\n",
				  ch[i].label, strerror(-err),
				  err == -EOPNOTSUPP ?
				  " (module without VTOP_FEATURE_EVENTS)" : "");
			goto out;
		}
	}
	/*
	 * A warm-up sample per child and operation; then the operations per
	 * sample: --iterations, or calibrated on the baseline child to
	 * --min-time; timed in batches of about --batch-us (at least one
	 * operation).
	 */
	for (int i = 0; i < n && !err; i++)
		for (int op = 0; op < NR_OPS && !err; op++)
			err = child_sample(&ch[i], (uint32_t)op, 4, 1, &v[0]);
	for (int op = 0; op < NR_OPS && !err; op++) {
		uint64_t k = 4;
		double ns = 0;

		for (; !err; k *= 4) {
			err = child_sample(&ch[0], (uint32_t)op, k, 1, &ns);
			if (ns * (double)k >= 1e7 || k >= (1ULL << 20))
				break;
		}
		batch[op] = ns > 0 ? (uint64_t)(o.batch_us * 1e3 / ns) : 1;
		if (!batch[op])
			batch[op] = 1;
		iters[op] = o.iterations;
		if (!iters[op])
			iters[op] = ns > 0 ?
				    (uint64_t)(o.n_min_time_ms * 1e6 / ns) : k;
		if (iters[op] < batch[op])
			iters[op] = batch[op];
		if (iters[op] / batch[op] > MAX_BATCHES)
			batch[op] = iters[op] / MAX_BATCHES + 1;
	}
	bench_log("events: notifier: mmap+touch+munmap (x%" PRIu64 " in "
		  "batches of %" PRIu64 ") and mmap+munmap (x%" PRIu64 " in "
		  "batches of %" PRIu64 ") of %s outside any pin per "
		  "sample, %" PRIu64 " repeats, %s clock, %" PRIu64
		  " pages mapped for pins in every child\n", iters[OP_TOUCH],
		  batch[OP_TOUCH], iters[OP_NOTOUCH], batch[OP_NOTOUCH],
		  bench_size_str(o.size, szs, sizeof(szs)),
		  o.n_repeats,
		  o.clock == BENCH_CLOCK_CPU ? "thread-CPU" : "wall",
		  max_pins);
	for (uint64_t r = 0; r < o.n_repeats && !err; r++) {
		for (int k = 0; k < n && !err; k++) {
			int i = (int)((r + (uint64_t)k) % (uint64_t)n);

			for (int q = 0; q < NR_OPS && !err; q++) {
				int op = (int)((r + (uint64_t)q) % NR_OPS);

				err = child_sample(&ch[i], (uint32_t)op,
						   iters[op], batch[op],
						   &t[op][i][r]);
			}
		}
	}
	if (err) {
		bench_log("events: notifier: sample failed: %s%s\n",
			  strerror(-err), err == -EIO ?
			  " (pin count changed or an event was queued)" : "");
		goto out;
	}
	for (int op = 0; op < NR_OPS; op++) {
		char cas[64];

		for (int i = 0; i < n; i++) {
			memcpy(v, t[op][i], o.n_repeats * sizeof(*v));
			row(op_names[op], "4k", o.size, ch[i].label, "ns/op", v,
			    (int)o.n_repeats);
		}
		snprintf(cas, sizeof(cas), "%s/0", op_names[op]);
		for (int i = 1; i < n; i++) {
			for (uint64_t r = 0; r < o.n_repeats; r++)
				v[r] = t[op][i][r] / t[op][0][r];
			row(cas, "4k", o.size, ch[i].label, "ratio", v,
			    (int)o.n_repeats);
		}
		bench_log("  %-16s", op_names[op]);
		for (int i = 0; i < n; i++) {
			struct bench_stats st;

			memcpy(v, t[op][i], o.n_repeats * sizeof(*v));
			bench_stats(v, (int)o.n_repeats, &st);
			bench_log("  %s %.0f ns", ch[i].label, st.median);
		}
		bench_log("\n");
	}
out:
	for (int i = 0; i < n; i++)
		child_stop(&ch[i]);
	return err;
}

#if HAVE_LIB_EVENTS
/* ---- latency: munmap to the INVALIDATE callback ------------------------- */

enum lat_mode { LAT_EPOLL, LAT_THREAD, LAT_INLINE, NR_LAT };

static const char *const lat_names[NR_LAT] = {
	[LAT_EPOLL] = "latency_epoll",
	[LAT_THREAD] = "latency_thread",
	[LAT_INLINE] = "latency_inline",
};

struct lat_ctx {
	void *_Atomic expect;
	_Atomic uint64_t t_cb;
	atomic_uint invalidations;
	atomic_uint unregisters;
	atomic_uint wrong;
	sem_t done;
};

static struct lat_ctx lc;

static int lat_cb(void *ctx, struct vtop_mem_map *map,
		  enum vtop_mem_map_notify_action action, void *vaddr,
		  size_t size)
{
	uint64_t t = bench_now_ns(BENCH_CLOCK_WALL);
	struct lat_ctx *c = ctx;

	(void)map;
	switch (action) {
	case VTOP_MEM_MAP_NOTIFY_REGISTER:
		break;
	case VTOP_MEM_MAP_NOTIFY_INVALIDATE:
		if (vaddr != atomic_load(&c->expect) || size != o.lat_size)
			atomic_fetch_add(&c->wrong, 1);
		atomic_store(&c->t_cb, t);
		atomic_fetch_add(&c->invalidations, 1);
		sem_post(&c->done);
		break;
	default:
		atomic_fetch_add(&c->unregisters, 1);
		break;
	}
	return 0;
}

struct epoll_loop {
	pthread_t tid;
	int evfd;		/* the library's event descriptor */
	int stopfd;		/* an eventfd: stop the loop */
	int err;
};

static void *epoll_main(void *arg)
{
	struct epoll_loop *l = arg;
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		l->err = -errno;
		return NULL;
	}
	ev.data.fd = l->evfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l->evfd, &ev)) {
		l->err = -errno;
		close(ep);
		return NULL;
	}
	ev.data.fd = l->stopfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, l->stopfd, &ev);
	for (;;) {
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			l->err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == l->stopfd) {
				close(ep);
				return NULL;
			}
		}
		if (n > 0) {
			int rc = vtop_mem_process_events();

			if (rc < 0) {
				l->err = rc;
				break;
			}
		}
	}
	close(ep);
	return NULL;
}

static int wait_done(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	while (sem_timedwait(&lc.done, &ts)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * One event: fills *lat (munmap start to callback), *unmap (the munmap
 * call) and *after (callback minus munmap return: negative when the
 * callback ran before munmap returned), in µs.
 */
static int lat_one(enum lat_mode m, double *lat, double *unmap, double *after)
{
	uint64_t t0, t1;
	char *buf;
	int err;

	buf = mmap(NULL, o.lat_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -errno;
	madvise(buf, o.lat_size, MADV_NOHUGEPAGE);
	for (uint64_t off = 0; off < o.lat_size; off += SZ_4K)
		buf[off] = 1;
	err = vtop_mem_register(buf, o.lat_size);
	if (err) {
		munmap(buf, o.lat_size);
		return err;
	}
	if (vtop_vtophys(buf, NULL) == VTOP_VTOPHYS_ERROR)
		return -EIO;
	atomic_store(&lc.expect, buf);
	t0 = bench_now_ns(BENCH_CLOCK_WALL);
	munmap(buf, o.lat_size);
	t1 = bench_now_ns(BENCH_CLOCK_WALL);
	if (m == LAT_INLINE) {
		err = vtop_mem_process_events();
		if (err != 1)
			return err < 0 ? err : -EIO;
	}
	err = wait_done();
	if (err)
		return err;
	*lat = (double)(atomic_load(&lc.t_cb) - t0) / 1e3;
	*unmap = (double)(t1 - t0) / 1e3;
	*after = ((double)atomic_load(&lc.t_cb) - (double)t1) / 1e3;
	/* Invalidated and processed: the exported call must refuse it. */
	if (vtop_vtophys(buf, NULL) != VTOP_VTOPHYS_ERROR)
		return -EIO;
	return 0;
}

static int run_latency_mode(enum lat_mode m)
{
	static double lat[MAX_EVENTS], unmap[MAX_EVENTS], after[MAX_EVENTS];
	struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;
	struct vtop_mem_map_ops ops = {
		.notify_cb = lat_cb,
		.size = sizeof(ops),
	};
	struct epoll_loop loop = { .evfd = -1, .stopfd = -1 };
	struct vtop_mem_map *map = NULL;
	unsigned int expect;
	bool thread = false;
	int err, warm = 3;

	eo.backend = VTOP_BACKEND_KMOD;
	if (m == LAT_THREAD)
		eo.flags = VTOP_ENV_EVENT_THREAD;
	vtop_env_fini();
	err = vtop_env_init(&eo);
	if (err) {
		bench_log("events: %s: vtop_env_init: %s (%s)\n", lat_names[m],
			  strerror(-err), vtop_last_error());
		return err;
	}
	atomic_store(&lc.invalidations, 0);
	atomic_store(&lc.unregisters, 0);
	atomic_store(&lc.wrong, 0);
	map = vtop_mem_map_alloc(VTOP_VTOPHYS_ERROR, &ops, &lc);
	if (!map) {
		err = -errno;
		bench_log("events: vtop_mem_map_alloc: %s\n", vtop_last_error());
		goto out;
	}
	if (m == LAT_EPOLL) {
		loop.evfd = vtop_env_get_event_fd();
		if (loop.evfd < 0) {
			err = loop.evfd;
			bench_log("events: vtop_env_get_event_fd: %s\n",
				  vtop_last_error());
			goto out;
		}
		loop.stopfd = eventfd(0, EFD_CLOEXEC);
		if (loop.stopfd < 0) {
			err = -errno;
			goto out;
		}
		err = -pthread_create(&loop.tid, NULL, epoll_main, &loop);
		if (err)
			goto out;
		thread = true;
	}
	for (uint64_t i = 0; i < o.events + (uint64_t)warm; i++) {
		double l = 0, u = 0, a = 0;

		err = lat_one(m, &l, &u, &a);
		if (err) {
			bench_log("events: %s: event %" PRIu64 ": %s (%s)\n",
				  lat_names[m], i, strerror(-err),
				  vtop_last_error());
			goto out;
		}
		if (i >= (uint64_t)warm) {
			lat[i - warm] = l;
			unmap[i - warm] = u;
			after[i - warm] = a;
		}
	}
	expect = (unsigned int)o.events + (unsigned int)warm;
	if (atomic_load(&lc.invalidations) != expect ||
	    atomic_load(&lc.unregisters) || atomic_load(&lc.wrong)) {
		bench_log("events: %s: %u invalidations (expected %u), %u "
			  "unregisters, %u with a wrong range\n", lat_names[m],
			  atomic_load(&lc.invalidations), expect,
			  atomic_load(&lc.unregisters),
			  atomic_load(&lc.wrong));
		err = -EIO;
		goto out;
	}
	row(lat_names[m], "4k", o.lat_size, "munmap-to-callback", "us", lat,
	    (int)o.events);
	row("munmap", "4k", o.lat_size, lat_names[m] + 8, "us", unmap,
	    (int)o.events);
	row(lat_names[m], "4k", o.lat_size, "munmap-return-to-callback", "us",
	    after, (int)o.events);
	bench_log("  %-16s median %.1f µs (munmap itself %.1f µs)\n",
		  lat_names[m], lat[o.events / 2], unmap[o.events / 2]);
out:
	if (thread) {
		uint64_t one = 1;

		if (write(loop.stopfd, &one, sizeof(one)) != sizeof(one))
			err = err ? err : -errno;
		pthread_join(loop.tid, NULL);
		if (loop.err && !err) {
			bench_log("events: epoll loop: %s\n",
				  strerror(-loop.err));
			err = loop.err;
		}
	}
	if (loop.stopfd >= 0)
		close(loop.stopfd);
	if (map)
		vtop_mem_map_free(&map);
	vtop_env_fini();
	return err;
}

static int run_latency(void)
{
	char szs[32];
	int fails = 0, err;

	if (sem_init(&lc.done, 0, 0))
		return -errno;
	bench_log("events: latency: munmap of %s registered to the "
		  "INVALIDATE callback, %" PRIu64 " events per mode\n",
		  bench_size_str(o.lat_size, szs, sizeof(szs)), o.events);
	for (int m = 0; m < NR_LAT; m++) {
		err = run_latency_mode((enum lat_mode)m);
		if (err == -EOPNOTSUPP && m == LAT_THREAD)
			bench_log("events: no event thread in this library: "
				  "skipped\n");
		else if (err)
			fails++;
	}
	return fails ? -EIO : 0;
}

/* ---- check: the cost of "anything new?" on the exported path ------------ */

/* The library's check, copied: see vtop_ev_pending() in libvtop. */
static struct {
	const struct vtop_event_page *_Atomic page;
	_Atomic uint64_t seen;
	const struct vtop_mem_map *_Atomic map;
} ev __attribute__((aligned(64)));

static const struct vtop_event_page static_page = {
	.size = sizeof(struct vtop_event_page), .version = 1,
};

static inline bool ev_pending(void)
{
	const struct vtop_event_page *pg =
		atomic_load_explicit(&ev.page, memory_order_relaxed);

	return __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE) !=
	       atomic_load_explicit(&ev.seen, memory_order_relaxed);
}

/* The library's slow path: never taken here (nothing is unmapped). */
static __attribute__((noinline, noipa)) int ev_sync(void)
{
	return -EIO;
}

/*
 * vtop_vtophys() as libvtop writes it, without the check and with it (the
 * slow path a call, as in the library: the compiler must keep the
 * arguments across it, which may cost the fast path a stack frame).
 */
static __attribute__((noinline, noipa)) uint64_t
vtophys_nocheck(const void *buf, uint64_t *size)
{
	const struct vtop_mem_map *map =
		atomic_load_explicit(&ev.map, memory_order_acquire);
	uint64_t va = (uintptr_t)buf, e;

	if (!map)
		return VTOP_VTOPHYS_ERROR;
	if (!size)
		return vtop_vtophys_lookup(map, buf);
	e = vtop_mem_map_translate(map, va, size);
	return e == VTOP_VTOPHYS_ERROR ? e : va + e;
}

static __attribute__((noinline, noipa)) uint64_t
vtophys_check(const void *buf, uint64_t *size)
{
	const struct vtop_mem_map *map =
		atomic_load_explicit(&ev.map, memory_order_acquire);
	uint64_t va = (uintptr_t)buf, e;

	if (!map)
		return VTOP_VTOPHYS_ERROR;
	if (__builtin_expect(ev_pending(), 0) && ev_sync())
		return VTOP_VTOPHYS_ERROR;
	if (!size)
		return vtop_vtophys_lookup(map, buf);
	e = vtop_mem_map_translate(map, va, size);
	return e == VTOP_VTOPHYS_ERROR ? e : va + e;
}

static uint64_t (*volatile vtophys_nocheck_ptr)(const void *, uint64_t *) =
	vtophys_nocheck;
static uint64_t (*volatile vtophys_check_ptr)(const void *, uint64_t *) =
	vtophys_check;

static const uint64_t *rnd;
static const struct vtop_mem_map *vtmap;

#define DEFINE_LOOP(name, decl, expr)					\
static uint64_t loop_##name(uint64_t n)				\
{									\
	const uint64_t *a = rnd;					\
	uint64_t acc = 0;						\
	decl;								\
									\
	for (uint64_t i = 0; i < n; i++) {				\
		const void *va = (const void *)(uintptr_t)		\
				 a[i & (NR_RAND - 1)];			\
									\
		acc += (expr);						\
	}								\
	return acc;							\
}

DEFINE_LOOP(vtophys, (void)0, vtop_vtophys(va, NULL))
DEFINE_LOOP(vtophys_nocheck, (void)0, vtophys_nocheck_ptr(va, NULL))
DEFINE_LOOP(vtophys_check, (void)0, vtophys_check_ptr(va, NULL))
DEFINE_LOOP(lookup, const struct vtop_mem_map *m = vtmap,
	    vtop_vtophys_lookup(m, va))
DEFINE_LOOP(lookup_check, const struct vtop_mem_map *m = vtmap,
	    __builtin_expect(ev_pending(), 0) ? VTOP_VTOPHYS_ERROR :
	    vtop_vtophys_lookup(m, va))

enum { C_VTOPHYS, C_NOCHECK, C_CHECK, C_LOOKUP, C_LOOKUP_CHECK, NR_C };

static const struct {
	const char *name;
	uint64_t (*fn)(uint64_t n);
} check_loops[NR_C] = {
	[C_VTOPHYS] = { "vtophys", loop_vtophys },
	[C_NOCHECK] = { "vtophys_nocheck", loop_vtophys_nocheck },
	[C_CHECK] = { "vtophys_check", loop_vtophys_check },
	[C_LOOKUP] = { "lookup", loop_lookup },
	[C_LOOKUP_CHECK] = { "lookup_check", loop_lookup_check },
};

static int run_check(void)
{
	static double t[NR_C][MAX_REPEATS];
	struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;
	const struct vtop_event_page *page = &static_page;
	bool guest = !strncmp(env, "guest", 5);
	void *mem = NULL, *pgmap = MAP_FAILED;
	uint64_t memlen = 0, n, t0, dt, seed = 2, seq0;
	double v[MAX_REPEATS];
	uint64_t *addrs = NULL;
	const char *be = o.backend ? o.backend : guest ? "kmod" : "pagemap";
	int fd = -1, err;
	char szs[32];

	bench_size_str(o.check_size, szs, sizeof(szs));
	err = bench_hugepages_reserve((long)(o.check_size / SZ_2M) + 1,
				      !o.no_hugepages);
	if (!err)
		err = bench_alloc_mem(BENCH_PAGE_HUGETLB, o.check_size, &mem,
				      &memlen);
	if (err) {
		/* As vtop-bench-translate: no hugepages (not root), no case. */
		bench_log("events: check: no %s of hugepages: %s: skipped\n",
			  szs, strerror(-err));
		return guest ? err : 0;
	}
	eo.backend = strcmp(be, "pagemap") ? VTOP_BACKEND_KMOD :
		     VTOP_BACKEND_PAGEMAP;
	vtop_env_fini();
	err = vtop_env_init(&eo);
	if (!err)
		err = vtop_mem_register(mem, o.check_size);
	if (err) {
		bench_log("events: check: %s backend: registering %s: %s (%s)\n",
			  be, szs, strerror(-err), vtop_last_error());
		goto out;
	}
	vtmap = vtop_vtophys_map();
	if (!vtmap) {
		err = -errno;
		goto out;
	}
	if (eo.backend == VTOP_BACKEND_KMOD) {
		/* This process's own event page, as the library maps its. */
		fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			pgmap = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE),
				     PROT_READ, MAP_SHARED, fd, 0);
		if (pgmap == MAP_FAILED) {
			err = -errno;
			bench_log("events: check: event page: %s\n",
				  strerror(-err));
			goto out;
		}
		page = pgmap;
	}
	atomic_store(&ev.page, page);
	atomic_store(&ev.seen, __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE));
	atomic_store(&ev.map, vtmap);
	seq0 = atomic_load(&ev.seen);

	addrs = malloc(NR_RAND * sizeof(*addrs));
	if (!addrs) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < NR_RAND; i++)
		addrs[i] = (uint64_t)(uintptr_t)mem +
			   bench_rand(&seed) % o.check_size;
	rnd = addrs;
	/* Every path must give the same, valid answer. */
	for (unsigned int i = 0; i < 4096; i++) {
		const void *va = (const void *)(uintptr_t)addrs[i];
		uint64_t a = vtop_vtophys(va, NULL);

		if (a == VTOP_VTOPHYS_ERROR || a != vtophys_nocheck(va, NULL) ||
		    a != vtophys_check(va, NULL) ||
		    a != vtop_vtophys_lookup(vtmap, va)) {
			bench_log("events: check: answers differ at %p\n", va);
			err = -EIO;
			goto out;
		}
	}
	/* Calibrate on the copy without check, then the same n for all. */
	for (n = 1024;; n *= 4) {
		t0 = bench_now_ns(o.clock);
		bench_keep(loop_vtophys_nocheck(n));
		dt = bench_now_ns(o.clock) - t0;
		if (dt >= o.min_time_ms * 1000000ULL / 8 || n >= (1ULL << 36))
			break;
	}
	n = dt ? n * (o.min_time_ms * 1000000ULL) / dt : n;
	n = n ? n : 1;
	bench_log("events: check: %s backend, %s of hugetlb, %" PRIu64
		  " random lookups per sample, %" PRIu64 " repeats, %s clock, "
		  "%s event page\n", be, szs, n, o.repeats,
		  o.clock == BENCH_CLOCK_CPU ? "thread-CPU" : "wall",
		  page == &static_page ? "a static" : "the fd's");
	for (int c = 0; c < NR_C; c++)
		bench_keep(check_loops[c].fn(n / 8 + 1));
	for (uint64_t r = 0; r < o.repeats; r++) {
		for (int k = 0; k < NR_C; k++) {
			int c = (int)((r + (uint64_t)k) % NR_C);

			t0 = bench_now_ns(o.clock);
			bench_keep(check_loops[c].fn(n));
			dt = bench_now_ns(o.clock) - t0;
			t[c][r] = (double)dt / (double)n;
		}
	}
	if (__atomic_load_n(&page->seq, __ATOMIC_ACQUIRE) != seq0) {
		bench_log("events: check: the event page moved while timing\n");
		err = -EIO;
		goto out;
	}
	for (int c = 0; c < NR_C; c++) {
		memcpy(v, t[c], o.repeats * sizeof(*v));
		row(check_loops[c].name, "hugetlb", o.check_size, "random",
		    "ns/lookup", v, (int)o.repeats);
	}
	{
		static const struct { const char *name; int a, b; } d[] = {
			{ "check_call", C_CHECK, C_NOCHECK },
			{ "check_inline", C_LOOKUP_CHECK, C_LOOKUP },
			{ "check_exported", C_VTOPHYS, C_NOCHECK },
		};

		for (unsigned int i = 0; i < sizeof(d) / sizeof(*d); i++) {
			struct bench_stats st;

			for (uint64_t r = 0; r < o.repeats; r++)
				v[r] = t[d[i].a][r] - t[d[i].b][r];
			row(d[i].name, "hugetlb", o.check_size, "added",
			    "ns/lookup", v, (int)o.repeats);
			bench_stats(v, (int)o.repeats, &st);
			bench_log("  %-16s %+.2f ns (p10 %+.2f, p90 %+.2f)\n",
				  d[i].name, st.median, st.p10, st.p90);
		}
	}
out:
	if (!err)
		err = vtop_mem_unregister(mem, o.check_size);
	atomic_store(&ev.map, NULL);
	atomic_store(&ev.page, &static_page);
	if (pgmap != MAP_FAILED)
		munmap(pgmap, (size_t)sysconf(_SC_PAGESIZE));
	if (fd >= 0)
		close(fd);
	vtop_env_fini();
	free(addrs);
	bench_free_mem(mem, memlen);
	bench_hugepages_restore();
	return err;
}
#endif /* HAVE_LIB_EVENTS */

/* ---- options ------------------------------------------------------------ */

static int parse_pins(char *arg)
{
	o.nr_pins = 0;
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		if (o.nr_pins == MAX_PINS_CASES ||
		    bench_parse_uint(t, 0, 60000, &o.pins[o.nr_pins]))
			return -EINVAL;
		o.nr_pins++;
	}
	return o.nr_pins ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vtop-bench-events [options]\n"
"  -c, --cases LIST       comma list of notifier,latency,check (default all;\n"
"                         latency and check need a libvtop with events)\n"
"  -P, --pins LIST        live pins of the notifier case (default\n"
"                         0,100,10000; 0 is always measured: the baseline)\n"
"      --no-used          skip the \"0+used\" notifier case\n"
"  -s, --size SIZE        unrelated memory per mmap (default 64K)\n"
"  -i, --iterations N     mmap/munmap per notifier sample (default:\n"
"                         calibrated to --min-time)\n"
"      --batch-us US      notifier: operations per timed batch, about US\n"
"                         (default 200); a sample is the median batch\n"
"  -r, --repeats N        repeats of notifier and check (default 101 and 21)\n"
"  -n, --events N         events per latency mode (default 200)\n"
"      --lat-size SIZE    registered buffer of the latency case (default 64K)\n"
"      --check-size SIZE  hugetlb memory of the check case (default 64M)\n"
"  -t, --min-time MS      notifier and check: time per sample (default 20\n"
"                         and 100)\n"
"      --clock cpu|wall   notifier and check clock (default cpu: thread\n"
"                         CPU time); latency is always wall time\n"
"      --backend pagemap|kmod  check backend (default: kmod in the guest,\n"
"                         pagemap on the host)\n"
"      --no-hugepages     do not grow the hugetlb pool\n"
"      --env host|guest   label of the rows (default: detected)\n"
"Prints CSV rows (" BENCH_CSV_HEADER ") on stdout.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cases", required_argument, NULL, 'c' },
		{ "pins", required_argument, NULL, 'P' },
		{ "no-used", no_argument, NULL, 'U' },
		{ "size", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "batch-us", required_argument, NULL, 'B' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'n' },
		{ "lat-size", required_argument, NULL, 'L' },
		{ "check-size", required_argument, NULL, 'S' },
		{ "min-time", required_argument, NULL, 't' },
		{ "clock", required_argument, NULL, 'C' },
		{ "backend", required_argument, NULL, 'b' },
		{ "no-hugepages", no_argument, NULL, 'H' },
		{ "env", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char defpins[] = "0,100,10000";
	int c, err = 0, fails = 0;

	parse_pins(defpins);
	while ((c = getopt_long(argc, argv, "c:P:s:i:r:n:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.cases = optarg;
			break;
		case 'P':
			err = parse_pins(optarg);
			break;
		case 'U':
			o.no_used = true;
			break;
		case 's':
			err = bench_parse_size(optarg, &o.size);
			if (!err && (!o.size || o.size % SZ_4K))
				err = -EINVAL;
			break;
		case 'i':
			err = bench_parse_uint(optarg, 1, 1ULL << 30,
					       &o.iterations);
			break;
		case 'B':
			err = bench_parse_uint(optarg, 1, 1000000, &o.batch_us);
			break;
		case 'r':
			err = bench_parse_uint(optarg, 1, MAX_REPEATS,
					       &o.repeats);
			o.n_repeats = o.repeats;
			break;
		case 'n':
			err = bench_parse_uint(optarg, 1, MAX_EVENTS, &o.events);
			break;
		case 'L':
			err = bench_parse_size(optarg, &o.lat_size);
			if (!err && (!o.lat_size || o.lat_size % SZ_4K))
				err = -EINVAL;
			break;
		case 'S':
			err = bench_parse_size(optarg, &o.check_size);
			if (!err && (!o.check_size || o.check_size % SZ_2M))
				err = -EINVAL;
			break;
		case 't':
			err = bench_parse_uint(optarg, 1, 60000,
					       &o.min_time_ms);
			o.n_min_time_ms = o.min_time_ms;
			break;
		case 'C':
			err = bench_parse_clock(optarg, &o.clock);
			break;
		case 'b':
			if (strcmp(optarg, "pagemap") && strcmp(optarg, "kmod"))
				err = -EINVAL;
			o.backend = optarg;
			break;
		case 'H':
			o.no_hugepages = true;
			break;
		case 'e':
			o.env = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (err) {
			bench_log("vtop-bench-events: bad value for -%c: %s\n",
				  c, optarg);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	env = bench_env(o.env);
	signal(SIGPIPE, SIG_IGN);
	bench_log("vtop-bench-events: %s\n", env);
	bench_csv_header();
	if (want("notifier") && run_notifier())
		fails++;
#if HAVE_LIB_EVENTS
	if (want("latency") && run_latency())
		fails++;
	if (want("check") && run_check())
		fails++;
#else
	if (o.cases && (want("latency") || want("check"))) {
		bench_log("events: latency and check need a libvtop with "
			  "events (0.3)\n");
		fails++;
	}
#endif
	return fails ? 1 : 0;
}
