// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The DMA allocator (issue 16 item 1): vtop_dma_malloc/zmalloc/free through
 * the fake backend (slabs, own registrations, contiguity refusal, foreign
 * frees, threads), and through the pagemap backend on hugetlb pages when
 * the host has free ones (checked against /proc/self/pagemap).
 */
#define HOST_FILE "dma_test"
#include <fcntl.h>
#include <sys/mman.h>

#include "fake_backend.h"

#define K4	0x1000ULL
#define M2	0x200000ULL

static unsigned long meminfo(const char *field);

static uint64_t nr_regs(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	REQUIRE(vtop_mem_get_stats(&st) == 0);
	return st.nr_registrations;
}

static void small_objects_share_a_slab(void)
{
	void *p[200];
	uint64_t dma, size;
	int i, j;

	fake_init();
	for (i = 0; i < 200; i++) {
		p[i] = vtop_dma_malloc(40, 0, &dma);
		REQUIRE(p[i]);
		CHECK_EQ((uintptr_t)p[i] % 64, 0);
		CHECK_EQ(dma, vtop_vtophys(p[i], NULL));
		CHECK_EQ(dma, fake.phys((uintptr_t)p[i] & ~(K4 - 1)) +
			 ((uintptr_t)p[i] & (K4 - 1)));
		size = 40;
		vtop_vtophys(p[i], &size);
		CHECK_EQ(size, 40);
		memset(p[i], i, 40);
		for (j = 0; j < i; j++)
			CHECK(p[j] != p[i]);
	}
	/* one registration for all of them */
	CHECK_EQ(nr_regs(), 1);
	for (i = 0; i < 200; i++) {
		CHECK_EQ(((unsigned char *)p[i])[39], i);
		CHECK_EQ(vtop_dma_free(p[i]), 0);
	}
	/* the last slab of its class stays */
	CHECK_EQ(nr_regs(), 1);
	/* other classes: their own slabs; 4 KiB objects never straddle */
	p[0] = vtop_dma_malloc(4096, 0, &dma);
	p[1] = vtop_dma_zmalloc(1000, 512, NULL);
	REQUIRE(p[0] && p[1]);
	CHECK_EQ((uintptr_t)p[0] % 4096, 0);
	CHECK_EQ((uintptr_t)p[1] % 1024, 0);
	CHECK_EQ(nr_regs(), 3);
	CHECK_EQ(vtop_dma_free(p[0]), 0);
	CHECK_EQ(vtop_dma_free(p[1]), 0);
}

static void zmalloc_zeroes(void)
{
	unsigned char *p, *q;
	int i;

	fake_init();
	p = vtop_dma_malloc(256, 0, NULL);
	REQUIRE(p);
	memset(p, 0xff, 256);
	CHECK_EQ(vtop_dma_free(p), 0);
	q = vtop_dma_zmalloc(256, 0, NULL);
	REQUIRE(q);
	CHECK(q == p);	/* the same slot, reused */
	for (i = 0; i < 256; i++)
		CHECK_EQ(q[i], 0);
	CHECK_EQ(vtop_dma_free(q), 0);
}

