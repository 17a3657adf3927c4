// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifetime of pins and of the module: close and exit release every pin
 * (and uncharge the address space that was charged), a forked child or a
 * process that received the fd over SCM_RIGHTS gets -EACCES and touches
 * nothing, and the module cannot be unloaded while an fd is open but
 * unloads (and loads again) cleanly once none is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define NPAGES	16
#define LEN	(NPAGES * VT_PAGE_SIZE)

static char *map_populated(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Wait until the system-wide FOLL_PIN balance is back to @want: a release
 * that runs from an exiting task completes before its parent is notified,
 * so this normally returns at once; allow 2 s before calling it a leak.
 */
static int64_t wait_foll_pins(int64_t want)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int64_t now = want + 1;
	int i;

	for (i = 0; i < 200; i++) {
		if (vt_foll_pins(&now) || now == want)
			break;
		nanosleep(&ts, NULL);
	}
	return now;
}

TEST(close_releases)
{
	struct vt_snap base, pinned;
	char *a, *b;
	uint64_t h;
	uint32_t nr;
	struct vtop_segment segs[NPAGES];
	int fd, i;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN);
	b = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	for (i = 0; i < 3; i++) {
		nr = NPAGES;
		ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	}
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, b, LEN, VTOP_PIN_READONLY, segs, &nr, &h));
	ASSERT_EQ(0, vt_snap(&pinned));
	EXPECT_EQ(base.foll_pins + 4 * NPAGES, pinned.foll_pins);
	EXPECT_EQ(base.vmpin_kb + 4 * LEN / 1024, pinned.vmpin_kb);
	ASSERT_EQ(0, close(fd));
	VT_EXPECT_NO_LEAK(base);
	munmap(a, LEN);
	munmap(b, LEN);
}

/* a closed fd left its memory alone: the process can still use it */
TEST(close_then_reuse_memory)
{
	struct vtop_segment segs[NPAGES];
	struct vt_snap base;
	uint32_t nr = NPAGES;
	uint64_t h;
	char *a;
	int fd;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	ASSERT_EQ(0, close(fd));
	memset(a, 0x3c, LEN);
	ASSERT_EQ(0, munmap(a, LEN));
	VT_EXPECT_NO_LEAK(base);
	/* and a new fd pins afresh */
	fd = vt_open();
	ASSERT_LE(0, fd);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	nr = NPAGES;
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	VT_EXPECT_SEGS(segs, nr, a, LEN);
	ASSERT_EQ(0, close(fd));
	munmap(a, LEN);
	VT_EXPECT_NO_LEAK(base);
}

/* child: open, pin, report, then leave by @how without closing */
static void pin_and_leave(int report, int how)
{
	struct vtop_segment segs[NPAGES];
	uint32_t nr = NPAGES;
	char *a = map_populated(4 * LEN);
	char ok = 0;
	int fd, i;

	fd = vt_open();
	for (i = 0; fd >= 0 && a && i < 4; i++) {
		nr = NPAGES;
		if (vt_pin(fd, a + i * LEN, LEN, 0, segs, &nr, NULL))
			break;
	}
	ok = i == 4;
	if (write(report, &ok, 1) != 1)
		_exit(2);
	if (how == 0)
		_exit(0);
	if (how == 1)
		exit(0);
	pause();		/* killed by the parent */
	_exit(3);
}

