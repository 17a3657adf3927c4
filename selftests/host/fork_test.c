// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fork() (issue 10), with real forks: the child's environment is marked
 * inherited (translations fail, register/unregister -ECHILD, no callback
 * on the parent's state, the backend's descriptor closed), a fork never
 * deadlocks on the library's locks, fini/init gives the child its own
 * environment, and VTOP_ENV_DONTFORK keeps registered memory out of the
 * child.
 */
#define HOST_FILE "fork_test"
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include "fake_backend.h"

#define K4	0x1000ULL
#define M2	0x200000ULL
#define BASE	0x40000000ULL
#define P(va)	((void *)(uintptr_t)(va))

static atomic_int cb_calls;
static atomic_int cb_in_register;	/* set while a REGISTER callback sleeps */
static int cb_sleep_ms;

static int cb(void *ctx, struct vtop_mem_map *map,
	      enum vtop_mem_map_notify_action action, void *vaddr, size_t size)
{
	(void)ctx;
	(void)map;
	(void)vaddr;
	(void)size;
	atomic_fetch_add(&cb_calls, 1);
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER && cb_sleep_ms) {
		struct timespec ts = { 0, cb_sleep_ms * 1000000L };

		atomic_store(&cb_in_register, 1);
		nanosleep(&ts, NULL);
		atomic_store(&cb_in_register, 0);
	}
	return 0;
}

static struct vtop_mem_map *cb_map(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = cb, .size = sizeof(ops) };

	return vtop_mem_map_alloc(0, &ops, NULL);
}

/* Run @fn in a child with a 10 s alarm; its exit status (0: passed). */
static int in_child(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		alarm(10);
		fn();
		fflush(stderr);
		_exit(host_failures ? 1 : 0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		fprintf(stderr, "# child killed by signal %d\n",
			WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static struct vtop_mem_map *the_map;
static const struct vtop_mem_map *the_vm;
static int parent_fd;

static void child_side(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_segment seg;
	uint32_t nseg = 1;
	int calls = atomic_load(&cb_calls), unpins = atomic_load(&fake.unpins_total);

	/* translations: the exported ones and the inline one */
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_vtophys_lookup(the_vm, P(BASE)), VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_map_translate(the_vm, BASE, NULL),
		 VTOP_VTOPHYS_ERROR);
	CHECK_EQ(vtop_mem_get_segs(P(BASE), K4, &seg, &nseg), -ECHILD);
	/* no register, unregister, processing on the parent's state */
	CHECK_EQ(vtop_mem_register(P(BASE + 4 * M2), K4), -ECHILD);
	CHECK_EQ(vtop_mem_unregister(P(BASE), M2), -ECHILD);
	CHECK(strstr(vtop_last_error(), "fork") != NULL);
	CHECK_EQ(vtop_mem_process_events(), -ECHILD);
	CHECK_EQ(vtop_env_get_event_fd(), -ECHILD);
	CHECK_EQ(vtop_env_get_info(&(struct vtop_info){
		.size = sizeof(struct vtop_info) }), -ECHILD);
	CHECK_EQ(vtop_env_init(NULL), -ECHILD);
	errno = 0;
	CHECK(vtop_vtophys_map() == NULL);
	CHECK_EQ(errno, ECHILD);
	CHECK(cb_map() == NULL);
	CHECK_EQ(errno, ECHILD);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.inherited, 1);
	CHECK_EQ(st.initialized, 1);
	/* the inherited descriptor is closed */
	CHECK_EQ(fcntl(parent_fd, F_GETFD), -1);
	CHECK_EQ(errno, EBADF);
	/* freeing a map runs no callback either */
	vtop_mem_map_free(&the_map);
	CHECK_EQ(atomic_load(&cb_calls), calls);
	/* fini forgets without callbacks or unpins */
	vtop_env_fini();
	CHECK_EQ(atomic_load(&cb_calls), calls);
	CHECK_EQ(atomic_load(&fake.unpins_total), unpins);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.initialized, 0);
	CHECK_EQ(st.inherited, 0);
	CHECK_EQ(st.nr_registrations, 0);
	/* ... and init gives the child its own environment */
	fake_closed = false;
	fake_init_events(0);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), fake.phys(BASE));
	CHECK_EQ(vtop_vtophys_lookup(the_vm, P(BASE)), fake.phys(BASE));
	CHECK(vtop_vtophys_map() == the_vm);
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), 0);
	CHECK_EQ(vtop_mem_process_events(), 0);
	vtop_env_fini();
}

