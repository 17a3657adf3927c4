// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop and fork() against the module (issue 10): the child's
 * translations fail (its copy of a buffer lives in other frames), its
 * unregister is -ECHILD and runs no callback, fini/init gives it its own
 * environment, a fork while another thread holds the registration lock
 * does not deadlock, the parent's pins do not outlive the parent in a
 * child, and VTOP_ENV_DONTFORK keeps registered memory out of the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG	4096UL

#define LV_INIT_OR_SKIP(fl) do { \
	struct vtop_env_opts __o = VTOP_ENV_OPTS_INIT; \
	int __rc; \
	__o.flags = (fl); \
	__rc = vtop_env_init(&__o); \
	if (__rc == -ENOENT && access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
	ASSERT_EQ(0, __rc) TH_LOG("vtop_env_init: %s", vtop_last_error()); \
} while (0)

static int calls;
static int sleep_in_register_ms;
static volatile sig_atomic_t in_register;

static int count_cb(void *ctx, struct vtop_mem_map *map,
		    enum vtop_mem_map_notify_action action, void *vaddr,
		    size_t len)
{
	(void)ctx;
	(void)map;
	(void)vaddr;
	(void)len;
	calls++;
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER && sleep_in_register_ms) {
		struct timespec ts = { 0, sleep_in_register_ms * 1000000L };

		in_register = 1;
		nanosleep(&ts, NULL);
		in_register = 0;
	}
	return 0;
}

static struct vtop_mem_map *count_map(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = count_cb,
					.size = sizeof(ops) };

	return vtop_mem_map_alloc(0, &ops, NULL);
}

/* @buf's pages all translate to their pagemap frames: 0 or -errno */
static int vtophys_is_pagemap(const char *buf, size_t len)
{
	uint64_t pfn;
	size_t off;
	int rc;

	for (off = 0; off < len; off += PG) {
		rc = vt_pagemap_pfn((uintptr_t)buf + off, &pfn);
		if (rc)
			return rc;
		if (vtop_vtophys(buf + off, NULL) != pfn << 12)
			return -EINVAL;
	}
	return 0;
}

static int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	       128 + WTERMSIG(status);
}

/* Which check failed in a child: its exit status. */
#define CHILD_CHECK(n, cond) do { if (!(cond)) _exit(n); } while (0)

TEST(child_is_inherited)
{
	const struct vtop_mem_map *vm;
	struct vtop_mem_map *m;
	uint64_t parent_pa;
	struct vt_snap snap;
	char *buf, *own;
	uint32_t nseg;
	struct vtop_segment seg;
	pid_t pid;

	ASSERT_EQ(0, vt_snap(&snap));
	LV_INIT_OR_SKIP(0);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 8 * PG, (void **)&buf));
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&own));
	m = count_map();
	ASSERT_NE(NULL, m);
	vm = vtop_vtophys_map();
	ASSERT_NE(NULL, vm);
	ASSERT_EQ(0, vtop_mem_register(buf, 8 * PG));
	parent_pa = vtop_vtophys(buf, NULL);
	calls = 0;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		alarm(60);
		/* the child's buf is a copy in other frames: no answer */
		buf[0] = 1;
		CHILD_CHECK(10, vtop_vtophys(buf, NULL) == VTOP_VTOPHYS_ERROR);
		CHILD_CHECK(11, vtop_vtophys_lookup(vm, buf) == VTOP_VTOPHYS_ERROR);
		nseg = 1;
		CHILD_CHECK(12, vtop_mem_get_segs(buf, PG, &seg, &nseg) == -ECHILD);
		CHILD_CHECK(13, vtop_mem_unregister(buf, 8 * PG) == -ECHILD);
		CHILD_CHECK(14, vtop_mem_register(own, 4 * PG) == -ECHILD);
		CHILD_CHECK(15, calls == 0);
		CHILD_CHECK(16, vtop_mem_process_events() == -ECHILD);
		vtop_mem_map_free(&m);
		CHILD_CHECK(17, calls == 0);
		/* its own environment after fini/init */
		vtop_env_fini();
		CHILD_CHECK(18, calls == 0);
		CHILD_CHECK(19, vtop_env_init(NULL) == 0);
		CHILD_CHECK(20, vtop_mem_register(own, 4 * PG) == 0);
		CHILD_CHECK(21, vtophys_is_pagemap(own, 4 * PG) == 0);
		CHILD_CHECK(22, vtop_vtophys_map() == vm);
		CHILD_CHECK(23, vtop_mem_register(buf, 8 * PG) == 0);
		CHILD_CHECK(24, vtophys_is_pagemap(buf, 8 * PG) == 0);
		CHILD_CHECK(25, vtop_vtophys(buf, NULL) != parent_pa);
		CHILD_CHECK(26, vtop_mem_unregister(buf, 8 * PG) == 0);
		vtop_env_fini();
		_exit(0);
	}
	EXPECT_EQ(0, wait_status(pid));
	/* the parent keeps its pin and its addresses */
	EXPECT_EQ(0, calls);
	EXPECT_EQ(parent_pa, vtop_vtophys(buf, NULL));
	EXPECT_EQ(0, vtophys_is_pagemap(buf, 8 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(buf, 8 * PG));
	EXPECT_EQ(1, calls);
	vtop_mem_map_free(&m);
	vtop_env_fini();
	vt_buf_free(buf, 8 * PG);
	vt_buf_free(own, 4 * PG);
	VT_EXPECT_NO_LEAK(snap);
}

