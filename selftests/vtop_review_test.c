// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attached mode under review: what happens to the device's Bus Master
 * Enable bit when attached fds are closed with live pins.
 *
 *  - bme_kept_for_kernel_driver: with attach_any_driver=1 an fd may be
 *    attached to a device a kernel driver (here nvme) drives. Closing it
 *    with live pins must not clear bus mastering: the kernel driver, not
 *    the closing process, programmed the device, and its DMA would stop.
 *  - bme_cleared_when_two_close_together: two processes attached to the
 *    same uio_pci_generic device, both with live pins, close their fds at
 *    the same time (the second while the first is still unpinning). The
 *    device has no user left, so bus mastering must end up cleared; a
 *    releasing fd is no other user.
 *
 *  - unbind_while_releasing: the device is unbound while an attached fd's
 *    release is still unpinning: the release and the revocation meet (the
 *    notifier revokes an fd being released), everything is unpinned, the
 *    close returns.
 *
 * They need an NVMe controller behind a strict IOMMU and root; NVMe
 * scenario 12 boots such a guest (selftests/nvme/scenario12.sh). Elsewhere
 * they skip.
 *
 *  - pins_walk_vs_exit (no device): /sys/kernel/debug/vtop/pins read over
 *    and over while processes open, pin, pass between their threads (one
 *    with a descriptor table of its own) and close /dev/vtop fds, and exit
 *    leader first: the walk over every task's table must never touch a
 *    file or task being freed (KASAN in the debug kernel, the kernel log
 *    check everywhere).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define STATS_PATH	"/sys/kernel/debug/vtop/stats"

static char bdf_str[32];
static unsigned int pci_dom, pci_bdf;

/* The first NVMe controller (class 0x010802) into bdf_str; 0 or -ENODEV. */
static int find_nvme(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[300], cls[32];
	unsigned int b, s, f;
	int ret = -ENODEV;

	if (!d)
		return ret;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class",
			 e->d_name);
		if (vt_read_file(path, cls, sizeof(cls)) <= 0 ||
		    strncmp(cls, "0x010802", 8))
			continue;
		if (sscanf(e->d_name, "%x:%x:%x.%x", &pci_dom, &b, &s, &f) != 4)
			continue;
		pci_bdf = b << 8 | s << 3 | f;
		if (strlen(e->d_name) >= sizeof(bdf_str))
			continue;
		memcpy(bdf_str, e->d_name, strlen(e->d_name) + 1);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

static const char *dev_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "/sys/bus/pci/devices/%s/%s", bdf_str, file);
	return buf;
}

/* The name of the driver bound to the controller, "" for none. */
static void driver_name(char *name, size_t len)
{
	char path[300], link[300];
	ssize_t n;

	n = readlink(dev_path(path, sizeof(path), "driver"), link,
		     sizeof(link) - 1);
	name[0] = 0;
	if (n <= 0)
		return;
	link[n] = 0;
	snprintf(name, len, "%s", strrchr(link, '/') + 1);
}

/*
 * The tests bind and unbind the controller. Whatever it was bound to when
 * the program started (the debug lane binds it to uio_pci_generic for the
 * tests that follow this one) is restored when the program ends, in the
 * harness's own process only (not in a test's or a child's exit).
 */
static pid_t saved_pid;
static char saved_drv[64], saved_override[64];

static void __attribute__((constructor)) save_binding(void)
{
	char path[300];

	if (find_nvme())
		return;
	saved_pid = getpid();
	driver_name(saved_drv, sizeof(saved_drv));
	if (vt_read_file(dev_path(path, sizeof(path), "driver_override"),
			 saved_override, sizeof(saved_override)) <= 0 ||
	    !strncmp(saved_override, "(null)", 6))
		saved_override[0] = 0;
	saved_override[strcspn(saved_override, "\n")] = 0;
}

static void __attribute__((destructor)) restore_binding(void)
{
	char path[300], name[64];

	if (!saved_pid || getpid() != saved_pid)
		return;
	driver_name(name, sizeof(name));
	if (!strcmp(name, saved_drv))
		return;
	if (name[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind",
			 name);
		vt_write_file(path, bdf_str);
	}
	vt_write_file(dev_path(path, sizeof(path), "driver_override"),
		      saved_override[0] ? saved_override : "\n");
	if (saved_drv[0])
		vt_write_file("/sys/bus/pci/drivers_probe", bdf_str);
}