static void child_is_inherited(void)
{
	fake_init_events(0);
	parent_fd = fake.evfd;
	the_map = cb_map();
	REQUIRE(the_map);
	the_vm = vtop_vtophys_map();
	REQUIRE(the_vm);
	REQUIRE(vtop_mem_register(P(BASE), M2) == 0);
	REQUIRE(vtop_mem_register(P(BASE + 2 * M2), K4) == 0);
	CHECK_EQ(in_child(child_side), 0);
	/* the parent is untouched */
	CHECK_EQ(vtop_vtophys(P(BASE), NULL), fake.phys(BASE));
	CHECK_EQ(vtop_vtophys_lookup(the_vm, P(BASE + K4)),
		 fake.phys(BASE + K4));
	CHECK(fcntl(parent_fd, F_GETFD) >= 0);
	CHECK(!fake_closed);
	CHECK_EQ(vtop_mem_unregister(P(BASE), M2), 0);
	vtop_mem_map_free(&the_map);
	vtop_env_fini();
	CHECK_EQ(fake.unpin_errors, 0);
}

/*
 * A thread sits in a REGISTER callback (holding the lock) while we fork.
 *
 * Under ASan, a fork while another thread is inside ASan's allocator (GCC
 * 12's libasan does not lock it around fork) leaves that lock held in the
 * child, which then hangs in its first malloc: not the library's locks.
 * So the other threads of these tests allocate nothing around the fork:
 * the fake lends its segment array, and threads wait before exiting.
 */
static atomic_int may_exit;

static void wait_may_exit(void)
{
	struct timespec ms = { 0, 1000000 };

	while (!atomic_load(&may_exit))
		nanosleep(&ms, NULL);
}

static void *register_slowly(void *arg)
{
	(void)arg;
	REQUIRE(vtop_mem_register(P(BASE + M2), K4) == 0);
	wait_may_exit();
	return NULL;
}

static void child_fini_init(void)
{
	vtop_env_fini();
	fake_init();
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), 0);
	vtop_env_fini();
}

static void fork_while_locked(void)
{
	struct timespec ts = { 0, 1000000 };
	pthread_t t;
	int i;

	fake_init();
	fake.borrow_segs = true;
	the_map = cb_map();
	REQUIRE(the_map);
	cb_sleep_ms = 300;
	REQUIRE(!pthread_create(&t, NULL, register_slowly, NULL));
	for (i = 0; i < 5000 && !atomic_load(&cb_in_register); i++)
		nanosleep(&ts, NULL);
	REQUIRE(atomic_load(&cb_in_register));
	/* the child must neither deadlock nor see half a registration */
	CHECK_EQ(in_child(child_fini_init), 0);
	atomic_store(&may_exit, 1);
	pthread_join(t, NULL);
	cb_sleep_ms = 0;
	CHECK_EQ(vtop_vtophys(P(BASE + M2), NULL), fake.phys(BASE + M2));
	vtop_mem_map_free(&the_map);
	vtop_env_fini();
}

/* A thread writes a consumer map (holding its lock) while we fork. */
static atomic_int stop_writer;

static atomic_int writes;

static void *write_map(void *arg)
{
	struct vtop_mem_map *m = arg;
	uint64_t v = 0;

	/* the tables exist after the first write: no allocation since */
	while (!atomic_load(&stop_writer)) {
		REQUIRE(vtop_mem_map_set_translation(m, 0, 64 * M2,
						     ++v) == 0);
		atomic_fetch_add(&writes, 1);
	}
	wait_may_exit();
	return NULL;
}

static struct vtop_mem_map *plain;

static void child_writes_map(void)
{
	CHECK_EQ(vtop_mem_map_set_translation(plain, 0, K4, 7), 0);
	CHECK_EQ(vtop_mem_map_translate(plain, 0, NULL), 7);
}

static void fork_while_map_written(void)
{
	pthread_t t;
	int i;

	plain = vtop_mem_map_alloc(0, NULL, NULL);
	REQUIRE(plain);
	REQUIRE(!pthread_create(&t, NULL, write_map, plain));
	while (atomic_load(&writes) < 2)
		sched_yield();
	for (i = 0; i < 20; i++)
		CHECK_EQ(in_child(child_writes_map), 0);
	atomic_store(&stop_writer, 1);
	atomic_store(&may_exit, 1);
	pthread_join(t, NULL);
	vtop_mem_map_free(&plain);
}

/* fork() from inside a callback (the forking thread holds the lock). */
static int forked_status = -1;

