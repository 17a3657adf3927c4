// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vtop_mem_register_ex() (issue 16 item 4): flags reach the backend as
 * VTOP_PIN_* flags, DONTFORK keeps the range out of fork() children until
 * it is unregistered, unknown flags are -EINVAL with nothing left behind.
 */
#define HOST_FILE "register_ex_test"
#include <signal.h>
#include <sys/mman.h>

#include "fake_backend.h"

#define K4	0x1000ULL
#define BASE	0x40000000ULL
#define P(va)	((void *)(uintptr_t)(va))

static void bad_flags(void)
{
	fake_init();
	CHECK_EQ(vtop_mem_register_ex(P(BASE), K4, 1U << 2), -EINVAL);
	CHECK_EQ(vtop_mem_register_ex(P(BASE), K4, ~0U), -EINVAL);
	/* flags are checked before the range */
	CHECK_EQ(vtop_mem_register_ex(P(BASE + 1), K4, 1U << 5), -EINVAL);
	CHECK(strstr(vtop_last_error(), "flags") != NULL);
	CHECK_EQ(atomic_load(&fake.pins_total), 0);
	CHECK_EQ(vtop_mem_register_ex(P(BASE), 0, 0), 0);
	CHECK_EQ(atomic_load(&fake.pins_total), 0);
}

static void readonly_reaches_backend(void)
{
	fake_init();
	fake.last_pin_flags = 0xff;
	CHECK_EQ(vtop_mem_register_ex(P(BASE), 2 * K4,
				      VTOP_MEM_REGISTER_READONLY), 0);
	CHECK_EQ(fake.last_pin_flags, VTOP_PIN_READONLY);
	CHECK(vtop_vtophys(P(BASE + K4), NULL) == fake.phys(BASE + K4));
	CHECK_EQ(vtop_mem_register(P(BASE + 2 * K4), K4), 0);
	CHECK_EQ(fake.last_pin_flags, 0);
	CHECK_EQ(vtop_mem_register_ex(P(BASE + 3 * K4), K4, 0), 0);
	CHECK_EQ(fake.last_pin_flags, 0);
	CHECK_EQ(vtop_mem_unregister(P(BASE), 4 * K4), 0);
	CHECK_EQ(atomic_load(&fake.live), 0);
}

/* Does a fork() child reading @p die of SIGSEGV? */
static bool child_faults(volatile const char *p)
{
	int status;
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (!pid) {
		/* not ASan's handler: die of the signal itself */
		signal(SIGSEGV, SIG_DFL);
		(void)*p;
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void dontfork_range(void)
{
	char *buf = mmap(NULL, 4 * K4, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	REQUIRE(buf != MAP_FAILED);
	memset(buf, 1, 4 * K4);
	fake_init();
	CHECK(!child_faults(buf + K4));
	CHECK_EQ(vtop_mem_register_ex(buf + K4, 2 * K4,
				      VTOP_MEM_REGISTER_DONTFORK), 0);
	CHECK(child_faults(buf + K4));
	CHECK(child_faults(buf + 2 * K4));
	CHECK(!child_faults(buf));		/* outside the range */
	CHECK(!child_faults(buf + 3 * K4));
	CHECK_EQ(vtop_mem_unregister(buf + K4, 2 * K4), 0);
	CHECK(!child_faults(buf + K4));
	/* a failed registration takes its MADV_DONTFORK back */
	fake.fail_pin = -ENOMEM;
	CHECK_EQ(vtop_mem_register_ex(buf, K4, VTOP_MEM_REGISTER_DONTFORK),
		 -ENOMEM);
	CHECK(!child_faults(buf));
	munmap(buf, 4 * K4);
}

HOST_MAIN(
	HOST_TEST(bad_flags),
	HOST_TEST(readonly_reaches_backend),
	HOST_TEST(dontfork_range),
)
