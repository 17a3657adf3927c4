// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-nvme --revoke: a device unbound with live pins is noticed by
 * libvtop (0.6), and the other controller keeps working.
 *
 * Controller A is the environment's device (struct vtop_env_opts
 * pci_device), started, with its queues registered; controller B is
 * attached with vtop_dev_attach() (its controller is never started: no DMA
 * from it) and a buffer is registered, mapped for A and B. Then B is
 * unbound from uio_pci_generic with those pins live; the module revokes
 * B's descriptor. Checked, each printed:
 *
 *   1. libvtop's event fd is readable when the unbind returns;
 *   2. B's translation is gone at the first lookup, before any processing
 *      (vtop_vtophys_dev() -> VTOP_VTOPHYS_ERROR);
 *   3. after vtop_mem_process_events(): vtop_dev_is_revoked(B) == 1,
 *      vtop_dev_get_segs(B) == -ENODEV, and B's pins were released (the
 *      kernel's FOLL_PIN release count grew by exactly the registered
 *      pages: one pin of every registration on B's descriptor);
 *   4. A still translates and DMAs: an NVMe WRITE and READ of the buffer
 *      through A, verified;
 *   5. a new registration succeeds (for A; B is skipped);
 *   6. vtop_dev_detach(B) == 0; B is bound to uio_pci_generic again and
 *      attached again (the device is back): its translation is present.
 *
 * Exit status: 0 success, 1 failure, 2 usage, 4 skipped (no ATTACH, a
 * libvtop without 0.6, fewer than two controllers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <vtop.h>

#include "ctrl.h"
#include "pci.h"
#include "side.h"
#include "util.h"

#define EXIT_USAGE	2
#define EXIT_SKIP	4

#define BUF_BYTES	(128u << 10)
#define UIO_UNBIND	"/sys/bus/pci/drivers/uio_pci_generic/unbind"

int revoke_main(int argc, char **argv);

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	size_t n = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, n) != (ssize_t)n)
		ret = -errno;
	close(fd);
	return ret;
}