static void exit_case(struct __test_metadata *_metadata, int how)
{
	struct vt_snap base;
	int pfd[2], status;
	int64_t after;
	pid_t pid;
	char ok = 0;

	ASSERT_EQ(0, vt_snap(&base));
	if (access(VTOP_DEVICE_PATH, F_OK))
		SKIP(return, "no %s", VTOP_DEVICE_PATH);
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		pin_and_leave(pfd[1], how);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &ok, 1));
	close(pfd[0]);
	EXPECT_EQ(1, ok) TH_LOG("child could not pin");
	if (how == 2) {
		int64_t held;

		ASSERT_EQ(0, vt_foll_pins(&held));
		EXPECT_EQ(base.foll_pins + 4 * NPAGES, held);
		ASSERT_EQ(0, kill(pid, SIGKILL));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (how == 2) {
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	after = wait_foll_pins(base.foll_pins);
	EXPECT_EQ(base.foll_pins, after) TH_LOG("pins outlived the process");
}

TEST(exit_releases)
{
	exit_case(_metadata, 0);
}

TEST(exit_with_atexit_releases)
{
	exit_case(_metadata, 1);
}

TEST(sigkill_releases)
{
	exit_case(_metadata, 2);
}

enum { R_INFO, R_PIN_OWN, R_PIN_PARENT, R_UNPIN, R_GET_SEGS, R_NR };
static const char *const r_name[R_NR] = {
	"INFO", "PIN (own memory)", "PIN (opener's range)", "UNPIN",
	"GET_SEGS",
};

/* every command from a process that did not open @fd */
static void foreign_calls(int fd, uint64_t handle, void *parent_buf,
			  int *res)
{
	struct vtop_segment segs[NPAGES];
	struct vtop_info info;
	uint32_t nr = NPAGES;
	char *own = map_populated(LEN);

	res[R_INFO] = vt_info(fd, &info);
	res[R_PIN_OWN] = own ? vt_pin(fd, own, LEN, 0, segs, &nr, NULL) : -999;
	nr = NPAGES;
	res[R_PIN_PARENT] = vt_pin(fd, parent_buf, LEN, 0, segs, &nr, NULL);
	nr = NPAGES;
	res[R_GET_SEGS] = vt_get_segs(fd, handle, 0, 0, segs, &nr);
	res[R_UNPIN] = vt_unpin(fd, handle);
}

static void expect_refused(struct __test_metadata *_metadata, const int *res)
{
	int i;

	for (i = 0; i < R_NR; i++)
		EXPECT_EQ(-EACCES, res[i]) TH_LOG("%s from another mm",
						   r_name[i]);
}

/* the opener's pin is untouched and still works */
static void expect_intact(struct __test_metadata *_metadata, int fd,
			  uint64_t handle, char *buf, int64_t foll_pins)
{
	struct vtop_segment segs[NPAGES];
	struct vtop_info info;
	uint32_t nr = NPAGES;
	int64_t now;

	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(1U, info.nr_pins);
	EXPECT_EQ((unsigned long long)LEN, info.pinned_bytes);
	ASSERT_EQ(0, vt_foll_pins(&now));
	EXPECT_EQ(foll_pins, now);
	ASSERT_EQ(0, vt_get_segs(fd, handle, 0, 0, segs, &nr));
	VT_EXPECT_SEGS(segs, nr, buf, LEN);
}

TEST(fork_child_refused)
{
	struct vtop_segment segs[NPAGES];
	struct vt_snap base, pinned;
	uint32_t nr = NPAGES;
	int *res, status, fd;
	uint64_t h;
	char *a;
	pid_t pid;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	res = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	ASSERT_EQ(0, vt_snap(&pinned));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		foreign_calls(fd, h, a, res);
		/* closing the inherited fd must not release the parent's pin */
		close(fd);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	expect_refused(_metadata, res);
	expect_intact(_metadata, fd, h, a, pinned.foll_pins);
	EXPECT_EQ(0, vt_unpin(fd, h));
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	munmap(res, VT_PAGE_SIZE);
	munmap(a, LEN);
}

/*
 * fork() after a pin must not break it: whoever writes first after the
 * fork, the parent keeps the very pages the device was given (the kernel
 * copies pinned anonymous pages for the child at fork time). Checked for a
 * writable and a READONLY pin of 4 KiB pages and of a THP.
 */
static void fork_coherent(struct __test_metadata *_metadata,
			  enum vt_kind kind, uint32_t flags, size_t len)
{
	struct vtop_segment *segs;
	struct vt_snap base;
	int status, fd;
	uint64_t h;
	uint32_t nr;
	pid_t pid;
	void *p;
	int ret;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	ret = vt_buf_alloc(kind, len, &p);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no %s memory", vt_kind_name(kind));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, vt_pin_alloc(fd, p, len, flags, &segs, &nr, &h));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* the child writes its copy first */
		memset(p, 0xcc, len);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* then the parent */
	memset(p, 0x33, len);
	VT_EXPECT_SEGS(segs, nr, p, len);
	EXPECT_EQ(0x33, ((volatile char *)p)[len - 1]);

	/* and once more with the parent writing while the child lives */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(100 * 1000);
		memset(p, 0xdd, len);
		_exit(0);
	}
	memset(p, 0x44, len);
	VT_EXPECT_SEGS(segs, nr, p, len);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	VT_EXPECT_SEGS(segs, nr, p, len);
	EXPECT_EQ(0x44, ((volatile char *)p)[0]);

	ASSERT_EQ(0, vt_unpin(fd, h));
	free(segs);
	close(fd);
	vt_buf_free(p, len);
	VT_EXPECT_NO_LEAK(base);
}

TEST(fork_keeps_pin_coherent_4k)
{
	fork_coherent(_metadata, VT_KIND_4K, 0, LEN);
}

