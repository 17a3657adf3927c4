// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-nvme-attach: attached-mode hardening checks (issue 11) on
 * /dev/vtop directly, for NVMe scenario 7. The controller is bound to
 * uio_pci_generic (or vfio-pci for "expect") behind a translating IOMMU.
 *
 *   expect BDF ERR    ATTACH must fail with errno ERR (a name: EOPNOTSUPP,
 *                     EPERM) or succeed (ERR "0"); the DMA mask must not
 *                     change when it fails
 *   mask BDF          dma_mask_bits in sysfs: unchanged by an ATTACH that
 *                     fails with -EBUSY, 64 while attached, back after
 *                     DETACH, after close, and only after the last of two
 *                     attached fds lets go
 *   race BDF ROUNDS   one thread PINs and UNPINs 64 MiB in a loop, another
 *                     DETACHes (and ATTACHes again) in a loop; the scenario
 *                     traces dma_unmap_sg_attrs() and DETACH's return value
 *                     and fails if a DETACH succeeded during an unmap
 *   race-remove BDF   the race again, but the first DETACH that succeeds
 *                     is followed at once by a sysfs remove of the device:
 *                     an unmap still to come would use a freed device
 *                     (KASAN in the debug kernel)
 *   revoke BDF HOW    ATTACH, pin two buffers, then unbind the driver (HOW
 *                     "unbind") or remove the device ("remove") with the
 *                     pins live: a VTOP_EVENT_REVOKED record per pin, PIN
 *                     -ENODEV, UNPIN 0, DETACH -EBUSY until the last UNPIN,
 *                     then 0; close with a revoked pin live
 *   kill BDF          (bound to vfio-pci) hold a VFIO device fd, let a
 *                     child unbind vfio-pci (which then waits for that fd
 *                     with the device lock held), let another child
 *                     ATTACH: it must wait interruptibly (state S, not D)
 *                     and die on SIGKILL while the unbind still waits
 *
 * Exit 0 pass, 1 fail, 4 skip (no ATTACH).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/vfio.h>
#include <signal.h>
#include <unistd.h>

#include "uapi/linux/vtop.h"
#include "check.h"

#define PAGE		4096UL
#define RACE_LEN	(64UL << 20)

static const char *bdf_str;
static unsigned int dom, bdf;

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int vopen(void)
{
	int fd = open("/dev/vtop", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("/dev/vtop");
		exit(1);
	}
	return fd;
}

static int attach(int fd)
{
	struct vtop_attach a = {
		.size = sizeof(a), .pci_domain = dom, .pci_bdf = bdf,
	};

	return xioctl(fd, VTOP_IOC_ATTACH, &a);
}

static int detach(int fd)
{
	struct vtop_detach d = { .size = sizeof(d) };

	return xioctl(fd, VTOP_IOC_DETACH, &d);
}

static int pin(int fd, void *p, size_t len, uint64_t *handle)
{
	/* Room for one segment per page: physical mode may need it. */
	struct vtop_segment *segs = calloc(len / PAGE, sizeof(*segs));
	struct vtop_pin pn;
	int ret;

	if (!segs)
		return -ENOMEM;
	memset(&pn, 0, sizeof(pn));
	pn.size = sizeof(pn);
	pn.vaddr = (uintptr_t)p;
	pn.length = len;
	pn.segs = (uintptr_t)segs;
	pn.nr_segs = len / PAGE;
	ret = xioctl(fd, VTOP_IOC_PIN, &pn);
	if (!ret)
		*handle = pn.handle;
	free(segs);
	return ret;
}

static int unpin(int fd, uint64_t handle)
{
	struct vtop_unpin u = { .size = sizeof(u), .handle = handle };

	return xioctl(fd, VTOP_IOC_UNPIN, &u);
}

static void *buf(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p, 0x5a, len);
	return p;
}

static int mask_bits(void)
{
	char path[256];
	int bits = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/dma_mask_bits",
		 bdf_str);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%d", &bits) != 1)
		bits = -1;
	if (f)
		fclose(f);
	return bits;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int errno_of(const char *name)
{
	static const struct { const char *n; int e; } tab[] = {
		{ "0", 0 }, { "EOPNOTSUPP", EOPNOTSUPP }, { "EPERM", EPERM },
		{ "EBUSY", EBUSY }, { "ENODEV", ENODEV },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(name, tab[i].n))
			return tab[i].e;
	fprintf(stderr, "unknown errno name %s\n", name);
	exit(2);
}

static void do_expect(const char *name)
{
	int want = errno_of(name), before = mask_bits(), fd = vopen();
	int ret = attach(fd);

	check(ret == -want, "ATTACH returns %d (%s), expected %s", ret,
	      ret ? strerror(-ret) : "success", name);
	if (ret)
		check(mask_bits() == before,
		      "dma_mask_bits after the failed ATTACH: %d (before %d)",
		      mask_bits(), before);
	close(fd);
	check(mask_bits() == before, "dma_mask_bits after close: %d",
	      mask_bits());
}