/* Another thread is in a REGISTER callback (the lock held) at fork. */
static char *tbuf;

static void *register_slowly(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)vtop_mem_register(tbuf, 4 * PG);
}

TEST(fork_while_registering)
{
	struct timespec ms = { 0, 1000000 };
	struct vtop_mem_map *m;
	void *trc;
	pthread_t t;
	pid_t pid;
	int i;

	LV_INIT_OR_SKIP(0);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&tbuf));
	m = count_map();
	ASSERT_NE(NULL, m);
	sleep_in_register_ms = 500;
	ASSERT_EQ(0, pthread_create(&t, NULL, register_slowly, NULL));
	for (i = 0; i < 10000 && !in_register; i++)
		nanosleep(&ms, NULL);
	ASSERT_TRUE(in_register);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		alarm(60);	/* a deadlock: killed by SIGALRM */
		vtop_env_fini();
		CHILD_CHECK(10, vtop_env_init(NULL) == 0);
		CHILD_CHECK(11, vtop_mem_register(tbuf, 4 * PG) == 0);
		CHILD_CHECK(12, vtophys_is_pagemap(tbuf, 4 * PG) == 0);
		vtop_env_fini();
		_exit(0);
	}
	EXPECT_EQ(0, wait_status(pid));
	ASSERT_EQ(0, pthread_join(t, &trc));
	EXPECT_EQ(0, (intptr_t)trc);
	sleep_in_register_ms = 0;
	EXPECT_EQ(0, vtophys_is_pagemap(tbuf, 4 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(tbuf, 4 * PG));
	vtop_mem_map_free(&m);
	vtop_env_fini();
	vt_buf_free(tbuf, 4 * PG);
}

/*
 * The parent's pins end with the parent although a child lives on: the
 * child closed its copy of the descriptor (and of the event page).
 */