TEST(fork_keeps_pin_coherent_4k_readonly)
{
	fork_coherent(_metadata, VT_KIND_4K, VTOP_PIN_READONLY, LEN);
}

TEST(fork_keeps_pin_coherent_thp)
{
	fork_coherent(_metadata, VT_KIND_THP, 0, VT_HPAGE_SIZE);
}

/*
 * The opener closes its fd while a forked child still holds it: the pin
 * lives on, and the child's exit releases it and uncharges the opener.
 */
TEST(fork_last_close_in_child)
{
	struct vtop_segment segs[NPAGES];
	struct vt_snap base, pinned, now;
	uint32_t nr = NPAGES;
	int status, fd, pfd[2];
	char c = 0;
	uint64_t h;
	char *a;
	pid_t pid;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	ASSERT_EQ(0, vt_snap(&pinned));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[1]);
		/* hold the fd until the parent has closed its copy */
		if (read(pfd[0], &c, 1) != 1)
			_exit(1);
		close(fd);
		_exit(0);
	}
	close(pfd[0]);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, vt_snap(&now));
	VT_EXPECT_SNAP(pinned, now);
	ASSERT_EQ(1, write(pfd[1], &c, 1));
	close(pfd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(base.foll_pins, wait_foll_pins(base.foll_pins));
	VT_EXPECT_NO_LEAK(base);
	munmap(a, LEN);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno ? -errno : -EIO;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * A process that never had the fd (forked before the open) receives it
 * over a UNIX socket: every command is refused, nothing is touched.
 */
TEST(scm_rights_refused)
{
	struct vtop_segment segs[NPAGES];
	struct vt_snap base, pinned;
	uint32_t nr = NPAGES;
	int *res, sv[2], status, fd;
	uint64_t h;
	char *a;
	pid_t pid;

	ASSERT_EQ(0, vt_snap(&base));
	if (access(VTOP_DEVICE_PATH, F_OK))
		SKIP(return, "no %s", VTOP_DEVICE_PATH);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	res = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	/* the receiver: a copy of our address space, so @a is valid there */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t hh;
		int rfd;

		close(sv[0]);
		if (read(sv[1], &hh, sizeof(hh)) != sizeof(hh))
			_exit(1);
		rfd = recv_fd(sv[1]);
		if (rfd < 0)
			_exit(2);
		foreign_calls(rfd, hh, a, res);
		close(rfd);
		_exit(0);
	}
	close(sv[1]);
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, &h));
	ASSERT_EQ(0, vt_snap(&pinned));
	ASSERT_EQ((ssize_t)sizeof(h), write(sv[0], &h, sizeof(h)));
	ASSERT_EQ(0, send_fd(sv[0], fd));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("receiver status 0x%x", status);
	expect_refused(_metadata, res);
	expect_intact(_metadata, fd, h, a, pinned.foll_pins);
	EXPECT_EQ(0, vt_unpin(fd, h));
	close(fd);
	close(sv[0]);
	VT_EXPECT_NO_LEAK(base);
	munmap(res, VT_PAGE_SIZE);
	munmap(a, LEN);
}

/*
 * The opener pins, passes the fd to us and exits; we hold the last
 * reference. Our close releases the pins of an address space that is
 * gone.
 */
TEST(scm_rights_opener_exits)
{
	struct vt_snap base;
	int sv[2], status, fd, res[R_NR];
	int64_t held;
	pid_t pid;

	ASSERT_EQ(0, vt_snap(&base));
	if (access(VTOP_DEVICE_PATH, F_OK))
		SKIP(return, "no %s", VTOP_DEVICE_PATH);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vtop_segment segs[NPAGES];
		uint32_t nr = NPAGES;
		char *a = map_populated(LEN);
		int cfd;

		close(sv[0]);
		cfd = vt_open();
		if (cfd < 0 || !a || vt_pin(cfd, a, LEN, 0, segs, &nr, NULL))
			_exit(1);
		if (send_fd(sv[1], cfd))
			_exit(2);
		_exit(0);
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the pin outlives its process while we hold the fd */
	ASSERT_EQ(0, vt_foll_pins(&held));
	EXPECT_EQ(base.foll_pins + NPAGES, held);
	{
		char *own = map_populated(LEN);

		ASSERT_NE(NULL, own);
		foreign_calls(fd, 1, own, res);
		expect_refused(_metadata, res);
		munmap(own, LEN);
	}
	ASSERT_EQ(0, close(fd));
	close(sv[0]);
	EXPECT_EQ(base.foll_pins, wait_foll_pins(base.foll_pins));
	VT_EXPECT_NO_LEAK(base);
}