/* FOLL_PIN pages released so far (per-CPU deltas folded first). */
static long long pins_released(void)
{
	char line[128];
	long long v = -1;
	FILE *f;

	write_str("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nr_foll_pin_released %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void *buf_new(void)
{
	void *p = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (vtop_mem_register(p, BUF_BYTES)) {
		log_err("vtop_mem_register: %s\n", vtop_last_error());
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

static uint64_t registered_bytes(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	return vtop_mem_get_stats(&st) ? 0 : st.registered_bytes;
}

static int env_setup(const struct pci_addr *a)
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
	    !(info.features & VTOP_FEATURE_EVENTS))
		return -EOPNOTSUPP;
	eo.pci_device = a->name;
	ret = vtop_env_init(&eo);
	if (ret) {
		log_err("libvtop: %s\n", vtop_last_error());
		return ret;
	}
	return 0;
}

/* A's controller: started, queues registered. */
static int side_start(struct side *s, uint32_t timeout_ms)
{
	int ret;

	ret = pci_command_update(&s->addr, PCI_COMMAND_MEMORY |
				 PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE,
				 0, &s->old_cmd);
	if (ret)
		return ret;
	s->cmd_saved = true;
	ret = pci_map_bar0(&s->addr, &s->bar, &s->bar_len);
	if (!ret)
		ret = nvme_ctrl_init_dev(&s->c, NULL, s->bar, s->bar_len,
					 timeout_ms);
	if (!ret)
		ret = nvme_ctrl_enable(&s->c);
	if (!ret)
		ret = nvme_identify(&s->c);
	if (!ret && (s->c.ns_blocks << s->c.lba_shift) < BUF_BYTES)
		ret = -ENOSPC;
	if (!ret)
		ret = nvme_create_io_queues(&s->c);
	return ret;
}

static int round_trip(struct side *a, uint8_t *buf, uint8_t seed)
{
	size_t i;
	int ret;

	for (i = 0; i < BUF_BYTES; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 12));
	ret = nvme_rw(&a->c, NVME_CMD_WRITE, 0, BUF_BYTES >> a->c.lba_shift,
		      buf);
	if (ret)
		return ret;
	memset(buf, 0, BUF_BYTES);
	ret = nvme_rw(&a->c, NVME_CMD_READ, 0, BUF_BYTES >> a->c.lba_shift,
		      buf);
	if (ret)
		return ret;
	for (i = 0; i < BUF_BYTES; i++)
		if (buf[i] != (uint8_t)(seed + i * 7 + (i >> 12)))
			return -EIO;
	return 0;
}

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL: " __VA_ARGS__);				\
		printf("\n");						\
		bad++;							\
	}								\
} while (0)

int revoke_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct side a = { 0 };
	struct pci_addr found[2], b;
	struct vtop_dev *devb = NULL;
	struct vtop_segment seg[4];
	uint8_t *buf = NULL, *buf2 = NULL;
	uint32_t timeout_ms = 5000, nseg = 4;
	long long rel0, rel1;
	uint64_t ia, ib, bytes;
	sigset_t stop_sigs;
	int c, n, ret, evfd, bad = 0;
	bool unbound = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: " PROG " --revoke [--timeout-ms N]\n");
			return EXIT_USAGE;
		}
	}
	n = pci_find_nvmes(found, 2);
	if (n < 2) {
		printf("SKIP: --revoke needs two free NVMe controllers, found %d\n",
		       n < 0 ? 0 : n);
		return EXIT_SKIP;
	}
	a.addr = found[0];
	b = found[1];
	if (pci_bind_uio(&a.addr, false) || pci_bind_uio(&b, false))
		return 1;
	ret = env_setup(&a.addr);
	if (ret == -EOPNOTSUPP) {
		printf("SKIP: --revoke needs a vtop module with ATTACH and events\n");
		return EXIT_SKIP;
	}
	if (ret)
		return 1;
	printf("libvtop %s: controller A %s is the environment's device\n",
	       vtop_version(), a.addr.name);

	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_sigs, NULL);

	ret = side_start(&a, timeout_ms);
	if (ret) {
		log_err("controller A: %s\n", strerror(-ret));
		goto out;
	}
	ret = vtop_dev_attach(b.name, &devb);
	if (ret) {
		log_err("vtop_dev_attach(%s): %s\n", b.name, vtop_last_error());
		goto out;
	}
	buf = buf_new();
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	evfd = vtop_env_get_event_fd();
	if (evfd < 0) {
		ret = evfd;
		goto out;
	}
	ia = vtop_vtophys(buf, NULL);
	ib = vtop_vtophys_dev(devb, buf, NULL);
	printf("before the unbind: buffer at A's IOVA 0x%" PRIx64 ", B's IOVA 0x%" PRIx64 "; event fd %s\n",
	       ia, ib, fd_readable(evfd) ? "readable" : "quiet");
	EXPECT(ia != VTOP_VTOPHYS_ERROR && ib != VTOP_VTOPHYS_ERROR,
	       "the buffer is not mapped for both controllers");
	bytes = registered_bytes();
	rel0 = pins_released();

	/* The unbind, with B's pins live: the module revokes them. */
	ret = write_str(UIO_UNBIND, b.name);
	if (ret) {
		log_err("unbinding %s from uio_pci_generic: %s\n", b.name,
			strerror(-ret));
		goto out;
	}
	unbound = true;
	printf("controller B %s unbound from uio_pci_generic with %" PRIu64 " KiB registered\n",
	       b.name, bytes >> 10);
	printf("event fd readable when the unbind returned: %s\n",
	       fd_readable(evfd) ? "yes" : "no");
	ib = vtop_vtophys_dev(devb, buf, NULL);
	printf("B's translation at the first lookup, before processing: %s\n",
	       ib == VTOP_VTOPHYS_ERROR ? "gone" : "STILL THERE");
	EXPECT(ib == VTOP_VTOPHYS_ERROR, "B's stale IOVA 0x%" PRIx64 " is still served", ib);

	ret = vtop_mem_process_events();
	printf("vtop_mem_process_events() = %d\n", ret);
	EXPECT(ret >= 0, "vtop_mem_process_events: %s", vtop_last_error());
	rel1 = pins_released();
	n = vtop_dev_is_revoked(devb);
	ret = vtop_dev_get_segs(devb, buf, BUF_BYTES, seg, &nseg);
	printf("after processing: vtop_dev_is_revoked(B) = %d, vtop_dev_get_segs(B) = %d, vtop_dev_is_revoked(NULL) = %d; event fd %s\n",
	       n, ret, vtop_dev_is_revoked(NULL),
	       fd_readable(evfd) ? "readable" : "quiet");
	EXPECT(n == 1, "B is not reported revoked");
	EXPECT(ret == -ENODEV, "vtop_dev_get_segs(B) did not fail with ENODEV");
	printf("B's pins released at processing: %lld pages (registered: %" PRIu64 " pages)\n",
	       rel1 - rel0, bytes >> 12);
	EXPECT(rel1 - rel0 == (long long)(bytes >> 12),
	       "B's pins were not released exactly");

	ia = vtop_vtophys(buf, NULL);
	EXPECT(ia != VTOP_VTOPHYS_ERROR, "A lost its translation");
	ret = round_trip(&a, buf, 0x5a);
	printf("controller A after the revocation: WRITE and READ of %u bytes %s\n",
	       BUF_BYTES, ret ? strerror(-ret) : "verified");
	EXPECT(!ret, "controller A's NVMe round trip failed");

	buf2 = buf_new();
	printf("registration after the revocation: %s; A's IOVA %s, B's %s\n",
	       buf2 ? "ok" : "FAILED",
	       buf2 && vtop_vtophys(buf2, NULL) != VTOP_VTOPHYS_ERROR ? "present" : "missing",
	       buf2 && vtop_vtophys_dev(devb, buf2, NULL) == VTOP_VTOPHYS_ERROR ? "none" : "PRESENT");
	EXPECT(buf2 && vtop_vtophys(buf2, NULL) != VTOP_VTOPHYS_ERROR &&
	       vtop_vtophys_dev(devb, buf2, NULL) == VTOP_VTOPHYS_ERROR,
	       "a registration after the revocation is wrong");
	if (buf2) {
		ret = round_trip(&a, buf2, 0xa5);
		EXPECT(!ret, "controller A's round trip on the new buffer failed");
	}

	ret = vtop_dev_detach(devb);
	devb = NULL;
	printf("vtop_dev_detach(B) = %d\n", ret);
	EXPECT(!ret, "vtop_dev_detach(B): %s", vtop_last_error());

	/* The device is back: attach it again. */
	ret = pci_bind_uio(&b, false);
	if (!ret) {
		unbound = false;
		ret = vtop_dev_attach(b.name, &devb);
	}
	printf("B bound to uio_pci_generic and attached again: %d; its IOVA %s\n",
	       ret, devb && vtop_vtophys_dev(devb, buf, NULL) != VTOP_VTOPHYS_ERROR ?
	       "present" : "missing");
	EXPECT(!ret && vtop_vtophys_dev(devb, buf, NULL) != VTOP_VTOPHYS_ERROR,
	       "B could not be attached again");
	ret = 0;
	if (devb && vtop_dev_detach(devb))
		bad++;
	devb = NULL;
	n = nvme_delete_io_queues(&a.c);
	if (n)
		bad++;
out:
	if (!side_stop(&a)) {
		log_err("controller A could not be stopped; its memory stays registered until exit\n");
		return 1;
	}
	if (devb)
		vtop_dev_detach(devb);
	buf_del(buf);
	buf_del(buf2);
	nvme_ctrl_fini(&a.c);
	vtop_env_fini();
	if (unbound)
		pci_bind_uio(&b, false);
	sigprocmask(SIG_UNBLOCK, &stop_sigs, NULL);
	if (ret) {
		printf("FAIL: %s\n", strerror(-ret));
		return 1;
	}
	if (bad) {
		printf("FAIL: revoke: %d problem(s)\n", bad);
		return 1;
	}
	printf("PASS: revoke: B unbound with live pins was noticed (translation gone, pins released, detached) and A kept working\n");
	return 0;
}
