// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrent ioctls on one fd: threads pinning, re-reading and unpinning
 * their own ranges (and overlapping ones) while another reads INFO; racing
 * UNPINs of one handle (exactly one wins, the others get -ENOENT); close()
 * while other threads are inside ioctls. Every counter balances after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define NTHREADS	4
#define ITERS		150
#define TPAGES		16	/* pages per thread */
#define TLEN		(TPAGES * VT_PAGE_SIZE)

struct worker {
	pthread_t tid;
	int fd;
	char *mem;		/* this thread's TPAGES */
	char *shared;		/* pages every thread pins too */
	unsigned int seed;
	int errors;
	int last_err;
	const char *what;
	atomic_int *stop;
};

static void note(struct worker *w, const char *what, int err)
{
	if (!w->errors) {
		w->what = what;
		w->last_err = err;
	}
	w->errors++;
}

/* pin, re-read, compare, unpin; keep up to 4 pins live at once */
static void *pinner(void *arg)
{
	struct vtop_segment segs[TPAGES], again[TPAGES];
	struct worker *w = arg;
	uint64_t live[4] = { 0 };
	uint32_t nr, n;
	int i, ret, slot;

	for (i = 0; i < ITERS; i++) {
		unsigned int first = rand_r(&w->seed) % TPAGES;
		unsigned int cnt = 1 + rand_r(&w->seed) % (TPAGES - first);
		char *base = (i % 3 == 2) ? w->shared : w->mem;
		uint32_t flags = (i & 1) ? VTOP_PIN_READONLY : 0;

		slot = i % 4;
		if (live[slot]) {
			ret = vt_unpin(w->fd, live[slot]);
			if (ret)
				note(w, "UNPIN", ret);
			live[slot] = 0;
		}
		nr = TPAGES;
		ret = vt_pin(w->fd, base + first * VT_PAGE_SIZE,
			     cnt * VT_PAGE_SIZE, flags, segs, &nr, &live[slot]);
		if (ret) {
			note(w, "PIN", ret);
			live[slot] = 0;
			continue;
		}
		n = TPAGES;
		ret = vt_get_segs(w->fd, live[slot], 0, 0, again, &n);
		if (ret)
			note(w, "GET_SEGS", ret);
		else if (n != nr || memcmp(segs, again, nr * sizeof(*segs)))
			note(w, "GET_SEGS differs from PIN", -EINVAL);
		if (segs[0].vaddr != (uintptr_t)base + first * VT_PAGE_SIZE)
			note(w, "PIN segment vaddr", -EINVAL);
	}
	for (slot = 0; slot < 4; slot++) {
		if (!live[slot])
			continue;
		ret = vt_unpin(w->fd, live[slot]);
		if (ret)
			note(w, "final UNPIN", ret);
	}
	return NULL;
}

static void *info_reader(void *arg)
{
	struct worker *w = arg;
	struct vtop_info info;
	int ret;

	while (!atomic_load(w->stop)) {
		ret = vt_info(w->fd, &info);
		if (ret)
			note(w, "INFO", ret);
		else if (info.nr_pins > NTHREADS * 4 + 1)
			note(w, "INFO nr_pins out of range", -ERANGE);
	}
	return NULL;
}

TEST(threads_on_one_fd)
{
	struct worker w[NTHREADS + 1];
	struct vt_snap base, now;
	struct vtop_info info;
	atomic_int stop = 0;
	char *mem, *shared;
	int fd, i;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	mem = mmap(NULL, NTHREADS * TLEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	shared = mmap(NULL, TLEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_NE(MAP_FAILED, shared);

	memset(w, 0, sizeof(w));
	for (i = 0; i <= NTHREADS; i++) {
		w[i].fd = fd;
		w[i].mem = mem + i * TLEN;
		w[i].shared = shared;
		w[i].seed = 1234 + i;
		w[i].stop = &stop;
	}
	ASSERT_EQ(0, pthread_create(&w[NTHREADS].tid, NULL, info_reader,
				    &w[NTHREADS]));
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, pinner, &w[i]));
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(w[i].tid, NULL));
	atomic_store(&stop, 1);
	ASSERT_EQ(0, pthread_join(w[NTHREADS].tid, NULL));

	for (i = 0; i <= NTHREADS; i++) {
		struct worker *t = &w[i];

		if (t->errors)
			TH_LOG("thread %d: %d errors, first %s: %s", i,
			       t->errors, t->what, strerror(-t->last_err));
		EXPECT_EQ(0, t->errors);
	}
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(0U, info.nr_pins);
	EXPECT_EQ(0ULL, info.pinned_bytes);
	ASSERT_EQ(0, vt_snap(&now));
	VT_EXPECT_SNAP(base, now);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(mem, NTHREADS * TLEN);
	munmap(shared, TLEN);
}

struct racer {
	pthread_t tid;
	int fd;
	pthread_barrier_t *go;
	uint64_t *handle;
	int ret;
	int rounds;
	int *results;		/* per round */
};

static void *unpin_racer(void *arg)
{
	struct racer *r = arg;
	int i;

	for (i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(r->go);	/* handle is ready */
		r->results[i] = vt_unpin(r->fd, *r->handle);
		pthread_barrier_wait(r->go);	/* all done */
	}
	return NULL;
}