static void do_mask(void)
{
	int m0 = mask_bits(), fd = vopen(), fd2;
	void *p = buf(PAGE);
	uint64_t h;
	int ret;

	printf("# dma_mask_bits before ATTACH: %d\n", m0);
	check(m0 > 0 && m0 < 64, "the device starts below 64 bits (%d)", m0);
	check(!pin(fd, p, PAGE, &h), "physical-mode PIN");
	ret = attach(fd);
	check(ret == -EBUSY, "ATTACH with a live pin: %d (-EBUSY expected)",
	      ret);
	check(mask_bits() == m0, "dma_mask_bits after the failed ATTACH: %d",
	      mask_bits());
	check(!unpin(fd, h), "UNPIN");
	check(!attach(fd), "ATTACH");
	check(mask_bits() == 64, "dma_mask_bits while attached: %d",
	      mask_bits());
	check(!detach(fd), "DETACH");
	check(mask_bits() == m0, "dma_mask_bits after DETACH: %d",
	      mask_bits());
	check(!attach(fd), "ATTACH again");
	fd2 = vopen();
	check(!attach(fd2), "ATTACH of a second fd");
	close(fd);
	check(mask_bits() == 64,
	      "dma_mask_bits after closing the first fd: %d (the second holds it)",
	      mask_bits());
	close(fd2);
	check(mask_bits() == m0, "dma_mask_bits after closing both: %d",
	      mask_bits());
	munmap(p, PAGE);
}

static int race_fd;
static volatile int race_stop, race_started;

static void *race_pinner(void *arg)
{
	long rounds = (long)arg, i;
	void *p = buf(RACE_LEN);
	uint64_t h;

	prctl(PR_SET_NAME, "vtop-unpinner");
	for (i = 0; i < rounds && !race_stop; i++) {
		int ret = pin(race_fd, p, RACE_LEN, &h);

		if (ret) {
			check(false, "race: PIN failed: %d", ret);
			break;
		}
		if (unpin(race_fd, h)) {
			check(false, "race: UNPIN failed");
			break;
		}
		race_started = 1;
	}
	race_stop = 1;
	munmap(p, RACE_LEN);
	return NULL;
}

static void do_race(long rounds, bool remove)
{
	char path[256];
	long detached = 0, busy = 0;
	pthread_t t;
	int ret;

	prctl(PR_SET_NAME, "vtop-detacher");
	race_fd = vopen();
	check(!attach(race_fd), "race: ATTACH");
	pthread_create(&t, NULL, race_pinner, (void *)rounds);
	/* Removal only once an attached pin went through: the race is on. */
	while (remove && !race_started && !race_stop)
		usleep(1000);
	while (!race_stop) {
		ret = detach(race_fd);
		if (!ret) {
			detached++;
			/* Remove on the first success after a refusal. */
			if (remove && busy) {
				snprintf(path, sizeof(path),
					 "/sys/bus/pci/devices/%s/remove",
					 bdf_str);
				check(!write_str(path, "1"),
				      "race: device removed right after DETACH");
				race_stop = 1;
				break;
			}
			/* Attached again once the pinner holds no pin. */
			while (!race_stop && attach(race_fd))
				;
		} else if (ret == -EBUSY) {
			busy++;
		} else {
			check(false, "race: DETACH returned %d", ret);
			break;
		}
	}
	pthread_join(t, NULL);
	printf("# race: %ld rounds, DETACH succeeded %ld times, -EBUSY %ld times\n",
	       rounds, detached, busy);
	if (!remove)
		check(busy > 0,
		      "race: DETACH was refused while pins were live");
	else
		check(busy > 0 && detached > 0,
		      "race: DETACH refused, then succeeded, then removal");
	close(race_fd);
}

static void do_revoke(const char *how)
{
	struct vtop_event ev[4];
	struct pollfd pfd;
	char path[256];
	int fd = vopen(), ret, n, i, revoked = 0;
	void *a = buf(16 * PAGE), *b = buf(16 * PAGE), *c = buf(PAGE);
	uint64_t ha, hb, hc;

	check(!attach(fd), "revoke: ATTACH");
	check(!pin(fd, a, 16 * PAGE, &ha), "revoke: PIN a");
	check(!pin(fd, b, 16 * PAGE, &hb), "revoke: PIN b");

	if (!strcmp(how, "unbind"))
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
			 bdf_str);
	else
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove",
			 bdf_str);
	ret = write_str(path, !strcmp(how, "unbind") ? bdf_str : "1");
	check(!ret, "revoke: %s with live pins (%s): %d", how, path, ret);

	pfd.fd = fd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 0);
	check(n == 1 && (pfd.revents & POLLIN),
	      "revoke: event fd readable once %s returned", how);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = read(fd, ev, sizeof(ev));
	for (i = 0; n > 0 && i < n / (int)sizeof(ev[0]); i++)
		if (ev[i].reason == VTOP_EVENT_REVOKED &&
		    (ev[i].handle == ha || ev[i].handle == hb))
			revoked++;
	check(revoked == 2, "revoke: %d of 2 pins reported VTOP_EVENT_REVOKED",
	      revoked);

	ret = pin(fd, c, PAGE, &hc);
	check(ret == -ENODEV, "revoke: PIN after %s: %d (-ENODEV expected)",
	      how, ret);
	if (!ret)
		unpin(fd, hc);
	check(!unpin(fd, ha), "revoke: UNPIN of a revoked pin");
	ret = detach(fd);
	check(ret == -EBUSY, "revoke: DETACH with a revoked pin live: %d",
	      ret);
	if (!strcmp(how, "unbind")) {
		/* Keep b; close the fd with it live. */
		close(fd);
		check(true, "revoke: close with a revoked pin live");
	} else {
		check(!unpin(fd, hb), "revoke: UNPIN of the other revoked pin");
		ret = detach(fd);
		check(!ret, "revoke: DETACH once no pin is left: %d", ret);
		close(fd);
	}
	munmap(a, 16 * PAGE);
	munmap(b, 16 * PAGE);
	munmap(c, PAGE);
}

