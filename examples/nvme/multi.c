// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-nvme --multi: two NVMe controllers behind an IOMMU, each in its own
 * IOMMU domain, driven from one process with one buffer registered once
 * (libvtop 0.5, several devices per process).
 *
 * Controller A is the environment's device (struct vtop_env_opts
 * pci_device: vtop_vtophys() gives its IOVAs), controller B is attached
 * with vtop_dev_attach() while A's queues are registered already (so that
 * memory is mapped for B at attach time), and its IOVAs come from
 * vtop_vtophys_dev(). The buffer is registered once, after both:
 *
 *   1. A writes a position-dependent pattern to its namespace and READs it
 *      back into the buffer (a DMA write through A's IOVAs), verified;
 *   2. B WRITEs the buffer to its own namespace (a DMA read through B's
 *      IOVAs), the buffer is cleared, B READs it back, verified.
 *   3. RLIMIT_MEMLOCK (CAP_IPC_LOCK dropped from the effective set): each
 *      descriptor's pin is charged, so a registration of L bytes costs 2L
 *      with B attached; with room for 1.5L it fails with ENOMEM and leaves
 *      nothing (the environment's pin, which fitted, is undone: same pins
 *      and pinned bytes as before, no translation); with room for 2L it
 *      succeeds and the process's pinned bytes grow by exactly 2L.
 *
 * Before the buffer is registered, B's IOMMU domain gets 4 MiB of padding
 * (a pin on a descriptor of this program's own, attached to B), so that
 * B's IOVAs differ from A's; that every page's A and B addresses differ is
 * checked. With --wrong-iova (the negative control) the padding is then
 * unpinned (a hole in B's domain where A's IOVAs lie) and B is given A's
 * IOVAs to WRITE a new pattern: the command must fail (DMAR fault, data
 * transfer error) or the data B read back must differ. Exit status 1 then,
 * with "FAIL: wrong IOVA: ..." -- the check is seen to fail.
 *
 * Exit status: 0 success, 1 failure, 2 usage, 4 skipped (no ATTACH, no
 * libvtop 0.5, fewer than two controllers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/pci_regs.h>
#include <vtop.h>

#include "ctrl.h"
#include "pci.h"
#include "side.h"
#include "util.h"

#define EXIT_USAGE	2
#define EXIT_SKIP	4

#define BUF_BYTES	(256u << 10)	/* 64 pages: PRP lists */
#define PAD_BYTES	(4u << 20)
#define WRONG_LBA_OFF	(8u << 20)	/* namespace byte offset of step 3 */

int multi_main(int argc, char **argv);

/* A pin of PAD_BYTES on a descriptor attached to B: B's IOVAs move. */
static struct {
	int fd;
	void *mem;
	uint64_t handle;
	bool pinned;
} pad = { .fd = -1 };

static int pad_domain(const struct pci_addr *b)
{
	struct vtop_attach a = { .size = sizeof(a) };
	struct vtop_segment seg;
	struct vtop_pin p = { .size = sizeof(p) };

	pad.fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (pad.fd < 0)
		return -errno;
	a.pci_domain = b->domain;
	a.pci_bdf = (uint32_t)b->bus << 8 | (uint32_t)b->slot << 3 | b->func;
	if (ioctl(pad.fd, VTOP_IOC_ATTACH, &a))
		return -errno;
	pad.mem = mmap(NULL, PAD_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pad.mem == MAP_FAILED) {
		pad.mem = NULL;
		return -errno;
	}
	memset(pad.mem, 0x5a, PAD_BYTES);
	p.flags = VTOP_PIN_PARTIAL;
	p.vaddr = (uintptr_t)pad.mem;
	p.length = PAD_BYTES;
	p.segs = (uintptr_t)&seg;
	p.nr_segs = 1;
	if (ioctl(pad.fd, VTOP_IOC_PIN, &p))
		return -errno;
	pad.handle = p.handle;
	pad.pinned = true;
	printf("padding: %u KiB pinned in %s's IOMMU domain on a descriptor of its own, first IOVA 0x%llx\n",
	       PAD_BYTES >> 10, b->name, (unsigned long long)seg.dma_addr);
	return 0;
}

static void pad_release(void)
{
	struct vtop_unpin u = { .size = sizeof(u), .handle = pad.handle };

	if (pad.pinned && !ioctl(pad.fd, VTOP_IOC_UNPIN, &u))
		pad.pinned = false;
	if (pad.fd >= 0 && !pad.pinned) {
		close(pad.fd);
		pad.fd = -1;
	}
}

static uint64_t pattern_word(uint64_t seed, size_t off)
{
	uint64_t x = seed ^ (off * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static void fill(uint8_t *buf, uint64_t seed)
{
	size_t off;

	for (off = 0; off < BUF_BYTES; off += 8) {
		uint64_t w = pattern_word(seed, off);

		memcpy(buf + off, &w, 8);
	}
}

/* Bytes from the start that hold the pattern (BUF_BYTES: all). */
static size_t verify(const uint8_t *buf, uint64_t seed)
{
	size_t off;

	for (off = 0; off < BUF_BYTES; off += 8) {
		uint64_t w = pattern_word(seed, off);

		if (memcmp(buf + off, &w, 8))
			return off;
	}
	return BUF_BYTES;
}

static int side_start(struct side *s, const struct vtop_dev *dev,
		      uint32_t timeout_ms)
{
	int ret;

	ret = pci_command_update(&s->addr, PCI_COMMAND_MEMORY |
				 PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE,
				 0, &s->old_cmd);
	if (ret)
		return ret;
	s->cmd_saved = true;
	ret = pci_map_bar0(&s->addr, &s->bar, &s->bar_len);
	if (ret)
		return ret;
	ret = nvme_ctrl_init_dev(&s->c, dev, s->bar, s->bar_len, timeout_ms);
	if (ret)
		return ret;
	ret = nvme_ctrl_enable(&s->c);
	if (!ret)
		ret = nvme_identify(&s->c);
	if (ret)
		return ret;
	if ((s->c.ns_blocks << s->c.lba_shift) < WRONG_LBA_OFF + BUF_BYTES) {
		log_err("controller %s: namespace 1 is too small\n", s->label);
		return -ENOSPC;
	}
	ret = nvme_create_io_queues(&s->c);
	if (ret)
		return ret;
	printf("controller %s %s: serial \"%s\", queues at %s IOVAs ASQ 0x%" PRIx64 " IOSQ 0x%" PRIx64 " PRP list 0x%" PRIx64 "\n",
	       s->label, s->addr.name, s->c.serial,
	       dev ? "vtop_vtophys_dev()" : "vtop_vtophys()", s->c.admin.sq_dma,
	       s->c.io.sq_dma, s->c.prp_list_dma);
	return 0;
}

static int rw(struct side *s, uint8_t op, uint64_t off, void *buf)
{
	return nvme_rw(&s->c, op, off >> s->c.lba_shift,
		       BUF_BYTES >> s->c.lba_shift, buf);
}

static void *buf_new(const char *what)
{
	void *p = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int ret;

	if (p == MAP_FAILED)
		return NULL;
	ret = vtop_mem_register(p, BUF_BYTES);
	if (ret) {
		log_err("vtop_mem_register(%s): %s\n", what, vtop_last_error());
		munmap(p, BUF_BYTES);
		return NULL;
	}
	return p;
}

static void buf_del(void *p)
{
	if (!p)
		return;
	vtop_mem_unregister(p, BUF_BYTES);
	munmap(p, BUF_BYTES);
}

/* Every page: A's and B's address must differ (and both exist). */
static int check_iovas(const struct vtop_dev *b, const uint8_t *buf)
{
	unsigned long pages = 0, same = 0, missing = 0;
	struct vtop_segment seg[64];
	uint32_t nseg = 64;
	uint64_t ia, ib, sz;
	size_t off;
	int ret;

	for (off = 0; off < BUF_BYTES; off += NVME_PAGE_SIZE) {
		ia = vtop_vtophys(buf + off, NULL);
		ib = vtop_vtophys_dev(b, buf + off, NULL);
		pages++;
		if (ia == VTOP_VTOPHYS_ERROR || ib == VTOP_VTOPHYS_ERROR)
			missing++;
		else if (ia == ib)
			same++;
	}
	sz = BUF_BYTES;
	ia = vtop_vtophys(buf, &sz);
	printf("buffer: A's IOVA 0x%" PRIx64 " (%" PRIu64 " bytes contiguous), ", ia, sz);
	sz = BUF_BYTES;
	ib = vtop_vtophys_dev(b, buf, &sz);
	printf("B's IOVA 0x%" PRIx64 " (%" PRIu64 " bytes contiguous)\n", ib, sz);
	ret = vtop_dev_get_segs(b, buf, BUF_BYTES, seg, &nseg);
	if (ret)
		log_err("vtop_dev_get_segs: %s\n", vtop_last_error());
	else
		printf("vtop_dev_get_segs(B): %u segment(s), the first 0x%llx+0x%llx\n",
		       nseg, (unsigned long long)seg[0].dma_addr,
		       (unsigned long long)seg[0].len);
	printf("IOVA check: %lu pages, A's address equals B's on %lu, missing on %lu\n",
	       pages, same, missing);
	if (same || missing || ret)
		return -EINVAL;
	return 0;
}

/* Set or clear CAP_IPC_LOCK in the effective set (it stays permitted). */
static int ipc_lock_effective(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	if (on)
		d[0].effective |= 1U << CAP_IPC_LOCK;
	else
		d[0].effective &= ~(1U << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static int pin_state(uint32_t *nr_pins, uint64_t *pinned)
{
	struct vtop_info info = { .size = sizeof(info) };
	int ret = vtop_env_get_info(&info);

	if (ret)
		return ret;
	*nr_pins = info.nr_pins;
	*pinned = info.mm_pinned_bytes;
	return 0;
}

/*
 * Step 3: with @b attached, a registration of MEMLOCK_BYTES is charged
 * twice (the environment's descriptor and B's). Return 0 if the limit
 * behaves as documented, -EINVAL otherwise.
 */
#define MEMLOCK_BYTES	(64u << 10)
static int memlock_check(const struct vtop_dev *b)
{
	struct rlimit old, lim;
	uint32_t pins0, pins1;
	uint64_t pinned0, pinned1;
	void *p;
	int ret, bad = 0;

	p = mmap(NULL, MEMLOCK_BYTES, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (getrlimit(RLIMIT_MEMLOCK, &old) || ipc_lock_effective(false)) {
		munmap(p, MEMLOCK_BYTES);
		return -errno;
	}
	ret = pin_state(&pins0, &pinned0);
	if (ret)
		goto out;
	/* Room for the environment's pin, not for B's too. */
	lim.rlim_cur = pinned0 + MEMLOCK_BYTES * 3 / 2;
	/* A hard limit both soft limits fit under (root may raise it). */
	lim.rlim_max = pinned0 + MEMLOCK_BYTES * 4;
	if (old.rlim_max == RLIM_INFINITY || old.rlim_max > lim.rlim_max)
		lim.rlim_max = old.rlim_max;
	if (setrlimit(RLIMIT_MEMLOCK, &lim)) {
		ret = -errno;
		goto out;
	}
	ret = vtop_mem_register(p, MEMLOCK_BYTES);
	printf("memlock: limit %llu KiB above the %llu KiB pinned: vtop_mem_register(%u KiB) = %d (%s)\n",
	       (unsigned long long)(lim.rlim_cur - pinned0) >> 10,
	       (unsigned long long)pinned0 >> 10, MEMLOCK_BYTES >> 10, ret,
	       ret ? vtop_last_error() : "registered");
	if (ret != -ENOMEM)
		bad++;
	if (!ret)
		vtop_mem_unregister(p, MEMLOCK_BYTES);
	ret = pin_state(&pins1, &pinned1);
	if (ret)
		goto out;
	printf("memlock: after the refusal %u pins, %llu KiB pinned (before: %u, %llu KiB); translations %s\n",
	       pins1, (unsigned long long)pinned1 >> 10, pins0,
	       (unsigned long long)pinned0 >> 10,
	       vtop_vtophys(p, NULL) == VTOP_VTOPHYS_ERROR &&
	       vtop_vtophys_dev(b, p, NULL) == VTOP_VTOPHYS_ERROR ?
	       "none" : "LEFT BEHIND");
	if (pins1 != pins0 || pinned1 != pinned0 ||
	    vtop_vtophys(p, NULL) != VTOP_VTOPHYS_ERROR ||
	    vtop_vtophys_dev(b, p, NULL) != VTOP_VTOPHYS_ERROR)
		bad++;
	/* Room for both. */
	lim.rlim_cur = pinned0 + MEMLOCK_BYTES * 2;
	if (setrlimit(RLIMIT_MEMLOCK, &lim)) {
		ret = -errno;
		goto out;
	}
	ret = vtop_mem_register(p, MEMLOCK_BYTES);
	if (!ret)
		ret = pin_state(&pins1, &pinned1);
	printf("memlock: limit %llu KiB above: vtop_mem_register = %d; pinned bytes grew by %llu KiB (2 x %u KiB expected)\n",
	       (unsigned long long)(lim.rlim_cur - pinned0) >> 10, ret,
	       ret ? 0ULL : (unsigned long long)(pinned1 - pinned0) >> 10,
	       MEMLOCK_BYTES >> 10);
	if (ret || pinned1 - pinned0 != 2ULL * MEMLOCK_BYTES)
		bad++;
	if (!ret)
		ret = vtop_mem_unregister(p, MEMLOCK_BYTES);
out:
	setrlimit(RLIMIT_MEMLOCK, &old);
	ipc_lock_effective(true);
	munmap(p, MEMLOCK_BYTES);
	if (ret)
		return ret;
	if (bad) {
		printf("memlock check: FAIL (%d problem(s))\n", bad);
		return -EINVAL;
	}
	printf("memlock check: PASS (each descriptor's pin is charged; a refusal leaves nothing)\n");
	return 0;
}

static int env_setup(const struct side *a)
{
	struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;
	struct vtop_info info = { .size = sizeof(info) };
	int ret;

	eo.flags = VTOP_ENV_LOAD_MODULE;
	ret = vtop_env_get_info(&info);
	if (ret) {
		log_err("libvtop: %s\n", vtop_last_error());
		return ret;
	}
	vtop_env_fini();
	if (!(info.features & VTOP_FEATURE_ATTACH) ||
	    !(info.features & VTOP_FEATURE_PARTIAL))
		return -EOPNOTSUPP;
	eo.pci_device = a->addr.name;
	ret = vtop_env_init(&eo);
	if (!ret)
		ret = vtop_env_get_info(&info);
	if (ret) {
		log_err("libvtop: %s\n", vtop_last_error());
		return ret;
	}
	if (info.mode != VTOP_MODE_IOVA) {
		log_err("the environment is not in IOVA mode\n");
		return -EPROTO;
	}
	printf("libvtop %s: controller A %s is the environment's device (IOVA mode)\n",
	       vtop_version(), a->addr.name);
	return 0;
}

int multi_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "wrong-iova", no_argument, NULL, 'w' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct side a = { .label = "A" }, b = { .label = "B" };
	struct pci_addr found[2];
	struct vtop_dev *devb = NULL;
	uint8_t *buf = NULL, *buf2 = NULL;
	uint32_t timeout_ms = 5000;
	bool wrong = false, stopped, wrong_failed = false;
	struct vtop_info info = { .size = sizeof(info) };
	sigset_t stop_sigs;
	uint64_t seed;
	size_t good;
	int c, n, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wrong = true;
			break;
		case 't':
			timeout_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: " PROG " --multi [--wrong-iova] [--timeout-ms N]\n");
			return EXIT_USAGE;
		}
	}
	n = pci_find_nvmes(found, 2);
	if (n < 2) {
		printf("SKIP: --multi needs two free NVMe controllers, found %d\n",
		       n < 0 ? 0 : n);
		return EXIT_SKIP;
	}
	a.addr = found[0];
	b.addr = found[1];
	if (pci_bind_uio(&a.addr, false) || pci_bind_uio(&b.addr, false))
		return 1;
	ret = env_setup(&a);
	if (ret == -EOPNOTSUPP) {
		printf("SKIP: --multi needs a vtop module with ATTACH and PIN paging\n");
		return EXIT_SKIP;
	}
	if (ret)
		return 1;

	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigaddset(&stop_sigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop_sigs, NULL);

	ret = pad_domain(&b.addr);
	if (ret) {
		log_err("padding %s's IOMMU domain: %s\n", b.addr.name,
			strerror(-ret));
		goto out;
	}
	ret = side_start(&a, NULL, timeout_ms);
	if (ret)
		goto out;
	/* A's queues are registered: attaching B maps them for B too. */
	ret = vtop_dev_attach(b.addr.name, &devb);
	if (ret) {
		log_err("vtop_dev_attach(%s): %s\n", b.addr.name,
			vtop_last_error());
		goto out;
	}
	printf("vtop_dev_attach(%s): controller B attached with memory registered\n",
	       vtop_dev_name(devb));
	ret = side_start(&b, devb, timeout_ms);
	if (ret)
		goto out;

	/* One buffer, registered once, mapped for A and B. */
	buf = buf_new("buffer");
	buf2 = buf_new("read-back buffer");
	if (!buf || !buf2) {
		ret = -ENOMEM;
		goto out;
	}
	ret = check_iovas(devb, buf);
	if (ret)
		goto out;

	seed = (uint64_t)now_ms() * 1000003u ^ (uint64_t)getpid();
	fill(buf, seed);
	ret = rw(&a, NVME_CMD_WRITE, 0, buf);
	if (ret)
		goto out;
	memset(buf, 0, BUF_BYTES);
	ret = rw(&a, NVME_CMD_READ, 0, buf);
	if (ret)
		goto out;
	good = verify(buf, seed);
	if (good != BUF_BYTES) {
		printf("FAIL: controller A read back wrong data at byte %zu\n",
		       good);
		ret = -EIO;
		goto out;
	}
	printf("controller A READ the pattern from its namespace into the buffer: %u bytes verified\n",
	       BUF_BYTES);
	ret = rw(&b, NVME_CMD_WRITE, 0, buf);
	if (ret)
		goto out;
	memset(buf, 0, BUF_BYTES);
	ret = rw(&b, NVME_CMD_READ, 0, buf);
	if (ret)
		goto out;
	good = verify(buf, seed);
	if (good != BUF_BYTES) {
		printf("FAIL: controller B read back wrong data at byte %zu\n",
		       good);
		ret = -EIO;
		goto out;
	}
	printf("controller B WROTE the buffer to its namespace and READ it back: %u bytes verified\n",
	       BUF_BYTES);
	if (!wrong) {
		ret = memlock_check(devb);
		if (ret)
			goto out;
	}

	if (wrong) {
		/* A hole in B's domain where A's IOVAs are. */
		pad_release();
		printf("negative control: padding unpinned; controller B WRITEs with A's IOVAs\n");
		b.c.data_dev = NULL;
		b.c.data_dev_set = true;
		fill(buf, seed + 1);
		ret = rw(&b, NVME_CMD_WRITE, WRONG_LBA_OFF, buf);
		b.c.data_dev_set = false;
		if (ret) {
			printf("FAIL: wrong IOVA: controller B's WRITE with A's IOVAs failed: %s%s%s\n",
			       b.c.fault ? nvme_fault_name(b.c.fault) : strerror(-ret),
			       b.c.fault ? ": " : "", b.c.fault ? b.c.fault_msg : "");
			wrong_failed = true;
			ret = 0;
		} else {
			ret = rw(&b, NVME_CMD_READ, WRONG_LBA_OFF, buf2);
			if (ret)
				goto out;
			good = verify(buf2, seed + 1);
			if (good != BUF_BYTES) {
				printf("FAIL: wrong IOVA: controller B wrote other memory than the buffer (first difference at byte %zu)\n",
				       good);
				wrong_failed = true;
			} else {
				printf("negative control did not fail: B's DMA with A's IOVAs reached the buffer\n");
			}
		}
	}
	/* The negative control may leave B failed: nothing to delete then. */
	ret = nvme_delete_io_queues(&b.c);
	if (wrong_failed)
		ret = 0;
	n = nvme_delete_io_queues(&a.c);
	if (!ret)
		ret = n;
out:
	stopped = side_stop(&b);
	stopped = side_stop(&a) && stopped;
	if (!vtop_env_get_info(&info))
		printf("vtop before teardown: %u pins on the environment's descriptor\n",
		       info.nr_pins);
	if (!stopped) {
		log_err("a controller could not be stopped; its memory stays registered until exit\n");
		return 1;
	}
	buf_del(buf);
	buf_del(buf2);
	if (b.c.bar || b.c.ctl[0])
		nvme_ctrl_fini(&b.c);
	if (devb) {
		int r = vtop_dev_detach(devb);

		if (r)
			log_err("vtop_dev_detach: %s\n", vtop_last_error());
		else
			printf("vtop_dev_detach(B): done\n");
	}
	nvme_ctrl_fini(&a.c);
	vtop_env_fini();
	pad_release();
	if (pad.mem)
		munmap(pad.mem, PAD_BYTES);
	sigprocmask(SIG_UNBLOCK, &stop_sigs, NULL);
	if (ret) {
		printf("FAIL: %s\n", strerror(-ret));
		return 1;
	}
	if (wrong) {
		if (wrong_failed)
			return 1;
		printf("FAIL: negative control: controller B with A's IOVAs still wrote the buffer's data\n");
		return 1;
	}
	printf("PASS: two controllers, one registration: A and B each DMAed through their own IOVAs\n");
	return 0;
}