/* NTHREADS UNPIN one handle at once: one 0, the rest -ENOENT */
TEST(racing_unpins)
{
	const int rounds = 100;
	struct racer r[NTHREADS];
	struct vtop_segment segs[4];
	pthread_barrier_t go;
	struct vt_snap base;
	uint64_t handle = 0;
	struct vtop_info info;
	int fd, i, k, wins, enoent;
	char *mem;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	mem = mmap(NULL, 4 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, NTHREADS + 1));
	for (i = 0; i < NTHREADS; i++) {
		r[i].fd = fd;
		r[i].go = &go;
		r[i].handle = &handle;
		r[i].rounds = rounds;
		r[i].results = calloc(rounds, sizeof(int));
		ASSERT_NE(NULL, r[i].results);
		ASSERT_EQ(0, pthread_create(&r[i].tid, NULL, unpin_racer,
					    &r[i]));
	}
	for (k = 0; k < rounds; k++) {
		uint32_t nr = 4;

		ASSERT_EQ(0, vt_pin(fd, mem, 4 * VT_PAGE_SIZE, 0, segs, &nr,
				    &handle));
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&go);
	}
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(r[i].tid, NULL));
	for (k = 0; k < rounds; k++) {
		wins = enoent = 0;
		for (i = 0; i < NTHREADS; i++) {
			wins += r[i].results[k] == 0;
			enoent += r[i].results[k] == -ENOENT;
		}
		EXPECT_EQ(1, wins) TH_LOG("round %d", k);
		EXPECT_EQ(NTHREADS - 1, enoent) TH_LOG("round %d", k);
	}
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(0U, info.nr_pins);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	for (i = 0; i < NTHREADS; i++)
		free(r[i].results);
	pthread_barrier_destroy(&go);
	munmap(mem, 4 * VT_PAGE_SIZE);
}

struct closer_arg {
	int fd;
	char *mem;
	atomic_int *started;
	int bad;		/* calls that failed other than -EBADF */
	int last;
};

static void *pin_until_closed(void *arg)
{
	struct closer_arg *c = arg;
	struct vtop_segment segs[TPAGES];
	uint64_t h;
	uint32_t nr;
	int ret;

	for (;;) {
		nr = TPAGES;
		ret = vt_pin(c->fd, c->mem, TLEN, 0, segs, &nr, &h);
		atomic_fetch_add(c->started, 1);
		if (ret == -EBADF)
			return NULL;
		if (ret) {
			c->bad++;
			c->last = ret;
			continue;
		}
		/* every other pin stays for close() to release */
		if (atomic_load(c->started) & 1)
			continue;
		ret = vt_unpin(c->fd, h);
		if (ret == -EBADF)
			return NULL;
		if (ret) {
			c->bad++;
			c->last = ret;
		}
	}
}

/*
 * close() while other threads pin on the fd: in-flight calls finish, later
 * ones get -EBADF, and the release frees every pin, however they were made.
 */
TEST(close_during_ioctls)
{
	struct closer_arg c[NTHREADS];
	pthread_t tid[NTHREADS];
	atomic_int started = 0;
	struct vt_snap base;
	char *mem;
	int fd, i, round;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	close(fd);
	mem = mmap(NULL, NTHREADS * TLEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (round = 0; round < 10; round++) {
		fd = vt_open();
		ASSERT_LE(0, fd);
		atomic_store(&started, 0);
		for (i = 0; i < NTHREADS; i++) {
			c[i] = (struct closer_arg){
				.fd = fd, .mem = mem + i * TLEN,
				.started = &started,
			};
			ASSERT_EQ(0, pthread_create(&tid[i], NULL,
						    pin_until_closed, &c[i]));
		}
		while (atomic_load(&started) < 4 + 4 * round)
			usleep(100);
		ASSERT_EQ(0, close(fd));
		for (i = 0; i < NTHREADS; i++) {
			ASSERT_EQ(0, pthread_join(tid[i], NULL));
			EXPECT_EQ(0, c[i].bad)
				TH_LOG("round %d thread %d: %s", round, i,
				       strerror(-c[i].last));
		}
		VT_EXPECT_NO_LEAK(base);
	}
	munmap(mem, NTHREADS * TLEN);
}

/* many small pins on one fd, all released by close() */
TEST(many_pins_then_close)
{
	const int npins = 2000;
	struct vtop_segment seg;
	struct vt_snap base, now;
	struct vtop_info info;
	uint32_t nr;
	char *mem;
	int fd, i;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	mem = mmap(NULL, 64 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (i = 0; i < npins; i++) {
		nr = 1;
		ASSERT_EQ(0, vt_pin(fd, mem + (i % 64) * VT_PAGE_SIZE,
				    VT_PAGE_SIZE, 0, &seg, &nr, NULL))
			TH_LOG("pin %d", i);
	}
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ((uint32_t)npins, info.nr_pins);
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(base.foll_pins + npins, now.foll_pins);
	EXPECT_EQ(base.vmpin_kb + npins * VT_PAGE_SIZE / 1024, now.vmpin_kb);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(mem, 64 * VT_PAGE_SIZE);
}

TEST_HARNESS_MAIN