/* ---- module unload ------------------------------------------------------- */

static int module_live(void)
{
	char buf[32];

	if (vt_read_file("/sys/module/vtop/initstate", buf, sizeof(buf)) < 0)
		return 0;
	return !strncmp(buf, "live", 4);
}

static long delete_vtop(void)
{
	return syscall(SYS_delete_module, "vtop", O_NONBLOCK) ? -errno : 0;
}

TEST(unload_refused_while_open)
{
	struct vtop_segment segs[NPAGES];
	struct vtop_info info;
	uint32_t nr = NPAGES;
	char *a;
	long ret;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	a = map_populated(LEN);
	ASSERT_NE(NULL, a);
	/* with an fd open and no pin, then with a pin */
	ret = delete_vtop();
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY)
		TH_LOG("delete_module with an fd open: %ld", ret);
	ASSERT_EQ(0, vt_pin(fd, a, LEN, 0, segs, &nr, NULL));
	ret = delete_vtop();
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY)
		TH_LOG("delete_module with a pin: %ld", ret);
	EXPECT_TRUE(module_live());
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(1U, info.nr_pins);
	close(fd);
	munmap(a, LEN);
}

/* the module's file in the guest rig, or an installed one */
static int find_module(char *path, size_t len)
{
	struct utsname u;

	if (!access("/vtop/vtop.ko", R_OK)) {
		snprintf(path, len, "/vtop/vtop.ko");
		return 0;
	}
	if (uname(&u))
		return -errno;
	snprintf(path, len, "/lib/modules/%s/extra/vtop.ko", u.release);
	return access(path, R_OK) ? -ENOENT : 0;
}

/* "name=value ..." of the module's current parameters */
static void current_params(char *out, size_t len)
{
	DIR *d = opendir("/sys/module/vtop/parameters");
	struct dirent *de;
	size_t used = 0;

	out[0] = '\0';
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512], val[128];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/module/vtop/parameters/%s",
			 de->d_name);
		if (vt_read_file(path, val, sizeof(val)) <= 0)
			continue;
		val[strcspn(val, "\n")] = '\0';
		used += snprintf(out + used, len - used, "%s%s=%s",
				 used ? " " : "", de->d_name, val);
		if (used >= len) {
			out[len - 1] = '\0';
			break;
		}
	}
	closedir(d);
}

static int dev_is_devtmpfs(void)
{
	static char buf[16384];

	if (vt_read_file("/proc/self/mounts", buf, sizeof(buf)) < 0)
		return 0;
	return strstr(buf, "devtmpfs /dev devtmpfs") != NULL ||
	       strstr(buf, "udev /dev devtmpfs") != NULL ||
	       strstr(buf, " /dev devtmpfs ") != NULL;
}

/*
 * With no fd open the module unloads, and loads again from its file with
 * the same parameters; the device works afterwards. Last in this file, as
 * it briefly takes the module away.
 */
TEST(unload_and_reload)
{
	char path[512], params[1024], refcnt[32];
	struct vtop_info info;
	struct stat st;
	long ret;
	int fd, mfd;

	if (!module_live())
		SKIP(return, "vtop module not loaded");
	if (find_module(path, sizeof(path)))
		SKIP(return, "no vtop.ko to load again");
	if (!dev_is_devtmpfs())
		SKIP(return, "/dev is not devtmpfs: the node would go stale");
	if (vt_read_file("/sys/module/vtop/refcnt", refcnt, sizeof(refcnt)) > 0 &&
	    atoi(refcnt) != 0)
		SKIP(return, "vtop is in use (refcnt %d)", atoi(refcnt));
	current_params(params, sizeof(params));
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, mfd) TH_LOG("%s: %s", path, strerror(errno));

	ret = delete_vtop();
	ASSERT_EQ(0, ret) TH_LOG("delete_module with no fd open: %s",
				 strerror((int)-ret));
	EXPECT_NE(0, access("/sys/module/vtop", F_OK));
	EXPECT_NE(0, access(VTOP_DEVICE_PATH, F_OK));
	EXPECT_EQ(-ENOENT, vt_open());

	ret = syscall(SYS_finit_module, mfd, params, 0) ? -errno : 0;
	close(mfd);
	ASSERT_EQ(0, ret) TH_LOG("finit_module(%s, \"%s\"): %s", path, params,
				 strerror((int)-ret));
	EXPECT_TRUE(module_live());
	ASSERT_EQ(0, stat(VTOP_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777U);
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(0U, info.nr_pins);
	close(fd);
}

TEST_HARNESS_MAIN