/* Bind the controller to @drv ("" leaves it without a driver). */
static int bind(const char *drv)
{
	char path[300], name[64];

	driver_name(name, sizeof(name));
	if (name[0] && !strcmp(name, drv))
		return 0;
	if (name[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind",
			 name);
		if (vt_write_file(path, bdf_str))
			return -EIO;
	}
	if (vt_write_file(dev_path(path, sizeof(path), "driver_override"),
			  drv[0] ? drv : "\n"))
		return -EIO;
	if (!drv[0])
		return 0;
	vt_write_file("/sys/bus/pci/drivers_probe", bdf_str);
	driver_name(name, sizeof(name));
	return strcmp(name, drv) ? -ENODEV : 0;
}

/* The Command register's Bus Master Enable bit, or -1. */
static int bme(void)
{
	char path[300];
	uint16_t cmd;
	int fd = open(dev_path(path, sizeof(path), "config"),
		      O_RDONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	ok = pread(fd, &cmd, 2, 4) == 2;
	close(fd);
	return ok ? !!(cmd & 4) : -1;
}

static int set_bme(void)
{
	char path[300];
	uint16_t cmd;
	int fd = open(dev_path(path, sizeof(path), "config"),
		      O_RDWR | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -errno;
	ok = pread(fd, &cmd, 2, 4) == 2;
	cmd |= 4;
	ok = ok && pwrite(fd, &cmd, 2, 4) == 2;
	close(fd);
	return ok && bme() == 1 ? 0 : -EIO;
}

static int attach(int fd)
{
	struct vtop_attach a = {
		.size = sizeof(a), .pci_domain = pci_dom, .pci_bdf = pci_bdf,
	};

	return vt_ioctl(fd, VTOP_IOC_ATTACH, &a);
}

/* live_pins of the module's debugfs counters, or -1. */
static long long live_pins(void)
{
	char buf[4096], *p;

	if (vt_read_file(STATS_PATH, buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "live_pins ");
	return p ? atoll(p + 10) : -1;
}

static void ms_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Skip unless there is a controller, root and an IOMMU-attachable module. */
#define NEED_DEVICE() do {						\
	if (geteuid())							\
		SKIP(return, "needs root");				\
	if (find_nvme())						\
		SKIP(return, "no NVMe controller (NVMe scenario 12)");	\
	if (access("/sys/class/iommu", F_OK))				\
		SKIP(return, "no IOMMU");				\
	if (access(STATS_PATH, R_OK))					\
		SKIP(return, "no %s", STATS_PATH);			\
} while (0)

/* The controller's nvme class device is "live" (or 30 s pass): 0 or -1. */
static int wait_nvme_live(void)
{
	char path[600], st[32];
	DIR *d;
	struct dirent *e;
	int i;

	for (i = 0; i < 3000; i++) {
		d = opendir(dev_path(path, sizeof(path), "nvme"));
		while (d && (e = readdir(d))) {
			if (strncmp(e->d_name, "nvme", 4))
				continue;
			snprintf(path, sizeof(path),
				 "/sys/bus/pci/devices/%s/nvme/%s/state",
				 bdf_str, e->d_name);
			if (vt_read_file(path, st, sizeof(st)) > 0 &&
			    !strncmp(st, "live", 4)) {
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
		ms_sleep(10);
	}
	return -1;
}

TEST(bme_kept_for_kernel_driver)
{
	char any[8] = "", *buf;
	uint64_t h;
	int fd, ret, b;

	NEED_DEVICE();
	if (vt_read_file("/sys/module/vtop/parameters/attach_any_driver",
			 any, sizeof(any)) <= 0 || any[0] != 'Y')
		SKIP(return, "vtop loaded without attach_any_driver=1");
	if (access("/sys/bus/pci/drivers/nvme", F_OK))
		SKIP(return, "no nvme driver in the guest");
	ASSERT_EQ(0, bind("nvme"));
	ASSERT_EQ(0, wait_nvme_live()) TH_LOG("the nvme driver did not bring the controller up");
	ASSERT_EQ(1, bme()) TH_LOG("the nvme driver left bus mastering off");

	buf = mmap(NULL, 16 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fd = vt_open();
	ASSERT_LE(0, fd);
	ret = attach(fd);
	ASSERT_EQ(0, ret) TH_LOG("ATTACH to the nvme-driven controller: %d", ret);
	ASSERT_EQ(0, vt_pin_simple(fd, buf, 16 * VT_PAGE_SIZE, &h));
	close(fd);
	b = bme();
	/* Give the kernel driver its device back before anything else. */
	if (b != 1)
		set_bme();
	EXPECT_EQ(1, b) TH_LOG("closing an fd attached to a kernel-driven device cleared its Bus Master Enable");
	munmap(buf, 16 * VT_PAGE_SIZE);
	EXPECT_EQ(0, bind(""));
}

/*
 * A child attached to the controller with @npins one-page pins: tells the
 * parent on @ready, closes the fd when @go says so, exits.
 */
static pid_t attached_child(unsigned int npins, int ready, int go)
{
	pid_t pid = fork();
	unsigned int i;
	uint64_t h;
	char *buf, c = 'r';
	int fd;

	if (pid)
		return pid;
	buf = mmap(NULL, (size_t)npins * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	fd = vt_open();
	if (buf == MAP_FAILED || fd < 0 || attach(fd))
		_exit(2);
	for (i = 0; i < npins; i++)
		if (vt_pin_simple(fd, buf + (size_t)i * VT_PAGE_SIZE,
				  VT_PAGE_SIZE, &h))
			_exit(3);
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		_exit(4);
	close(fd);
	c = 'd';
	if (write(ready, &c, 1) != 1)
		_exit(5);
	_exit(0);
}

/*
 * One round: A (@npins pins) closes; once its release is unpinning, B (one
 * pin) closes. Return whether B's close returned while A still had pins
 * (A still attached while B's release looked for other users), or -1.
 */
static int close_together(struct __test_metadata *_metadata,
			  unsigned int npins)
{
	int ra[2], ga[2], rb[2], gb[2], st, i, hit;
	long long l0, l;
	pid_t a, b;
	char c;

	ASSERT_EQ(0, pipe(ra));
	ASSERT_EQ(0, pipe(ga));
	ASSERT_EQ(0, pipe(rb));
	ASSERT_EQ(0, pipe(gb));
	a = attached_child(npins, ra[1], ga[0]);
	ASSERT_LT(0, a);
	b = attached_child(1, rb[1], gb[0]);
	ASSERT_LT(0, b);
	ASSERT_EQ(1, read(ra[0], &c, 1)) TH_LOG("child A did not get ready");
	ASSERT_EQ(1, read(rb[0], &c, 1)) TH_LOG("child B did not get ready");
	l0 = live_pins();
	ASSERT_EQ((long long)npins + 1, l0);

	c = 'g';
	ASSERT_EQ(1, write(ga[1], &c, 1));
	/* A's release unpins after it looked for other users. */
	for (i = 0; i < 60000; i++) {
		l = live_pins();
		if (l < l0)
			break;
		ms_sleep(1);
	}
	ASSERT_LT(l, l0) TH_LOG("A's close never started unpinning");
	ASSERT_EQ(1, write(gb[1], &c, 1));
	ASSERT_EQ(1, read(rb[0], &c, 1));
	/* B's release is over; is A's still going? */
	hit = live_pins() > 0;
	ASSERT_EQ(1, read(ra[0], &c, 1));
	ASSERT_EQ(b, waitpid(b, &st, 0));
	EXPECT_EQ(0, st);
	ASSERT_EQ(a, waitpid(a, &st, 0));
	EXPECT_EQ(0, st);
	for (i = 0; i < 2; i++) {
		close(ra[i]);
		close(ga[i]);
		close(rb[i]);
		close(gb[i]);
	}
	return hit;
}

TEST(bme_cleared_when_two_close_together)
{
	unsigned int npins;
	int hit = 0, b;

	NEED_DEVICE();
	if (bind("uio_pci_generic"))
		SKIP(return, "cannot bind %s to uio_pci_generic", bdf_str);
	for (npins = 2048; npins <= 32768 && !hit; npins *= 2) {
		ASSERT_EQ(0, set_bme());
		hit = close_together(_metadata, npins);
		ASSERT_LE(0, hit);
		TH_LOG("%u pins: B closed %s A's release ended", npins,
		       hit ? "before" : "after");
	}
	if (!hit)
		SKIP(return, "B's close never overlapped A's release");
	b = bme();
	EXPECT_EQ(0, b) TH_LOG("both attached fds closed with live pins, bus mastering left on (%d)", b);
	EXPECT_EQ(0, bind(""));
}

/*
 * One round of unbind_while_releasing with @npins pins: whether the unbind
 * returned while the release still had pins (it revoked an fd being
 * released).
 */
static int unbind_round(struct __test_metadata *_metadata, unsigned int npins)
{
	int ready[2], go[2], st, i, hit;
	int64_t pins0, pins1;
	long long l0, l = 0;
	char c = 'g';
	pid_t a;

	ASSERT_EQ(0, bind("uio_pci_generic"));
	ASSERT_EQ(0, vt_foll_pins(&pins0));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	a = attached_child(npins, ready[1], go[0]);
	ASSERT_LT(0, a);
	ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("the child did not get ready");
	l0 = live_pins();
	ASSERT_EQ((long long)npins, l0);
	ASSERT_EQ(1, write(go[1], &c, 1));
	for (i = 0; i < 60000; i++) {
		l = live_pins();
		if (l < l0)
			break;
		ms_sleep(1);
	}
	ASSERT_LT(l, l0) TH_LOG("the close never started unpinning");
	ASSERT_EQ(0, vt_write_file("/sys/bus/pci/drivers/uio_pci_generic/unbind",
				   bdf_str));
	/* The unbind revoked the releasing fd if it still had pins. */
	hit = live_pins() > 0;
	ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("the close did not return");
	ASSERT_EQ(a, waitpid(a, &st, 0));
	EXPECT_EQ(0, st);
	EXPECT_EQ(0, live_pins());
	ASSERT_EQ(0, vt_foll_pins(&pins1));
	EXPECT_EQ(pins0, pins1) TH_LOG("FOLL_PIN balance moved by %lld",
				      (long long)(pins1 - pins0));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	return hit;
}

TEST(unbind_while_releasing)
{
	unsigned int npins;
	char path[300];
	int hit = 0;

	NEED_DEVICE();
	if (bind("uio_pci_generic"))
		SKIP(return, "cannot bind %s to uio_pci_generic", bdf_str);
	for (npins = 4096; npins <= 32768 && !hit; npins *= 2) {
		hit = unbind_round(_metadata, npins);
		TH_LOG("%u pins: the unbind came %s the release ended", npins,
		       hit ? "before" : "after");
	}
	vt_write_file(dev_path(path, sizeof(path), "driver_override"), "\n");
	if (!hit)
		SKIP(return, "the unbind came after the release had ended");
}

#define CHURN_PROCS	48
#define CHURN_THREADS	3

/*
 * A thread of a churn process: opens /dev/vtop (thread 1 in a descriptor
 * table of its own), pins a page, dups the fd and exits, leaving the fd to
 * the table (thread 1's table goes with it).
 */
static void *churn_thread(void *arg)
{
	long n = (long)arg;
	uint64_t h;
	char *p;
	int fd;

	if (n == 1 && unshare(CLONE_FILES))
		syscall(SYS_exit, 1);
	p = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	fd = vt_open();
	if (p != MAP_FAILED && fd >= 0) {
		vt_pin_simple(fd, p, VT_PAGE_SIZE, &h);
		dup(fd);
		if (n == 2)
			close(fd);
	}
	syscall(SYS_exit, 0);
	return NULL;
}

/* A churn process: an fd with a pin, threads, the leader exits first. */
static void churn_proc(void)
{
	pthread_t t;
	uint64_t h;
	char *p;
	long i;
	int fd;

	p = mmap(NULL, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	fd = vt_open();
	if (p != MAP_FAILED && fd >= 0)
		vt_pin_simple(fd, p, VT_PAGE_SIZE, &h);
	for (i = 0; i < CHURN_THREADS; i++)
		pthread_create(&t, NULL, churn_thread, (void *)i);
	syscall(SYS_exit, 0);
}

TEST(pins_walk_vs_exit)
{
	char *buf = malloc(1 << 20);
	int i, st, reads = 0;
	pid_t churn, pid;
	long n;

	ASSERT_NE(NULL, buf);
	if (geteuid() || access("/sys/kernel/debug/vtop/pins", R_OK))
		SKIP(return, "needs root and /sys/kernel/debug/vtop/pins");
	churn = fork();
	ASSERT_LE(0, churn);
	if (!churn) {
		for (i = 0; i < CHURN_PROCS; i++) {
			pid = fork();
			if (!pid)
				churn_proc();
			if (i >= 4)
				wait(NULL);
		}
		while (wait(NULL) > 0)
			;
		_exit(0);
	}
	do {
		n = vt_read_file("/sys/kernel/debug/vtop/pins", buf, 1 << 20);
		ASSERT_LE(0, n) TH_LOG("read %d of the pins file: %ld", reads, n);
		reads++;
	} while (waitpid(churn, &st, WNOHANG) == 0);
	EXPECT_EQ(0, st);
	TH_LOG("%d reads of the pins file while %d processes came and went",
	       reads, CHURN_PROCS);
	free(buf);
}

#define CG_DIR		"/tmp/vtop-review-cg"
#define CG_FDS		2000

static long cg_read(const char *file)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), CG_DIR "/t/%s", file);
	return vt_read_file(path, buf, sizeof(buf)) > 0 ? atol(buf) : -1;
}

/*
 * An open /dev/vtop costs the kernel its struct vtop_file and a page for
 * the event counters: both are charged to the opener's memory cgroup, as
 * its struct file is, or a process would escape its memory limit by
 * opening descriptors (up to RLIMIT_NOFILE, 4.5 KiB each).
 */
TEST(open_charged_to_memcg)
{
	struct rlimit rl = { CG_FDS + 64, CG_FDS + 64 };
	int p[2], st, i, fd;
	long delta = -1;
	char pid[32];
	pid_t child;

	if (geteuid())
		SKIP(return, "needs root");
	mkdir(CG_DIR, 0755);
	if (mount("none", CG_DIR, "cgroup2", 0, NULL))
		SKIP(return, "cannot mount cgroup2: %s", strerror(errno));
	if (vt_write_file(CG_DIR "/cgroup.subtree_control", "+memory") ||
	    mkdir(CG_DIR "/t", 0755)) {
		umount(CG_DIR);
		SKIP(return, "no memory controller");
	}
	ASSERT_EQ(0, pipe(p));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		long m0, m1;

		snprintf(pid, sizeof(pid), "%d", getpid());
		if (vt_write_file(CG_DIR "/t/cgroup.procs", pid) ||
		    setrlimit(RLIMIT_NOFILE, &rl))
			_exit(2);
		m0 = cg_read("memory.current");
		for (i = 0; i < CG_FDS; i++) {
			fd = vt_open();
			if (fd < 0)
				_exit(3);
		}
		m1 = cg_read("memory.current");
		delta = m0 < 0 || m1 < 0 ? -1 : m1 - m0;
		if (write(p[1], &delta, sizeof(delta)) != sizeof(delta))
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(sizeof(delta), read(p[0], &delta, sizeof(delta)));
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_EQ(0, st);
	close(p[0]);
	close(p[1]);
	rmdir(CG_DIR "/t");
	umount(CG_DIR);
	rmdir(CG_DIR);
	ASSERT_LE(0, delta);
	TH_LOG("%d opens of /dev/vtop: memory.current +%ld bytes (%ld a file)",
	       CG_FDS, delta, delta / CG_FDS);
	EXPECT_LE((long)CG_FDS * 2048, delta)
		TH_LOG("the files' kernel memory is not charged to the memory cgroup");
}

/*
 * GET_SEGS of a pin whose device was revoked: its IOVAs are unmapped, so
 * they must not be handed out again as if they were valid.
 */
TEST(get_segs_after_revocation)
{
	struct vtop_segment seg[4];
	uint32_t nr = 4;
	uint64_t h;
	char path[300], *buf;
	int fd, ret;

	NEED_DEVICE();
	if (bind("uio_pci_generic"))
		SKIP(return, "cannot bind %s to uio_pci_generic", bdf_str);
	buf = mmap(NULL, 4 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, attach(fd));
	ASSERT_EQ(0, vt_pin_simple(fd, buf, 4 * VT_PAGE_SIZE, &h));
	ASSERT_EQ(0, vt_get_segs(fd, h, 0, 0, seg, &nr));
	ASSERT_EQ(0, vt_write_file("/sys/bus/pci/drivers/uio_pci_generic/unbind",
				   bdf_str));
	nr = 4;
	ret = vt_get_segs(fd, h, 0, 0, seg, &nr);
	EXPECT_EQ(-ENODEV, ret) TH_LOG("GET_SEGS of a revoked pin: %d, IOVA 0x%llx",
				       ret, (unsigned long long)seg[0].dma_addr);
	EXPECT_EQ(0, vt_unpin(fd, h));
	close(fd);
	munmap(buf, 4 * VT_PAGE_SIZE);
	vt_write_file(dev_path(path, sizeof(path), "driver_override"), "\n");
}

TEST_HARNESS_MAIN
