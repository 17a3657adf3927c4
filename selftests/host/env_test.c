// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Environment options and the backends' host-visible behaviour. Nothing
 * here opens /dev/vtop or loads a module: the kmod backend is pointed at
 * paths that cannot be the device.
 */
#define HOST_FILE "env_test"
#include <sys/mman.h>

#include "host_test.h"
#include "../../libvtop/internal.h"

static void version(void)
{
	CHECK(!strcmp(vtop_version(), VTOP_TEST_VERSION));
	CHECK(!strcmp(vtop_last_error(), ""));
}

/* A thread's own message: "" until it fails, its own text, freed at exit. */
static void *last_error_thread(void *arg)
{
	int *ok = arg;

	ok[0] = !strcmp(vtop_last_error(), "");
	ok[1] = vtop_mem_unregister((void *)0x1000, 4097) == -EINVAL &&
		strstr(vtop_last_error(), "unregister:") != NULL;
	return NULL;
}

static void last_error_per_thread(void)
{
	int ok[2] = { 0, 0 };
	pthread_t t;

	CHECK_EQ(vtop_mem_register((void *)0x1800, 4096), -EINVAL);
	CHECK(strstr(vtop_last_error(), "register:") != NULL);
	REQUIRE(!pthread_create(&t, NULL, last_error_thread, ok));
	REQUIRE(!pthread_join(t, NULL));
	CHECK(ok[0]);
	CHECK(ok[1]);
	/* This thread's message is still its own. */
	CHECK(!strncmp(vtop_last_error(), "libvtop: register:", 18));
}

/*
 * A thread-exit destructor running after libvtop's (a key created later)
 * fails a call: its message is written to a buffer of its own, not to the
 * one libvtop's destructor freed (ASan tells), and is freed in turn.
 */
static pthread_key_t late_key;
static int late_ok;

static void late_destructor(void *arg)
{
	(void)arg;
	late_ok = vtop_mem_register((void *)0x1800, 4096) == -EINVAL &&
		  strstr(vtop_last_error(), "register:") != NULL;
}

static void *late_thread(void *arg)
{
	(void)arg;
	CHECK_EQ(vtop_mem_unregister((void *)0x1000, 4097), -EINVAL);
	REQUIRE(!pthread_setspecific(late_key, &late_ok));
	return NULL;
}

static void last_error_after_thread_exit(void)
{
	pthread_t t;

	/* libvtop's key exists: this one is later, its destructor too. */
	CHECK_EQ(vtop_mem_register((void *)0x1800, 4096), -EINVAL);
	REQUIRE(!pthread_key_create(&late_key, late_destructor));
	REQUIRE(!pthread_create(&t, NULL, late_thread, NULL));
	REQUIRE(!pthread_join(t, NULL));
	CHECK(late_ok);
	pthread_key_delete(late_key);
}

static void opts_size(void)
{
	struct {
		struct vtop_env_opts o;
		uint64_t future;
	} big = { .o = VTOP_ENV_OPTS_INIT };
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;

	o.size = offsetof(struct vtop_env_opts, pci_device);
	CHECK_EQ(vtop_env_init(&o), -EINVAL);
	o.size = 0;
	CHECK_EQ(vtop_env_init(&o), -EINVAL);
	o.size = 1 << 20;
	CHECK_EQ(vtop_env_init(&o), -E2BIG);
	/* a bigger struct with a non-zero unknown tail */
	big.o.size = sizeof(big);
	big.o.device_path = "/nonexistent/vtop";
	big.future = 1;
	CHECK_EQ(vtop_env_init(&big.o), -E2BIG);
	/* ... with a zero tail it is read (and fails on the path) */
	big.future = 0;
	CHECK_EQ(vtop_env_init(&big.o), -ENOENT);
	CHECK(!vtop_mem_get_stats(&(struct vtop_mem_stats){
		.size = sizeof(struct vtop_mem_stats) }));
}

static void opts_values(void)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_mem_stats st = { .size = sizeof(st) };

	o.flags = 1U << 7;
	CHECK_EQ(vtop_env_init(&o), -EINVAL);
	CHECK(strstr(vtop_last_error(), "flags") != NULL);
	o.flags = 0;
	o.backend = 7;
	CHECK_EQ(vtop_env_init(&o), -EINVAL);
	CHECK(strstr(vtop_last_error(), "backend") != NULL);
	o.backend = VTOP_BACKEND_KMOD;
	o.pci_device = "0000:00:1f";
	CHECK_EQ(vtop_env_init(&o), -EINVAL);
	CHECK(strstr(vtop_last_error(), "PCI") != NULL);
	o.backend = VTOP_BACKEND_PAGEMAP;
	o.pci_device = "0000:00:04.0";
	CHECK_EQ(vtop_env_init(&o), -EOPNOTSUPP);
	o.pci_device = NULL;
	o.device_path = "/dev/null";
	CHECK_EQ(vtop_env_init(&o), -EINVAL);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.initialized, 0);
}