static void bad_args(void)
{
	fake_init();
	errno = 0;
	CHECK(vtop_dma_malloc(0, 0, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(vtop_dma_malloc(64, 3, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(vtop_dma_malloc(64, 4 * M2, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(vtop_dma_malloc(SIZE_MAX, 0, NULL) == NULL);
	CHECK_EQ(errno, ENOMEM);
	/*
	 * 2 MiB alignment without hugetlb pages: EINVAL, nothing pinned --
	 * unless the ordinary pages happen to be aligned (then they are)
	 */
	if (meminfo("HugePages_Free:") == 0) {
		void *p;

		errno = 0;
		p = vtop_dma_malloc(64, M2, NULL);
		if (p) {
			CHECK_EQ((uintptr_t)p % M2, 0);
			CHECK_EQ(vtop_dma_free(p), 0);
		} else {
			CHECK_EQ(errno, EINVAL);
			CHECK(strstr(vtop_last_error(), "hugetlb") != NULL);
		}
	}
	CHECK_EQ(nr_regs(), 0);
	CHECK_EQ(atomic_load(&fake.pins_total), 0);
}

static void large_own_registration(void)
{
	uint64_t dma, size;
	unsigned char *p;
	size_t len = 5 * K4 + 100;

	fake_init();
	p = vtop_dma_zmalloc(len, 0, &dma);
	REQUIRE(p);
	CHECK_EQ((uintptr_t)p % 4096, 0);
	CHECK_EQ(dma, vtop_vtophys(p, NULL));
	size = len;
	vtop_vtophys(p, &size);
	CHECK_EQ(size, len);
	CHECK_EQ(p[len - 1], 0);
	CHECK_EQ(nr_regs(), 1);
	/* the middle of it is not an allocation */
	CHECK_EQ(vtop_dma_free(p + K4), -EINVAL);
	CHECK_EQ(nr_regs(), 1);
	CHECK_EQ(vtop_dma_free(p), 0);
	CHECK_EQ(nr_regs(), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	CHECK_EQ(vtop_dma_free(p), -EINVAL);
}

/* Pages in reverse order: nothing above 4 KiB is contiguous. */
static uint64_t phys_reversed(uint64_t va)
{
	return 0x100000000000ULL - (va & ~(K4 - 1));
}

static void not_contiguous_refused(void)
{
	void *p;

	fake.phys = phys_reversed;
	fake_init();
	errno = 0;
	p = vtop_dma_malloc(3 * K4, 0, NULL);
	if (p) {
		/* hugetlb memory on this host: the fake still scrambles it */
		fprintf(stderr, "# got %p\n", p);
	}
	CHECK(p == NULL);
	CHECK_EQ(errno, ENOMEM);
	CHECK(strstr(vtop_last_error(), "contiguous") != NULL);
	CHECK_EQ(nr_regs(), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
	/* small objects do not need more than one page */
	p = vtop_dma_malloc(K4, 0, NULL);
	CHECK(p != NULL);
	CHECK_EQ(vtop_dma_free(p), 0);
}

static void foreign_free(void)
{
	static char stat_buf[4096] __attribute__((aligned(4096)));
	char *heap = malloc(64), *p;
	int local;

	fake_init();
	CHECK_EQ(vtop_dma_free(NULL), 0);
	CHECK_EQ(vtop_dma_free(&local), -EINVAL);
	CHECK_EQ(vtop_dma_free(heap), -EINVAL);
	CHECK_EQ(vtop_dma_free(stat_buf), -EINVAL);
	CHECK(strstr(vtop_last_error(), "not memory from vtop_dma_malloc") != NULL);
	p = vtop_dma_malloc(128, 0, NULL);
	REQUIRE(p);
	CHECK_EQ(vtop_dma_free(p + 8), -EINVAL);
	CHECK_EQ(vtop_dma_free(p + 128), -EINVAL);	/* the next, free slot */
	CHECK_EQ(vtop_dma_free(p), 0);
	CHECK_EQ(vtop_dma_free(p), -EINVAL);
	free(heap);
}

#define NTHR	4
#define ROUNDS	3000

static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg, i, k;
	unsigned char tag = (unsigned char)seed;
	unsigned char *live[16] = { 0 };
	size_t sz[16];
	uint64_t dma;
	size_t n;

	for (i = 0; i < ROUNDS; i++) {
		k = rand_r(&seed) % 16;
		if (live[k]) {
			for (n = 0; n < sz[k]; n++)
				if (live[k][n] != (unsigned char)(k + tag))
					break;
			if (n != sz[k] || vtop_dma_free(live[k]))
				return (void *)1;
			live[k] = NULL;
			continue;
		}
		sz[k] = 1 + rand_r(&seed) % (rand_r(&seed) % 8 ? 4096 : 20000);
		live[k] = vtop_dma_malloc(sz[k], 0, &dma);
		if (!live[k] || dma != vtop_vtophys(live[k], NULL))
			return (void *)2;
		memset(live[k], (unsigned char)(k + tag), sz[k]);
	}
	for (k = 0; k < 16; k++)
		if (live[k] && vtop_dma_free(live[k]))
			return (void *)3;
	return NULL;
}

static void threads(void)
{
	pthread_t t[NTHR];
	void *ret;
	int i;

	fake_init();
	for (i = 0; i < NTHR; i++)
		REQUIRE(!pthread_create(&t[i], NULL, churn,
					(void *)(uintptr_t)(i * 7 + 1)));
	for (i = 0; i < NTHR; i++) {
		REQUIRE(!pthread_join(t[i], &ret));
		CHECK(ret == NULL);
	}
	/* at most the one slab kept per class */
	CHECK(nr_regs() <= 7);
	CHECK_EQ(vtop__mem_check_regs(), (long)nr_regs());
}

static atomic_bool stop;

static void *churn_until_stopped(void *arg)
{
	void *p;

	(void)arg;
	while (!atomic_load(&stop)) {
		p = vtop_dma_malloc(64, 0, NULL);
		if (!p || vtop_dma_free(p))
			return (void *)1;
	}
	return NULL;
}

/*
 * fork() while another thread allocates: the child never inherits the
 * allocator's lock held (the atfork handlers take it); its allocations
 * fail with ECHILD instead of hanging.
 */
static void fork_while_allocating(void)
{
	pthread_t t;
	void *ret;
	int i, status;
	pid_t pid;

	fake_init();
	REQUIRE(!pthread_create(&t, NULL, churn_until_stopped, NULL));
	for (i = 0; i < 200; i++) {
		pid = fork();
		REQUIRE(pid >= 0);
		if (!pid) {
			void *p;

			alarm(10);	/* a deadlock dies of SIGALRM */
			errno = 0;
			p = vtop_dma_malloc(64, 0, NULL);
			_exit(!p && errno == ECHILD ? 0 : 1);
		}
		REQUIRE(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (host_failures)
			break;
	}
	atomic_store(&stop, true);
	REQUIRE(!pthread_join(t, &ret));
	CHECK(ret == NULL);
}

static unsigned long meminfo(const char *field)
{
	char line[256];
	unsigned long v = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtoul(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

static uint64_t pagemap_pa(const void *p)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &e, 8, ((uintptr_t)p / 4096) * 8) == 8);
	close(fd);
	return ((e & ((1ULL << 55) - 1)) << 12) + ((uintptr_t)p & 4095);
}

/* The real thing: hugetlb pages and their physical addresses. */
static void pagemap_hugetlb_body(void)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	uint64_t dma[4], size;
	void *p[4];
	int i;

	o.backend = VTOP_BACKEND_PAGEMAP;
	REQUIRE(vtop_env_init(&o) == 0);
	p[0] = vtop_dma_zmalloc(64, 0, &dma[0]);
	p[1] = vtop_dma_zmalloc(4096, 4096, &dma[1]);
	p[2] = vtop_dma_zmalloc(M2, M2, &dma[2]);
	p[3] = vtop_dma_zmalloc(100000, 0, &dma[3]);
	for (i = 0; i < 4; i++) {
		REQUIRE(p[i]);
		CHECK_EQ(dma[i], pagemap_pa(p[i]));
		CHECK(dma[i] != 0);
	}
	CHECK_EQ((uintptr_t)p[2] % M2, 0);
	size = M2;
	CHECK_EQ(vtop_vtophys(p[2], &size), dma[2]);
	CHECK_EQ(size, M2);
	/* the 64 B and 4 KiB objects share no page with other classes */
	CHECK_EQ(nr_regs(), 4);
	for (i = 0; i < 4; i++)
		CHECK_EQ(vtop_dma_free(p[i]), 0);
	vtop_env_fini();
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -1;
	rc = fprintf(f, "%ld\n", v) > 0 ? 0 : -1;
	return fclose(f) || rc ? -1 : 0;
}

#define NR_HUGE	"/proc/sys/vm/nr_hugepages"

/*
 * As root with too few free hugetlb pages, reserve the 4 needed for the
 * test's duration (and give them back after, whatever the test did).
 */
static void pagemap_hugetlb(void)
{
	long nr = read_long(NR_HUGE), need = 4;
	unsigned long freep = meminfo("HugePages_Free:");
	bool raised = false;
	int status;
	pid_t pid;

	if (!geteuid() && nr >= 0 && freep < (unsigned long)need &&
	    !write_long(NR_HUGE, nr + need - (long)freep)) {
		raised = true;
		freep = meminfo("HugePages_Free:");
	}
	if (geteuid() || freep < (unsigned long)need) {
		printf("# SKIP pagemap_hugetlb: needs root and %ld free hugetlb pages (vm.nr_hugepages)\n",
		       need);
	} else {
		fflush(stdout);
		pid = fork();
		REQUIRE(pid >= 0);
		if (!pid) {
			pagemap_hugetlb_body();
			fflush(stdout);
			_exit(host_failures ? 1 : 0);
		}
		REQUIRE(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (raised)
		CHECK_EQ(write_long(NR_HUGE, nr), 0);
}

HOST_MAIN(
	HOST_TEST(small_objects_share_a_slab),
	HOST_TEST(zmalloc_zeroes),
	HOST_TEST(bad_args),
	HOST_TEST(large_own_registration),
	HOST_TEST(not_contiguous_refused),
	HOST_TEST(foreign_free),
	HOST_TEST(threads),
	HOST_TEST(fork_while_allocating),
	HOST_TEST(pagemap_hugetlb),
)
