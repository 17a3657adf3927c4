// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM rig self-test helper: take long-term page pins the way an io_uring
 * fixed buffer does (pin_user_pages with FOLL_LONGTERM), hand them to a
 * child that keeps them for SECONDS, and exit at once. The test runner must
 * see the pins outlive the test and report a pin leak.
 *
 * usage: pin_holder SECONDS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define BUF_LEN (16 * 4096)

int main(int argc, char **argv)
{
	struct io_uring_params p;
	struct iovec iov;
	unsigned int secs;
	void *buf;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
		return 2;
	}
	secs = (unsigned int)strtoul(argv[1], NULL, 0);

	buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(buf, 1, BUF_LEN);

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0) {
		perror("io_uring_setup");
		return errno == ENOSYS || errno == EPERM ? 4 : 1;
	}
	iov.iov_base = buf;
	iov.iov_len = BUF_LEN;
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS,
		    &iov, 1) < 0) {
		perror("IORING_REGISTER_BUFFERS");
		return 1;
	}
	printf("# pinned %d pages\n", BUF_LEN / 4096);
	fflush(stdout);

	switch (fork()) {
	case -1:
		perror("fork");
		return 1;
	case 0:
		/* Child: keep the ring (and its pins) alive, away from the
		 * runner's output pipe. */
		close(0);
		close(1);
		close(2);
		sleep(secs);
		_exit(0);
	default:
		return 0;
	}
}