TEST(pins_do_not_outlive_parent)
{
	int64_t base, now = 0;
	int p2c[2], c2p[2], i;
	pid_t parent, child = 0;
	char *buf;

	if (access("/sys/module/vtop", F_OK))
		SKIP(return, "vtop module not loaded");
	ASSERT_EQ(0, vt_foll_pins(&base));
	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, pipe(c2p));
	parent = fork();
	ASSERT_LE(0, parent);
	if (!parent) {
		pid_t c;

		alarm(60);
		CHILD_CHECK(10, vtop_env_init(NULL) == 0);
		CHILD_CHECK(11, !vt_buf_alloc(VT_KIND_4K, 64 * PG, (void **)&buf));
		CHILD_CHECK(12, vtop_mem_register(buf, 64 * PG) == 0);
		c = fork();
		CHILD_CHECK(13, c >= 0);
		if (!c) {
			char x;

			/* lives until the test says so */
			if (read(p2c[0], &x, 1) < 0)
				_exit(1);
			_exit(0);
		}
		CHILD_CHECK(14, write(c2p[1], &c, sizeof(c)) == sizeof(c));
		_exit(0);	/* no fini: exit releases the pins */
	}
	ASSERT_EQ(sizeof(child), read(c2p[0], &child, sizeof(child)));
	EXPECT_EQ(0, wait_status(parent));
	/* the grandchild is alive; the 64 pages are released */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, vt_foll_pins(&now));
		if (now == base)
			break;
		usleep(20000);
	}
	EXPECT_EQ(base, now) TH_LOG("pins outlive their process in its child");
	/* ... while the grandchild still runs (not a zombie: it waits) */
	EXPECT_EQ(0, kill(child, 0));
	ASSERT_EQ(1, write(p2c[1], "x", 1));
}

/* VTOP_ENV_DONTFORK: the child has no mapping of registered memory. */
TEST(dontfork)
{
	unsigned char vec[8];
	char *buf;
	pid_t pid;

	LV_INIT_OR_SKIP(VTOP_ENV_DONTFORK);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 8 * PG, (void **)&buf));
	ASSERT_EQ(0, vtop_mem_register(buf, 8 * PG));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(mincore(buf, 8 * PG, vec) == -1 && errno == ENOMEM ? 0 : 1);
	EXPECT_EQ(0, wait_status(pid));
	/* unregistered: inherited again */
	ASSERT_EQ(0, vtop_mem_unregister(buf, 8 * PG));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(mincore(buf, 8 * PG, vec) == 0 ? 0 : 1);
	EXPECT_EQ(0, wait_status(pid));
	vtop_env_fini();
	vt_buf_free(buf, 8 * PG);
}

/*
 * fork() splits a pinned THP and invalidates a private hugetlb mapping in
 * the parent (spurious events, include/uapi/linux/vtop.h); registered
 * memory kept out of the child with VTOP_ENV_DONTFORK is not touched.
 */
static int fork_and_wait(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(0);
	return wait_status(pid);
}

TEST(dontfork_no_spurious_events)
{
	uint64_t pfn;
	char *buf;
	int rc;

	LV_INIT_OR_SKIP(VTOP_ENV_DONTFORK);
	rc = vt_buf_alloc(VT_KIND_HUGETLB, 2 << 20, (void **)&buf);
	if (rc == -EOPNOTSUPP)
		SKIP(return, "no hugetlb memory");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, vtop_mem_register(buf, 2 << 20));
	ASSERT_EQ(0, fork_and_wait());
	EXPECT_EQ(0, vtop_mem_process_events());
	ASSERT_EQ(0, vt_pagemap_pfn((uintptr_t)buf, &pfn));
	EXPECT_EQ(pfn << 12, vtop_vtophys(buf, NULL));
	EXPECT_EQ(0, vtop_mem_unregister(buf, 2 << 20));
	vtop_env_fini();

	/* without it: the parent's registration is invalidated */
	LV_INIT_OR_SKIP(0);
	ASSERT_EQ(0, vtop_mem_register(buf, 2 << 20));
	ASSERT_EQ(0, fork_and_wait());
	rc = vtop_mem_process_events();
	EXPECT_LE(0, rc);
	ksft_print_msg("fork() with a hugetlb registration, no DONTFORK: %d invalidated\n",
		       rc);
	if (rc == 0) {
		EXPECT_EQ(0, vtop_mem_unregister(buf, 2 << 20));
	} else {
		EXPECT_EQ(-EINVAL, vtop_mem_unregister(buf, 2 << 20));
	}
	vtop_env_fini();
	vt_buf_free(buf, 2 << 20);
}

TEST_HARNESS_MAIN
