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
 * For NVMe scenario 8 (strict IOMMU, attach_any_driver=1; the review of
 * issue 11's fixes):
 *   fq BDF            ATTACH and PIN on the strict ("DMA") domain, then the
 *                     group is switched to DMA-FQ with the driver bound (the
 *                     kernel allows that upgrade): a later PIN must fail
 *                     with -EOPNOTSUPP, UNPIN of the earlier pin works
 *   early BDF         a PIN on a revoked fd fails with -ENODEV before it
 *                     pins anything (nr_foll_pin_acquired does not move),
 *                     and INFO reports VTOP_STATUS_REVOKED until DETACH
 *   inflight BDF      a PIN held in its copy of the segments to user memory
 *                     (a userfaultfd page) while the device is unbound must
 *                     fail with -ENODEV, not return the revoked IOVAs
 *   revoke-fd BDF     unbind with two attached fds, one without pins, one
 *                     whose only pin was invalidated (and its record read)
 *                     already: each fd gets exactly one VTOP_EVENT_REVOKED
 *                     record with handle 0
 *   bme BDF           bus mastering: cleared when an attached fd is closed
 *                     with live pins, kept when it has none or another fd
 *                     is still attached to the device
 *
 * For NVMe scenario 9 (the rig's --nvme-hotplug):
 *   hotunplug BDF     ATTACH two fds, pin two buffers on one, then ask the
 *                     rig for QEMU's device_del (a console line) and wait
 *                     for the device to be gone: REVOKED records (two pins
 *                     and the fd's own), PIN -ENODEV, UNPIN 0, close with a
 *                     revoked pin live, DETACH of the other fd 0
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
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
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

static int info(int fd, struct vtop_info *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	return xioctl(fd, VTOP_IOC_INFO, in);
}

/* Does INFO report the fd revoked? -1 when the module cannot say. */
static int revoked_status(int fd)
{
	struct vtop_info in;

	if (info(fd, &in) || !(in.features & VTOP_FEATURE_STATUS))
		return -1;
	return !!(in.status & VTOP_STATUS_REVOKED);
}

static char *dev_path(char *path, size_t n, const char *file)
{
	snprintf(path, n, "/sys/bus/pci/devices/%s/%s", bdf_str, file);
	return path;
}

static int unbind_dev(void)
{
	char path[256];

	return write_str(dev_path(path, sizeof(path), "driver/unbind"),
			 bdf_str);
}

/* nr_foll_pin_acquired of /proc/vmstat, per-CPU deltas folded in. */
static long long pins_acquired(void)
{
	long long v = -1;
	char name[64];
	long long x;
	FILE *f;

	write_str("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &x) == 2)
		if (!strcmp(name, "nr_foll_pin_acquired"))
			v = x;
	fclose(f);
	return v;
}

/* Read every queued record (O_NONBLOCK fd); returns how many. */
static int read_events(int fd, struct vtop_event *ev, int max)
{
	ssize_t n = read(fd, ev, max * sizeof(*ev));

	return n < 0 ? -errno : (int)(n / sizeof(*ev));
}

static void do_fq(void)
{
	char path[256], type[32] = "";
	int fd = vopen(), ret;
	void *a = buf(16 * PAGE), *b = buf(16 * PAGE);
	uint64_t ha, hb;
	FILE *f;

	check(!attach(fd), "fq: ATTACH on the strict domain");
	check(!pin(fd, a, 16 * PAGE, &ha), "fq: PIN on the strict domain");
	ret = write_str(dev_path(path, sizeof(path), "iommu_group/type"),
			"DMA-FQ");
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%31s", type) != 1)
			type[0] = 0;
		fclose(f);
	}
	check(!ret && !strcmp(type, "DMA-FQ"),
	      "fq: group switched to DMA-FQ with the driver bound (%d, %s)",
	      ret, type);
	ret = pin(fd, b, 16 * PAGE, &hb);
	check(ret == -EOPNOTSUPP,
	      "fq: PIN after the switch to DMA-FQ: %d (-EOPNOTSUPP expected)",
	      ret);
	if (!ret)
		unpin(fd, hb);
	check(!unpin(fd, ha), "fq: UNPIN of the pin made while strict");
	close(fd);
	munmap(a, 16 * PAGE);
	munmap(b, 16 * PAGE);
}

static void do_early(void)
{
	int fd = vopen(), ret, st;
	void *a = buf(16 * PAGE), *c = buf(64 * PAGE);
	long long before, after;
	uint64_t ha, hc;

	check(!attach(fd), "early: ATTACH");
	check(revoked_status(fd) == 0, "early: INFO: not revoked (%d)",
	      revoked_status(fd));
	check(!pin(fd, a, 16 * PAGE, &ha), "early: PIN");
	check(!unbind_dev(), "early: unbind with a live pin");
	st = revoked_status(fd);
	check(st == 1, "early: INFO reports VTOP_STATUS_REVOKED (%d)", st);
	before = pins_acquired();
	ret = pin(fd, c, 64 * PAGE, &hc);
	after = pins_acquired();
	check(ret == -ENODEV, "early: PIN on the revoked fd: %d (-ENODEV)",
	      ret);
	check(before >= 0 && after == before,
	      "early: ... and it pinned nothing first (%lld pages acquired)",
	      after - before);
	if (!ret)
		unpin(fd, hc);
	check(!unpin(fd, ha), "early: UNPIN of the revoked pin");
	check(revoked_status(fd) == 1, "early: still revoked after UNPIN");
	check(!detach(fd), "early: DETACH");
	check(revoked_status(fd) == 0, "early: DETACH clears the status");
	close(fd);
	munmap(a, 16 * PAGE);
	munmap(c, 64 * PAGE);
}

struct inflight {
	int fd;
	void *mem;
	void *segs;	/* a userfaultfd-registered, missing page */
	uint64_t handle;
	int ret;
};

static void *inflight_pin(void *arg)
{
	struct inflight *p = arg;
	struct vtop_pin pn;

	memset(&pn, 0, sizeof(pn));
	pn.size = sizeof(pn);
	pn.vaddr = (uintptr_t)p->mem;
	pn.length = 16 * PAGE;
	pn.segs = (uintptr_t)p->segs;
	pn.nr_segs = PAGE / sizeof(struct vtop_segment);
	p->ret = xioctl(p->fd, VTOP_IOC_PIN, &pn);
	p->handle = pn.handle;
	return NULL;
}

static void do_inflight(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register ureg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zp;
	struct inflight p = { .ret = 1 };
	struct uffd_msg msg;
	pthread_t t;
	int uffd, ret;

	p.fd = vopen();
	p.mem = buf(16 * PAGE);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0 && errno == ENOSYS) {
		/* The debug kernel is built without CONFIG_USERFAULTFD. */
		printf("# SKIP inflight: no userfaultfd in this kernel\n");
		close(p.fd);
		munmap(p.mem, 16 * PAGE);
		return;
	}
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		check(false, "inflight: userfaultfd: %s", strerror(errno));
		return;
	}
	p.segs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ureg.range.start = (uintptr_t)p.segs;
	ureg.range.len = PAGE;
	if (p.segs == MAP_FAILED || ioctl(uffd, UFFDIO_REGISTER, &ureg)) {
		check(false, "inflight: userfaultfd register: %s",
		      strerror(errno));
		return;
	}
	check(!attach(p.fd), "inflight: ATTACH");
	pthread_create(&t, NULL, inflight_pin, &p);
	/* The PIN pinned and mapped, and now faults on its segment array. */
	ret = read(uffd, &msg, sizeof(msg)) == sizeof(msg) &&
	      msg.event == UFFD_EVENT_PAGEFAULT;
	check(ret, "inflight: the PIN faults on its segment array");
	check(!unbind_dev(), "inflight: unbind while the PIN is in flight");
	zp.range.start = (uintptr_t)p.segs;
	zp.range.len = PAGE;
	zp.mode = 0;
	check(!ioctl(uffd, UFFDIO_ZEROPAGE, &zp), "inflight: fault resolved");
	pthread_join(t, NULL);
	check(p.ret == -ENODEV,
	      "inflight: the PIN in flight during revocation: %d (-ENODEV)",
	      p.ret);
	if (!p.ret)
		check(!unpin(p.fd, p.handle), "inflight: UNPIN");
	close(p.fd);
	close(uffd);
	munmap(p.segs, PAGE);
	munmap(p.mem, 16 * PAGE);
}

static void do_revoke_fd(void)
{
	int fd1 = vopen(), fd2 = vopen(), n, i, rev, m;
	struct vtop_event ev[8];
	struct pollfd pfd[2];
	void *a = buf(16 * PAGE);
	uint64_t ha;

	fcntl(fd1, F_SETFL, O_NONBLOCK);
	fcntl(fd2, F_SETFL, O_NONBLOCK);
	check(!attach(fd1), "revoke-fd: ATTACH of an fd without pins");
	check(!attach(fd2), "revoke-fd: ATTACH of a second fd");
	check(!pin(fd2, a, 16 * PAGE, &ha), "revoke-fd: PIN on the second");
	munmap(a, 16 * PAGE);
	n = read_events(fd2, ev, 8);
	check(n == 1 && ev[0].handle == ha && ev[0].reason != VTOP_EVENT_REVOKED,
	      "revoke-fd: the pin was invalidated by munmap, record read (%d)",
	      n);
	check(!unbind_dev(), "revoke-fd: unbind");
	pfd[0].fd = fd1;
	pfd[1].fd = fd2;
	pfd[0].events = pfd[1].events = POLLIN;
	n = poll(pfd, 2, 0);
	check(n == 2, "revoke-fd: both fds readable after the unbind (%d)", n);
	for (m = 0; m < 2; m++) {
		int fd = m ? fd2 : fd1;

		n = read_events(fd, ev, 8);
		for (i = 0, rev = 0; i < n; i++)
			if (ev[i].reason == VTOP_EVENT_REVOKED &&
			    !ev[i].handle && !ev[i].vaddr && !ev[i].length)
				rev++;
		check(n == 1 && rev == 1,
		      "revoke-fd: fd %d: one VTOP_EVENT_REVOKED record with handle 0 (%d records)",
		      m + 1, n);
		n = read_events(fd, ev, 8);
		check(n == -EAGAIN, "revoke-fd: fd %d: reported once (%d)",
		      m + 1, n);
		check(revoked_status(fd) == 1, "revoke-fd: fd %d: INFO revoked",
		      m + 1);
	}
	check(!unpin(fd2, ha), "revoke-fd: UNPIN of the invalidated pin");
	close(fd1);
	close(fd2);
}

/* The Command register's Bus Master Enable bit, or -1. */
static int bme(void)
{
	char path[256];
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
	char path[256];
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

static void do_bme(void)
{
	void *a = buf(16 * PAGE);
	int fd, fd2;
	uint64_t h;

	check(!set_bme(), "bme: bus mastering enabled through sysfs config");
	fd = vopen();
	check(!attach(fd), "bme: ATTACH");
	check(!pin(fd, a, 16 * PAGE, &h), "bme: PIN");
	close(fd);
	check(bme() == 0,
	      "bme: closing an attached fd with a live pin clears Bus Master Enable (%d)",
	      bme());

	check(!set_bme(), "bme: enabled again");
	fd = vopen();
	check(!attach(fd), "bme: ATTACH, no pin");
	close(fd);
	check(bme() == 1, "bme: closing an attached fd without pins keeps it");

	fd = vopen();
	fd2 = vopen();
	check(!attach(fd) && !attach(fd2), "bme: two fds attached");
	check(!pin(fd, a, 16 * PAGE, &h), "bme: PIN on the first");
	close(fd);
	check(bme() == 1,
	      "bme: kept while another fd is attached to the device (%d)",
	      bme());
	close(fd2);
	munmap(a, 16 * PAGE);
}

static void do_hotunplug(void)
{
	void *a = buf(16 * PAGE), *b = buf(16 * PAGE), *c = buf(PAGE);
	int fd = vopen(), fd2 = vopen(), n, i, pins = 0, own = 0, ret;
	struct vtop_event ev[8];
	struct pollfd pfd;
	char path[256];
	uint64_t ha, hb, hc;

	check(!attach(fd), "hotunplug: ATTACH");
	check(!attach(fd2), "hotunplug: ATTACH of a second fd, no pins");
	check(!pin(fd, a, 16 * PAGE, &ha), "hotunplug: PIN a");
	check(!pin(fd, b, 16 * PAGE, &hb), "hotunplug: PIN b");
	/* The rig (run.sh --nvme-hotplug) sends device_del on this line. */
	printf("VTOP-VM-MONITOR: device_del vtopnvme\n");
	fflush(stdout);
	dev_path(path, sizeof(path), "");
	for (i = 0; i < 1200 && !access(path, F_OK); i++)
		usleep(100000);
	check(access(path, F_OK), "hotunplug: %s gone after device_del", path);

	pfd.fd = fd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 0);
	check(n == 1, "hotunplug: event fd readable after the removal");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = read_events(fd, ev, 8);
	for (i = 0; i < n; i++) {
		if (ev[i].reason != VTOP_EVENT_REVOKED)
			continue;
		if (ev[i].handle == ha || ev[i].handle == hb)
			pins++;
		else if (!ev[i].handle)
			own++;
	}
	check(pins == 2 && own == 1,
	      "hotunplug: REVOKED records: %d of 2 pins, %d for the fd", pins,
	      own);
	check(revoked_status(fd) == 1 && revoked_status(fd2) == 1,
	      "hotunplug: INFO reports both fds revoked");
	ret = pin(fd, c, PAGE, &hc);
	check(ret == -ENODEV, "hotunplug: PIN after the removal: %d (-ENODEV)",
	      ret);
	if (!ret)
		unpin(fd, hc);
	check(!unpin(fd, ha), "hotunplug: UNPIN of a revoked pin");
	close(fd);
	check(true, "hotunplug: close with a revoked pin live");
	check(!detach(fd2), "hotunplug: DETACH of the other fd");
	close(fd2);
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
			"usage: %s expect|mask|race|race-remove|revoke|kill|fq|early|inflight|revoke-fd|bme|hotunplug DDDD:BB:SS.F [ARG]\n",
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
	else if (!strcmp(argv[1], "fq"))
		do_fq();
	else if (!strcmp(argv[1], "early"))
		do_early();
	else if (!strcmp(argv[1], "inflight"))
		do_inflight();
	else if (!strcmp(argv[1], "revoke-fd"))
		do_revoke_fd();
	else if (!strcmp(argv[1], "bme"))
		do_bme();
	else if (!strcmp(argv[1], "hotunplug"))
		do_hotunplug();
	else
		return 2;
	printf("%s: %s %s\n", failures ? "FAIL" : "PASS", argv[1], bdf_str);
	return failures ? 1 : 0;
}