static int forking_cb(void *ctx, struct vtop_mem_map *map,
		      enum vtop_mem_map_notify_action action, void *vaddr,
		      size_t size)
{
	int status;
	pid_t pid;

	(void)ctx;
	(void)map;
	(void)size;
	if (action != VTOP_MEM_MAP_NOTIFY_REGISTER)
		return 0;
	fflush(stderr);
	pid = fork();
	if (!pid) {
		alarm(10);
		/* still in the callback: translation fails, no deadlock */
		_exit(vtop_vtophys(vaddr, NULL) == VTOP_VTOPHYS_ERROR &&
		      vtop_mem_register(P(BASE + 8 * M2), K4) == -EDEADLK ?
		      0 : 1);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		forked_status = status;
	return 0;
}

static void fork_from_callback(void)
{
	struct vtop_mem_map_ops ops = { .notify_cb = forking_cb };
	struct vtop_mem_map *m;

	fake_init();
	m = vtop_mem_map_alloc(0, &ops, NULL);
	REQUIRE(m);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	CHECK(WIFEXITED(forked_status) && WEXITSTATUS(forked_status) == 0);
	/* the parent's lock was released properly */
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), 0);
	vtop_mem_map_free(&m);
	vtop_env_fini();
}

/* The event thread is not in the child; fini there must not join it. */
static void child_fini_no_thread(void)
{
	struct pollfd p;

	vtop_env_fini();
	fake.evfd = -1;
	fake_init_events(VTOP_ENV_EVENT_THREAD);
	CHECK_EQ(vtop_mem_register(P(BASE), K4), 0);
	p.fd = vtop_env_get_event_fd();
	CHECK(p.fd >= 0);
	vtop_env_fini();
}

static void fork_with_event_thread(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct timespec ms = { 0, 1000000 };
	int i;

	fake_init_events(VTOP_ENV_EVENT_THREAD);
	/*
	 * Let the thread process one event first: it has then started for
	 * good. (Forking while a thread is still in ASan's thread start-up
	 * leaves ASan's allocator lock held in the child; not ours.)
	 */
	REQUIRE(vtop_mem_register(P(BASE + M2), K4) == 0);
	fake_invalidate(BASE + M2, K4);
	for (i = 0; i < 5000; i++) {
		REQUIRE(vtop_mem_get_stats(&st) == 0);
		if (st.invalidations == 1)
			break;
		nanosleep(&ms, NULL);
	}
	REQUIRE(st.invalidations == 1);
	REQUIRE(vtop_mem_register(P(BASE), K4) == 0);
	CHECK_EQ(in_child(child_fini_no_thread), 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), K4), 0);
	vtop_env_fini();
}

/* VTOP_ENV_DONTFORK: registered memory is not in the child at all. */
static char *dbuf;
static size_t dlen = 4 * 4096;

static void child_has_no_dbuf(void)
{
	unsigned char vec[4];

	CHECK_EQ(mincore(dbuf, dlen, vec), -1);
	CHECK_EQ(errno, ENOMEM);
}

static void child_has_dbuf(void)
{
	unsigned char vec[4];

	CHECK_EQ(mincore(dbuf, dlen, vec), 0);
	CHECK_EQ(dbuf[0], 0x5a);
}

static void dontfork(void)
{
	dbuf = mmap(NULL, dlen, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(dbuf != MAP_FAILED);
	memset(dbuf, 0x5a, dlen);
	fake_init_events(VTOP_ENV_DONTFORK);
	CHECK_EQ(vtop_mem_register(dbuf, dlen), 0);
	CHECK_EQ(in_child(child_has_no_dbuf), 0);
	CHECK_EQ(vtop_mem_unregister(dbuf, dlen), 0);
	CHECK_EQ(in_child(child_has_dbuf), 0);
	/* madvise refused (nothing mapped there): nothing pinned */
	CHECK_EQ(vtop_mem_register(P(BASE), K4), -ENOMEM);
	CHECK(strstr(vtop_last_error(), "MADV_DONTFORK") != NULL);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(atomic_load(&fake.pins_total), 1);
	vtop_env_fini();
	/* without the flag the child has it */
	fake.evfd = -1;
	fake_init_events(0);
	CHECK_EQ(vtop_mem_register(dbuf, dlen), 0);
	CHECK_EQ(in_child(child_has_dbuf), 0);
	vtop_env_fini();
	munmap(dbuf, dlen);
}

HOST_MAIN(
	HOST_TEST(child_is_inherited),
	HOST_TEST(fork_while_locked),
	HOST_TEST(fork_while_map_written),
	HOST_TEST(fork_from_callback),
	HOST_TEST(fork_with_event_thread),
	HOST_TEST(dontfork),
)
