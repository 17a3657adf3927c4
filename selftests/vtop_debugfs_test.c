// SPDX-License-Identifier: GPL-2.0-only
/*
 * /sys/kernel/debug/vtop/pins lists every open /dev/vtop fd of every
 * process, whichever thread holds the descriptor table:
 *  - a process whose main thread exited (pthread_exit()) while another
 *    thread keeps running: the leader has no descriptor table any more,
 *    the other thread has it;
 *  - a thread that unshare(CLONE_FILES)d and opened /dev/vtop in its own
 *    table.
 * Each is listed once, under the process id, with its pin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define PINS_PATH "/sys/kernel/debug/vtop/pins"

static int report_pipe[2];

/* Open /dev/vtop, pin a page, tell the parent the fd, then wait. */
static void *holder(void *arg)
{
	int unshare_files = arg != NULL, fd, msg[2];
	uint64_t h;
	void *p;

	if (unshare_files && unshare(CLONE_FILES))
		_exit(10);
	fd = vt_open();
	p = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (fd < 0 || p == MAP_FAILED || vt_pin_simple(fd, p, VT_PAGE_SIZE, &h))
		_exit(11);
	msg[0] = fd;
	msg[1] = 0;
	if (write(report_pipe[1], msg, sizeof(msg)) != sizeof(msg))
		_exit(12);
	for (;;)
		pause();
	return NULL;
}

/* The state letter of task @tid of process @pid, or '?'. */
static char task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (vt_read_file(path, buf, sizeof(buf)) <= 0)
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Lines of the pins file for "pid=@pid fd=@fd": fd lines, pin lines. */
static void count_lines(pid_t pid, int fd, int *fds, int *pins)
{
	char want[64], *buf, *line, *save;
	long n;

	*fds = *pins = 0;
	buf = malloc(1 << 20);
	if (!buf)
		return;
	n = vt_read_file(PINS_PATH, buf, 1 << 20);
	if (n < 0) {
		free(buf);
		*fds = *pins = -1;
		return;
	}
	snprintf(want, sizeof(want), " pid=%d fd=%d ", pid, fd);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, want))
			continue;
		if (!strncmp(line, "fd ", 3))
			(*fds)++;
		else if (!strncmp(line, "pin ", 4))
			(*pins)++;
	}
	free(buf);
}

static pid_t start_child(int unshare_files, int *fd)
{
	int msg[2];
	pid_t pid;

	if (pipe(report_pipe))
		return -1;
	pid = fork();
	if (!pid) {
		pthread_t t;

		if (pthread_create(&t, NULL, holder,
				   unshare_files ? (void *)1 : NULL))
			_exit(13);
		if (unshare_files)
			for (;;)
				pause();
		/*
		 * The leader exits, the holder thread keeps the table: the
		 * exit system call ends the calling thread only (no
		 * pthread_exit(): it needs libgcc_s at run time).
		 */
		syscall(SYS_exit, 0);
	}
	if (read(report_pipe[0], msg, sizeof(msg)) != sizeof(msg)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*fd = msg[0];
	close(report_pipe[0]);
	close(report_pipe[1]);
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int skip_reason(void)
{
	int fd = vt_open();

	if (fd < 0)
		return 1;
	close(fd);
	return access(PINS_PATH, R_OK) ? 2 : 0;
}

TEST(listed_after_leader_exit)
{
	int fd, fds, pins, i;
	pid_t pid;

	if (skip_reason())
		SKIP(return, "no /dev/vtop or no %s", PINS_PATH);
	pid = start_child(0, &fd);
	ASSERT_LT(0, pid);
	/* Wait for the leader to be a zombie: its table is gone then. */
	for (i = 0; i < 500 && task_state(pid, pid) != 'Z'; i++)
		usleep(10000);
	EXPECT_EQ('Z', task_state(pid, pid));
	count_lines(pid, fd, &fds, &pins);
	stop_child(pid);
	EXPECT_EQ(1, fds) TH_LOG("fd lines for pid %d fd %d", pid, fd);
	EXPECT_EQ(1, pins) TH_LOG("pin lines for pid %d fd %d", pid, fd);
}

TEST(listed_from_unshared_table)
{
	int fd, fds, pins;
	pid_t pid;

	if (skip_reason())
		SKIP(return, "no /dev/vtop or no %s", PINS_PATH);
	pid = start_child(1, &fd);
	ASSERT_LT(0, pid);
	count_lines(pid, fd, &fds, &pins);
	stop_child(pid);
	EXPECT_EQ(1, fds) TH_LOG("fd lines for pid %d fd %d", pid, fd);
	EXPECT_EQ(1, pins) TH_LOG("pin lines for pid %d fd %d", pid, fd);
}

TEST_HARNESS_MAIN
