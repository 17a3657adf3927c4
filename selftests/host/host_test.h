/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny test harness for the host tests: each test runs in a forked child
 * (the library's state is process-wide), a crash or a failed CHECK fails
 * it, and one line per test is printed:
 *	ok N file.test
 *	not ok N file.test
 * selftests/host/run.sh counts them.
 */
#ifndef HOST_TEST_H
#define HOST_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct host_test {
	const char *name;
	void (*fn)(void);
};

static int host_failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "# %s:%d: CHECK(%s) failed\n",		\
			__FILE__, __LINE__, #cond);			\
		host_failures++;					\
	}								\
} while (0)

/* Compare two integers (as long long / unsigned long long), print both. */
#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "# %s:%d: %s == %s failed: 0x%llx vs 0x%llx (%lld vs %lld)\n", \
			__FILE__, __LINE__, #a, #b,			\
			(unsigned long long)_a, (unsigned long long)_b, \
			_a, _b);					\
		host_failures++;					\
	}								\
} while (0)

/* Stop the test here (after a failed precondition). */
#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "# %s:%d: REQUIRE(%s) failed\n",	\
			__FILE__, __LINE__, #cond);			\
		exit(1);						\
	}								\
} while (0)

static inline int host_run(const char *file, const struct host_test *t,
			   size_t n)
{
	int failed = 0, status;
	size_t i;
	pid_t pid;

	printf("# %s: %zu tests\n", file, n);
	for (i = 0; i < n; i++) {
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid) {
			t[i].fn();
			fflush(stdout);
			exit(host_failures ? 1 : 0);
		}
		if (waitpid(pid, &status, 0) != pid)
			status = -1;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %zu %s.%s\n", i + 1, file, t[i].name);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("# %s.%s: killed by signal %d\n", file,
				       t[i].name, WTERMSIG(status));
			printf("not ok %zu %s.%s\n", i + 1, file, t[i].name);
		}
	}
	return failed ? 1 : 0;
}

#define HOST_TEST(fn) { #fn, fn }
#define HOST_MAIN(...)							\
int main(void)								\
{									\
	static const struct host_test tests[] = { __VA_ARGS__ };	\
	return host_run(HOST_FILE, tests, sizeof(tests) / sizeof(tests[0])); \
}

#endif /* HOST_TEST_H */