/* The syscall @pid is blocked in (/proc/PID/syscall), or -1 if none. */
static long blocked_syscall(pid_t pid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &nr) != 1)
			nr = -1;
		fclose(f);
	}
	return nr;
}

static char task_state(pid_t pid)
{
	char path[64], comm[64], st = '?';
	int p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d %63s %c", &p, comm, &st) != 3)
			st = '?';
		fclose(f);
	}
	return st;
}

static void wait_blocked(pid_t pid, long nr)
{
	while (blocked_syscall(pid) != nr)
		usleep(10000);
}

static void do_kill(void)
{
	char path[256], link[256], unbind[256];
	int cont, grp, dfd, status, fd;
	pid_t unbinder, attacher;
	char state;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf_str);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		check(false, "kill: no IOMMU group");
		return;
	}
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	cont = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	grp = open(path, O_RDWR | O_CLOEXEC);
	if (cont < 0 || grp < 0 ||
	    ioctl(grp, VFIO_GROUP_SET_CONTAINER, &cont) ||
	    ioctl(cont, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		check(false, "kill: VFIO container for %s: %s", path,
		      strerror(errno));
		return;
	}
	dfd = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, bdf_str);
	check(dfd >= 0, "kill: VFIO device fd of %s", bdf_str);
	if (dfd < 0)
		return;

	snprintf(unbind, sizeof(unbind), "/sys/bus/pci/drivers/vfio-pci/unbind");
	unbinder = fork();
	if (!unbinder) {
		close(dfd);	/* else the unbind waits for itself */
		_exit(write_str(unbind, bdf_str) ? 1 : 0);
	}
	/* Blocked in write(2): vfio-pci's remove waits for dfd. */
	wait_blocked(unbinder, 1);

	attacher = fork();
	if (!attacher) {
		close(dfd);
		fd = vopen();
		_exit(attach(fd) ? 1 : 0);
	}
	wait_blocked(attacher, 16);
	state = task_state(attacher);
	check(state == 'S',
	      "kill: ATTACH waits for the device lock in state %c (S: interruptible)",
	      state);
	kill(attacher, SIGKILL);
	if (state != 'S')
		close(dfd);	/* else it never returns */
	waitpid(attacher, &status, 0);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "kill: the blocked ATTACH died of SIGKILL");
	if (state == 'S') {
		check(blocked_syscall(unbinder) == 1,
		      "kill: ... while the unbind still held the device lock");
		close(dfd);
	}
	waitpid(unbinder, &status, 0);
	check(WIFEXITED(status) && !WEXITSTATUS(status),
	      "kill: the unbind finished once the VFIO fd was closed");
	close(grp);
	close(cont);
}

int main(int argc, char **argv)
{
	struct vtop_info in = { .size = sizeof(in) };
	unsigned int b, s, f;
	int fd;

	if (argc < 3 || sscanf(argv[2], "%x:%x:%x.%x", &dom, &b, &s, &f) != 4) {
		fprintf(stderr,
			"usage: %s expect|mask|race|revoke DDDD:BB:SS.F [ARG]\n",
			argv[0]);
		return 2;
	}
	bdf_str = argv[2];
	bdf = b << 8 | s << 3 | f;
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = vopen();
	if (xioctl(fd, VTOP_IOC_INFO, &in) ||
	    !(in.features & VTOP_FEATURE_ATTACH)) {
		printf("SKIP: no VTOP_FEATURE_ATTACH\n");
		return 4;
	}
	close(fd);

	if (!strcmp(argv[1], "expect") && argc == 4)
		do_expect(argv[3]);
	else if (!strcmp(argv[1], "mask"))
		do_mask();
	else if (!strcmp(argv[1], "race") && argc == 4)
		do_race(atol(argv[3]), false);
	else if (!strcmp(argv[1], "race-remove") && argc == 4)
		do_race(atol(argv[3]), true);
	else if (!strcmp(argv[1], "kill"))
		do_kill();
	else if (!strcmp(argv[1], "revoke") && argc == 4)
		do_revoke(argv[3]);
	else
		return 2;
	printf("%s: %s %s\n", failures ? "FAIL" : "PASS", argv[1], bdf_str);
	return failures ? 1 : 0;
}