static void parse_pci(void)
{
	uint32_t d = 99, bdf = 99;

	CHECK_EQ(vtop__parse_pci("0000:00:04.0", &d, &bdf), 0);
	CHECK_EQ(d, 0);
	CHECK_EQ(bdf, 4 << 3);
	CHECK_EQ(vtop__parse_pci("10ab:ff:1f.7", &d, &bdf), 0);
	CHECK_EQ(d, 0x10ab);
	CHECK_EQ(bdf, 0xff << 8 | 0x1f << 3 | 7);
	CHECK_EQ(vtop__parse_pci("3a:02.1", &d, &bdf), 0);
	CHECK_EQ(d, 0);
	CHECK_EQ(bdf, 0x3a << 8 | 2 << 3 | 1);
	CHECK_EQ(vtop__parse_pci("00:20.0", &d, &bdf), -EINVAL);	/* slot */
	CHECK_EQ(vtop__parse_pci("00:04.8", &d, &bdf), -EINVAL);	/* fn */
	CHECK_EQ(vtop__parse_pci("0000:00:04.0x", &d, &bdf), -EINVAL);
	CHECK_EQ(vtop__parse_pci("0:0:4.0", &d, &bdf), -EINVAL);
	CHECK_EQ(vtop__parse_pci("", &d, &bdf), -EINVAL);
	CHECK_EQ(vtop__parse_pci(NULL, &d, &bdf), -EINVAL);
	CHECK_EQ(vtop__parse_pci("10000:00:04.0", &d, &bdf), -EINVAL);
}

/* A missing device: -ENOENT that says how to load the module. */
static void kmod_missing_device(void)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;

	o.device_path = "/nonexistent/vtop";
	CHECK_EQ(vtop_env_init(&o), -ENOENT);
	CHECK(strstr(vtop_last_error(), "modprobe vtop") != NULL);
	CHECK(strstr(vtop_last_error(), "VTOP_ENV_LOAD_MODULE") != NULL);
	/* allowed to load, but the module file does not exist: libkmod's
	 * error, and nothing is inserted */
	o.flags = VTOP_ENV_LOAD_MODULE;
	o.module_path = "/nonexistent/vtop.ko";
	CHECK_EQ(vtop_env_init(&o), -ENOENT);
	CHECK(strstr(vtop_last_error(), "libkmod") != NULL);
}

/* A device node that is not vtop: INFO fails, nothing stays open. */
static void kmod_wrong_device(void)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_mem_stats st = { .size = sizeof(st) };

	o.device_path = "/dev/zero";
	CHECK_EQ(vtop_env_init(&o), -ENOTTY);
	CHECK(strstr(vtop_last_error(), "VTOP_IOC_INFO") != NULL);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.initialized, 0);
}

/* Implicit initialization on first use, with the defaults. */
static void implicit_init(void)
{
	static char buf[8192] __attribute__((aligned(4096)));
	struct vtop_info info = { .size = sizeof(info) };

	if (!access(VTOP_DEVICE_PATH, F_OK)) {
		printf("# %s exists on this host: skipping\n", VTOP_DEVICE_PATH);
		return;
	}
	CHECK_EQ(vtop_mem_register(buf, sizeof(buf)), -ENOENT);
	CHECK(strstr(vtop_last_error(), VTOP_DEVICE_PATH) != NULL);
	CHECK_EQ(vtop_env_get_info(&info), -ENOENT);
	CHECK_EQ(vtop_env_get_info(NULL), -EINVAL);
	CHECK_EQ(vtop_vtophys(buf, NULL), VTOP_VTOPHYS_ERROR);
}

/* The pagemap backend accepts hugetlb memory only. */
static void pagemap_rejects_small_pages(void)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_mem_stats st = { .size = sizeof(st) };
	void *p;

	o.backend = VTOP_BACKEND_PAGEMAP;
	CHECK_EQ(vtop_env_init(&o), 0);
	CHECK_EQ(vtop_env_get_info(&(struct vtop_info){
		.size = sizeof(struct vtop_info) }), -EOPNOTSUPP);
	p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(p != MAP_FAILED);
	memset(p, 1, 4 * 4096);
	CHECK_EQ(vtop_mem_register(p, 4 * 4096), -EOPNOTSUPP);
	CHECK(strstr(vtop_last_error(), "hugetlb") != NULL);
	/* read-only memory and holes are refused, too */
	REQUIRE(!mprotect(p, 4096, PROT_READ));
	CHECK_EQ(vtop_mem_register(p, 4096), -EFAULT);
	REQUIRE(!munmap((char *)p + 2 * 4096, 4096));
	CHECK_EQ(vtop_mem_register((char *)p + 4096, 2 * 4096), -EOPNOTSUPP);
	CHECK_EQ(vtop_mem_register((char *)p + 2 * 4096, 4096), -EFAULT);
	CHECK_EQ(vtop_mem_get_stats(&st), 0);
	CHECK_EQ(st.nr_registrations, 0);
	CHECK_EQ(st.backend, VTOP_BACKEND_PAGEMAP);
	vtop_env_fini();
	munmap(p, 4 * 4096);
}

HOST_MAIN(
	HOST_TEST(version),
	HOST_TEST(last_error_per_thread),
	HOST_TEST(last_error_after_thread_exit),
	HOST_TEST(opts_size),
	HOST_TEST(opts_values),
	HOST_TEST(parse_pci),
	HOST_TEST(kmod_missing_device),
	HOST_TEST(kmod_wrong_device),
	HOST_TEST(implicit_init),
	HOST_TEST(pagemap_rejects_small_pages),
)
