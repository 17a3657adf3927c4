// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-nvme: a minimal user-space NVMe driver whose every DMA address comes
 * from libvtop. It takes an NVMe controller from the kernel through
 * uio_pci_generic, brings it up with queues in registered memory, identifies
 * it, and writes a pattern to the namespace and reads it back into another
 * buffer for three kinds of memory: scattered 4 KiB pages (PRP lists), a
 * buffer across a 2 MiB boundary, and hugetlb pages. If the data comes back
 * intact, the controller DMAed to the addresses libvtop gave it.
 *
 * With --remap it proves instead that libvtop's invalidation events reach
 * the device: a registered buffer is written to the namespace, unmapped
 * without being unregistered, replaced by new memory at the same address
 * (MAP_FIXED) holding another pattern, registered again once libvtop has
 * processed the event, and written again through the translations libvtop
 * now gives; the data read back must be the new pattern, not the old.
 *
 * Exit status: 0 success, 1 failure, 2 usage, 4 skipped (the module cannot
 * do what was asked, e.g. --attach without VTOP_FEATURE_ATTACH).
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
#include "util.h"

#define EXIT_USAGE	2
#define EXIT_SKIP	4

#define SZ_2M		(2u << 20)
#define REGION_BYTES	(4u << 20)	/* device bytes reserved per region */
#define NR_REGIONS	3		/* the first 10 MiB are written */

enum buf_kind { BUF_4K, BUF_CROSS_2M, BUF_HUGETLB, BUF_THP, NR_BUF_KINDS };

/*
 * @region: which 4 MiB of the namespace the kind writes. Kinds are done
 * one after the other, each writing and reading back its region before the
 * next starts, so the THP kind can share the cross2m region.
 */
static const struct {
	const char *name;
	size_t len;
	unsigned int region;
	bool dflt;		/* in the default set of the round trips */
	const char *what;
} kinds[NR_BUF_KINDS] = {
	[BUF_4K] = { "4k", 16 * NVME_PAGE_SIZE, 0, true,
		     "4 KiB pages, not physically contiguous (PRP list)" },
	[BUF_CROSS_2M] = { "cross2m", 16 * NVME_PAGE_SIZE, 1, true,
			   "4 KiB-page buffer crossing a 2 MiB boundary" },
	[BUF_HUGETLB] = { "hugetlb", SZ_2M, 2, true,
			  "one 2 MiB hugetlb page" },
	[BUF_THP] = { "thp", SZ_2M, 1, false,
		      "one 2 MiB transparent huge page" },
};

/* How --remap lets libvtop learn of the invalidation (--remap-events). */
enum remap_events {
	REMAP_EVENTS_POLL,	/* poll the event fd, vtop_mem_process_events() */
	REMAP_EVENTS_REGISTER,	/* just vtop_mem_register() the new memory */
	REMAP_EVENTS_OFF,	/* test only: nothing; the inline lookup */
};

/* How the registrations end (--teardown). */
enum teardown {
	TEARDOWN_UNREGISTER,	/* vtop_mem_unregister() each, vtop_env_fini() */
	TEARDOWN_FINI,		/* vtop_env_fini() with everything registered */
	TEARDOWN_EXIT,		/* exit: the kernel releases the fd's pins */
};

static const char *const teardown_names[] = {
	[TEARDOWN_UNREGISTER] = "unregister",
	[TEARDOWN_FINI] = "fini",
	[TEARDOWN_EXIT] = "exit",
};

struct options {
	const char *pci;
	bool unbind;
	bool expect_fail;
	bool attach;
	bool expect_iova;
	bool print_addrs;
	enum teardown teardown;
	uint32_t timeout_ms;
	bool kind[NR_BUF_KINDS];
	bool kinds_given;
	bool remap;
	enum remap_events remap_events;
};

/* A transfer buffer: [buf, buf + len) inside the mapping [map, map_len). */
struct xbuf {
	void *map;
	size_t map_len;
	uint8_t *buf;
	size_t len;
	bool registered;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options]\n"
		"  --pci BDF        controller to use (dddd:bb:ss.f); default: the first\n"
		"                   NVMe controller not held by another kernel driver\n"
		"  --unbind         take the controller from its kernel driver (nvme)\n"
		"  --attach         IOVA mode: libvtop maps memory for this device\n"
		"  --expect-iova    with --attach: fail unless every DMA address differs\n"
		"                   from the physical address (/proc/self/pagemap)\n"
		"  --expect-fail    succeed only if the transfer fails cleanly (a fatal\n"
		"                   status, an error status or a time-out is detected)\n"
		"  --print-addrs    one line per DMA segment, with the physical address\n"
		"                   of its first page (/proc/self/pagemap)\n"
		"  --buffers LIST   comma-separated subset of 4k,cross2m,hugetlb,thp\n"
		"                   (default: 4k,cross2m,hugetlb; with --remap\n"
		"                   4k,thp,hugetlb)\n"
		"  --timeout-ms N   per-command time-out (default 5000)\n"
		"  --teardown MODE  how the memory is released after the controller is\n"
		"                   stopped: unregister (each region, then\n"
		"                   vtop_env_fini; default), fini (vtop_env_fini with\n"
		"                   everything registered), exit (exit with everything\n"
		"                   registered: closing the fd releases it)\n"
		"  --remap          instead of the round trips: write a registered\n"
		"                   buffer, munmap it without unregistering, map new\n"
		"                   memory at the same address (MAP_FIXED) with\n"
		"                   another pattern, register it, write it again and\n"
		"                   read back: the data must be the new pattern\n"
		"  --multi [--wrong-iova]  (first) two controllers, one buffer\n"
		"                   registered once: A reads a pattern into it, B\n"
		"                   writes it and reads it back (each through its own\n"
		"                   IOVAs); --wrong-iova gives B A's IOVAs and must\n"
		"                   fail (see multi.c)\n"
		"  --revoke         (first) two controllers: B attached with memory\n"
		"                   registered is unbound from uio_pci_generic; libvtop\n"
		"                   must drop B's translation and pins while A keeps\n"
		"                   working (see revoke.c)\n"
		"  --remap-events HOW  how libvtop learns of the munmap: poll (wait\n"
		"                   for its event fd, vtop_mem_process_events();\n"
		"                   default) or register (vtop_mem_register() of the\n"
		"                   new memory processes the events itself)\n");
}

static int parse_buffers(char *list, struct options *o)
{
	char *tok, *save = NULL;
	int k;

	memset(o->kind, 0, sizeof(o->kind));
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NR_BUF_KINDS; k++)
			if (!strcmp(tok, kinds[k].name))
				break;
		if (k == NR_BUF_KINDS) {
			log_err("unknown buffer kind '%s'\n", tok);
			return -EINVAL;
		}
		o->kind[k] = true;
	}
	o->kinds_given = true;
	for (k = 0; k < NR_BUF_KINDS; k++)
		if (o->kind[k])
			return 0;
	log_err("--buffers: no buffer kind given\n");
	return -EINVAL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option lopts[] = {
		{ "pci", required_argument, NULL, 'p' },
		{ "unbind", no_argument, NULL, 'u' },
		{ "attach", no_argument, NULL, 'a' },
		{ "expect-iova", no_argument, NULL, 'I' },
		{ "expect-fail", no_argument, NULL, 'F' },
		{ "print-addrs", no_argument, NULL, 'P' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "teardown", required_argument, NULL, 'T' },
		{ "remap", no_argument, NULL, 'R' },
		{ "remap-events", required_argument, NULL, 'E' },
		/*
		 * Test only, not in --help: with --remap, let libvtop
		 * process nothing (no vtop_mem_process_events(), no new
		 * registration) and build the second write from the inline
		 * vtop_vtophys_lookup(), which does not look at the event
		 * page: what a library or a data path without invalidation
		 * events does. The device must then read the OLD pages and
		 * the check must fail (make nvme-check scenarios 5 and 6).
		 */
		{ "remap-no-events", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long v;
	int c, k;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 5000;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->pci = optarg;
			break;
		case 'u':
			o->unbind = true;
			break;
		case 'a':
			o->attach = true;
			break;
		case 'I':
			o->expect_iova = true;
			break;
		case 'F':
			o->expect_fail = true;
			break;
		case 'P':
			o->print_addrs = true;
			break;
		case 'b':
			if (parse_buffers(optarg, o))
				return -EINVAL;
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || v == 0 || v > 600000) {
				log_err("bad --timeout-ms '%s' (1..600000)\n",
					optarg);
				return -EINVAL;
			}
			o->timeout_ms = (uint32_t)v;
			break;
		case 'T':
			for (k = 0; k <= TEARDOWN_EXIT; k++)
				if (!strcmp(optarg, teardown_names[k]))
					break;
			if (k > TEARDOWN_EXIT) {
				log_err("bad --teardown '%s' (unregister, fini, exit)\n",
					optarg);
				return -EINVAL;
			}
			o->teardown = (enum teardown)k;
			break;
		case 'R':
			o->remap = true;
			break;
		case 'E':
			if (!strcmp(optarg, "poll")) {
				o->remap_events = REMAP_EVENTS_POLL;
			} else if (!strcmp(optarg, "register")) {
				o->remap_events = REMAP_EVENTS_REGISTER;
			} else {
				log_err("bad --remap-events '%s' (poll, register)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'N':
			o->remap_events = REMAP_EVENTS_OFF;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc) {
		log_err("unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->expect_iova && !o->attach) {
		log_err("--expect-iova needs --attach\n");
		return -EINVAL;
	}
	if (o->expect_iova && o->expect_fail) {
		log_err("--expect-iova and --expect-fail exclude each other\n");
		return -EINVAL;
	}
	if (o->remap && o->expect_fail) {
		log_err("--remap and --expect-fail exclude each other\n");
		return -EINVAL;
	}
	if (o->remap_events != REMAP_EVENTS_POLL && !o->remap) {
		log_err("--remap-events and --remap-no-events need --remap\n");
		return -EINVAL;
	}
	if (!o->kinds_given)
		for (k = 0; k < NR_BUF_KINDS; k++)
			o->kind[k] = o->remap ? k != BUF_CROSS_2M
					      : kinds[k].dflt;
	return 0;
}

/* The physical address of @va from /proc/self/pagemap (root only). */
static int pagemap_phys(const void *va, uint64_t *pa)
{
	static int fd = -1;
	uint64_t ent, pfn;
	uintptr_t v = (uintptr_t)va;

	if (fd < 0) {
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (pread(fd, &ent, sizeof(ent),
		  (off_t)(v / NVME_PAGE_SIZE * sizeof(ent))) != sizeof(ent))
		return -EIO;
	pfn = ent & ((1ULL << 55) - 1);
	if (!(ent >> 63) || !pfn)
		return -ENODATA;	/* not present, or PFNs hidden */
	*pa = pfn * NVME_PAGE_SIZE + (v & (NVME_PAGE_SIZE - 1));
	return 0;
}

/* Counts for --expect-iova, over every page the device was given. */
struct iova_check {
	unsigned long pages;
	unsigned long same;
	unsigned long unknown;
};

static void check_page(struct iova_check *ic, const void *va, uint64_t dma)
{
	uint64_t pa;

	ic->pages++;
	if (pagemap_phys(va, &pa))
		ic->unknown++;
	else if (pa == dma)
		ic->same++;
}

/*
 * Print the DMA segments of [buf, buf + len) as vtop_vtophys() reports them;
 * with --print-addrs one line per segment with the physical address of its
 * first page and how many of its pages have a DMA address different from
 * their physical address (/proc/self/pagemap). Return the number of
 * segments, or -EFAULT.
 */
static int show_addrs(const struct options *o, struct iova_check *ic,
		      const char *label, uint8_t *buf, size_t len)
{
	size_t off = 0, p;
	int nseg = 0;

	printf("    %-5s va %p..%p:", label, (void *)buf,
	       (void *)(buf + len - 1));
	while (off < len) {
		uint64_t size = len - off;
		uint64_t dma = vtop_vtophys(buf + off, &size);

		if (dma == VTOP_VTOPHYS_ERROR || size == 0) {
			printf("\n");
			log_err("vtop_vtophys(%p) failed\n", (void *)(buf + off));
			return -EFAULT;
		}
		if (nseg < 6)
			printf(" 0x%" PRIx64 "+%" PRIu64 "K", dma, size >> 10);
		else if (nseg == 6)
			printf(" ...");
		nseg++;
		off += size;
	}
	printf(" (%d DMA segment%s)\n", nseg, nseg == 1 ? "" : "s");

	for (off = 0; off < len;) {
		uint64_t size = len - off, pa0 = 0;
		uint64_t dma = vtop_vtophys(buf + off, &size);
		unsigned long differ = 0, pages = 0;
		bool known = !pagemap_phys(buf + off, &pa0);

		for (p = off; p < off + size; p += NVME_PAGE_SIZE) {
			uint64_t d = vtop_vtophys(buf + p, NULL), pa;

			if (ic)
				check_page(ic, buf + p, d);
			pages++;
			if (!pagemap_phys(buf + p, &pa) && pa != d)
				differ++;
		}
		if (o->print_addrs) {
			printf("      va %p dma 0x%09" PRIx64 " len %6" PRIu64 " KiB",
			       (void *)(buf + off), dma, size >> 10);
			if (known)
				printf("  phys 0x%09" PRIx64 "%s", pa0,
				       differ ? "  IOVA != phys" : "");
			if (differ && differ != pages)
				printf(" on %lu of %lu pages", differ, pages);
			printf("\n");
		}
		off += size;
	}
	return nseg;
}

static int xbuf_alloc(struct xbuf *x, enum buf_kind kind)
{
	size_t len = kinds[kind].len;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	uintptr_t b;

	memset(x, 0, sizeof(*x));
	x->len = len;
	switch (kind) {
	case BUF_4K:
		x->map_len = len;
		break;
	case BUF_CROSS_2M:
		/* Room to put the middle of the buffer on a 2 MiB boundary. */
		x->map_len = 2 * SZ_2M;
		break;
	case BUF_HUGETLB:
		x->map_len = len;
		flags |= MAP_HUGETLB;
		break;
	case BUF_THP:
		/* Room for a 2 MiB-aligned 2 MiB inside. */
		x->map_len = 2 * SZ_2M;
		break;
	default:
		return -EINVAL;
	}
	x->map = mmap(NULL, x->map_len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (x->map == MAP_FAILED) {
		int ret = -errno;

		x->map = NULL;
		if (kind == BUF_HUGETLB)
			log_err("no free 2 MiB hugetlb page (%s); reserve some: echo 4 > /proc/sys/vm/nr_hugepages\n",
				strerror(-ret));
		else
			log_err("mmap %zu bytes: %s\n", x->map_len,
				strerror(-ret));
		return ret;
	}
	x->buf = x->map;
	if (kind == BUF_4K) {
		/* Keep THP away: these must be separate 4 KiB pages. */
		if (madvise(x->map, x->map_len, MADV_NOHUGEPAGE))
			return -errno;
	} else if (kind == BUF_CROSS_2M) {
		b = ((uintptr_t)x->map + len / 2 + SZ_2M - 1) &
		    ~(uintptr_t)(SZ_2M - 1);
		x->buf = (uint8_t *)(b - len / 2);
	} else if (kind == BUF_THP) {
		b = ((uintptr_t)x->map + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1);
		x->buf = (uint8_t *)b;
		if (madvise(x->buf, len, MADV_HUGEPAGE)) {
			int ret = -errno;

			log_err("madvise(MADV_HUGEPAGE): %s (a kernel without THP?)\n",
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Replace the memory of [x->buf, x->buf + x->len) by new memory of the same
 * kind at the same address, without unregistering it: munmap, then mmap
 * with MAP_FIXED, as an allocator that returns memory to the kernel and
 * gets new memory at the same place does. The registration of the old
 * memory is left to libvtop's invalidation events.
 */
static int xbuf_remap(struct xbuf *x, enum buf_kind kind)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	void *p;

	if (munmap(x->buf, x->len)) {
		int ret = -errno;

		log_err("munmap(%p, %zu): %s\n", (void *)x->buf, x->len,
			strerror(-ret));
		return ret;
	}
	if (kind == BUF_HUGETLB)
		flags |= MAP_HUGETLB;
	p = mmap(x->buf, x->len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;

		log_err("mmap(MAP_FIXED at %p, %zu bytes): %s%s\n",
			(void *)x->buf, x->len, strerror(-ret),
			kind == BUF_HUGETLB ?
			" (the old hugetlb page is still pinned: reserve one more)" : "");
		return ret;
	}
	if (p != x->buf) {
		log_err("mmap(MAP_FIXED) returned %p, not %p\n", p,
			(void *)x->buf);
		return -EFAULT;
	}
	if (kind == BUF_4K && madvise(x->buf, x->len, MADV_NOHUGEPAGE))
		return -errno;
	if (kind == BUF_THP && madvise(x->buf, x->len, MADV_HUGEPAGE))
		return -errno;
	return 0;
}

/*
 * 1 if the page at @va is part of a transparent huge page (KPF_THP in
 * /proc/kpageflags, root only), 0 if not, -errno if unknown.
 */
static int is_thp(const void *va)
{
	uint64_t pa, flags;
	int fd, ret;

	ret = pagemap_phys(va, &pa);
	if (ret)
		return ret;
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = pread(fd, &flags, sizeof(flags),
		    (off_t)(pa / NVME_PAGE_SIZE * sizeof(flags))) ==
		      sizeof(flags) ? 0 : -EIO;
	close(fd);
	if (ret)
		return ret;
	return (flags >> 22) & 1;	/* KPF_THP */
}

/* Fail unless the first page of @x is a THP (memory already touched). */
static int require_thp(const struct xbuf *x, const char *kind)
{
	int ret = is_thp(x->buf);

	if (ret == 1)
		return 0;
	if (ret == 0)
		log_err("%s: the kernel did not give %p a transparent huge page (transparent_hugepage disabled, or no free 2 MiB block)\n",
			kind, (void *)x->buf);
	else
		log_err("%s: cannot tell whether %p is a THP (/proc/kpageflags: %s)\n",
			kind, (void *)x->buf, strerror(-ret));
	return -ENOMEM;
}

static void xbuf_free(struct xbuf *x)
{
	if (x->registered)
		vtop_mem_unregister(x->buf, x->len);
	x->registered = false;
	if (x->map)
		munmap(x->map, x->map_len);
	x->map = NULL;
}

/*
 * Fault in the pages of the write and the read buffer alternately and from
 * the end, so that neighbouring pages of one buffer do not come from
 * neighbouring page frames: the PRP list then really lists scattered pages.
 */
static void touch_scattered(struct xbuf *a, struct xbuf *b)
{
	size_t off = a->len;

	while (off) {
		off -= NVME_PAGE_SIZE;
		a->buf[off] = 1;
		b->buf[off] = 1;
	}
}

static int xbuf_register(struct xbuf *x, const char *kind)
{
	int ret = vtop_mem_register(x->buf, x->len);

	if (ret) {
		log_err("vtop_mem_register(%s buffer %p, %zu bytes): %s\n",
			kind, (void *)x->buf, x->len, strerror(-ret));
		return ret;
	}
	x->registered = true;
	return 0;
}

/* splitmix64: the word expected at device byte @off for run @seed. */
static uint64_t pattern_word(uint64_t seed, uint64_t off)
{
	uint64_t z = seed + off * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill_pattern(uint8_t *buf, size_t len, uint64_t seed,
			 uint64_t dev_off)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = pattern_word(seed, dev_off + i);

		memcpy(buf + i, &w, 8);
	}
}

/* Return the number of mismatching 8-byte words; report the first. */
static size_t verify(const uint8_t *got, const uint8_t *want, size_t len,
		     const char *kind)
{
	size_t i, bad = 0;

	for (i = 0; i < len; i += 8) {
		uint64_t g, w;

		if (!memcmp(got + i, want + i, 8))
			continue;
		if (!bad++) {
			memcpy(&g, got + i, 8);
			memcpy(&w, want + i, 8);
			log_err("%s: read-back mismatch at byte %zu: got 0x%016" PRIx64 ", wrote 0x%016" PRIx64 "\n",
				kind, i, g, w);
		}
	}
	if (bad)
		log_err("%s: %zu of %zu words differ\n", kind, bad, len / 8);
	return bad;
}

/*
 * Write the pattern from one buffer of @kind to the device, read it back
 * into another buffer of the same kind and compare. The buffers stay
 * allocated and registered in @x[0] (write) and @x[1] (read).
 */
static int round_trip(struct nvme_ctrl *c, const struct options *o,
		      enum buf_kind kind, uint64_t seed,
		      struct iova_check *ic, struct xbuf x[2],
		      uint64_t *verified)
{
	const char *name = kinds[kind].name;
	uint64_t dev_off = (uint64_t)kinds[kind].region * REGION_BYTES;
	uint64_t lba = dev_off >> c->lba_shift;
	struct xbuf *wr = &x[0], *rd = &x[1];
	uint64_t nblocks;
	int nseg, ret;

	printf("[%s] %s\n", name, kinds[kind].what);
	ret = xbuf_alloc(wr, kind);
	if (ret)
		return ret;
	ret = xbuf_alloc(rd, kind);
	if (ret)
		return ret;
	nblocks = wr->len >> c->lba_shift;
	if (kind == BUF_4K)
		touch_scattered(wr, rd);
	fill_pattern(wr->buf, wr->len, seed, dev_off);
	memset(rd->buf, 0x5a, rd->len);
	if (kind == BUF_THP) {
		ret = require_thp(wr, name);
		if (!ret)
			ret = require_thp(rd, name);
		if (ret)
			return ret;
	}

	ret = xbuf_register(wr, name);
	if (ret)
		return ret;
	ret = xbuf_register(rd, name);
	if (ret)
		return ret;
	nseg = show_addrs(o, ic, "write", wr->buf, wr->len);
	if (nseg < 0)
		return nseg;
	if (kind == BUF_4K && !o->attach && nseg < 2) {
		log_err("%s: the write buffer came out physically contiguous; the scattered-page case was not exercised\n",
			name);
		return -EAGAIN;
	}
	ret = show_addrs(o, ic, "read", rd->buf, rd->len);
	if (ret < 0)
		return ret;

	ret = nvme_rw(c, NVME_CMD_WRITE, lba, nblocks, wr->buf);
	if (ret)
		return ret;
	printf("    wrote %zu bytes to blocks %" PRIu64 "..%" PRIu64 "\n",
	       wr->len, lba, lba + nblocks - 1);
	ret = nvme_rw(c, NVME_CMD_READ, lba, nblocks, rd->buf);
	if (ret)
		return ret;
	if (verify(rd->buf, wr->buf, wr->len, name)) {
		if (c->fault == NVME_FAULT_NONE)
			c->fault = NVME_FAULT_MISMATCH;
		return -EIO;
	}
	printf("    read back into the other buffer: %zu bytes verified\n",
	       rd->len);
	*verified += rd->len;
	return 0;
}

/* How many 8-byte words of @buf hold the pattern of run @seed. */
static size_t pattern_matches(const uint8_t *buf, size_t len, uint64_t seed,
			      uint64_t dev_off)
{
	size_t i, n = 0;

	for (i = 0; i < len; i += 8) {
		uint64_t w = pattern_word(seed, dev_off + i);

		n += !memcmp(buf + i, &w, 8);
	}
	return n;
}

/* The live pins of libvtop's fd and how many of them were invalidated. */
static int pin_counts(uint32_t *nr_pins, uint32_t *nr_invalidated)
{
	struct vtop_info info;
	int ret;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ret = vtop_env_get_info(&info);
	if (ret) {
		log_err("vtop_env_get_info: %s\n", vtop_last_error());
		return ret;
	}
	*nr_pins = info.nr_pins;
	*nr_invalidated = info.nr_invalidated;
	return 0;
}

/*
 * Let libvtop learn that the registration of @wr's old memory is gone, as
 * --remap-events says, and register the new memory at the same address.
 * @efd: libvtop's event descriptor; @readable: whether it was readable
 * right after the munmap returned.
 */
static int remap_reregister(const struct options *o, struct xbuf *wr,
			    const char *name, int efd, bool readable)
{
	uint64_t t0 = now_us();
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint32_t nr_pins, nr_inval;
	uint64_t dma;
	int n, ret;

	if (o->remap_events == REMAP_EVENTS_POLL) {
		/* Bounded: the event is queued during munmap() itself. */
		n = poll(&pfd, 1, (int)o->timeout_ms);
		if (n < 0) {
			log_err("poll(event fd): %s\n", strerror(errno));
			return -errno;
		}
		if (n == 0 || !(pfd.revents & POLLIN)) {
			log_err("%s: no invalidation event on libvtop's event fd within %u ms of the munmap\n",
				name, o->timeout_ms);
			return -ETIMEDOUT;
		}
		if (!readable)
			printf("    event fd readable after waiting %" PRIu64 " us in poll()\n",
			       now_us() - t0);
		n = vtop_mem_process_events();
		if (n != 1) {
			log_err("%s: vtop_mem_process_events() returned %d, want 1 (registration invalidated)%s%s\n",
				name, n, n < 0 ? ": " : "",
				n < 0 ? vtop_last_error() : "");
			return n < 0 ? n : -EPROTO;
		}
		printf("    vtop_mem_process_events(): 1 registration invalidated\n");
		wr->registered = false;
	}
	/* Processed or not yet: the exported call must refuse the old memory. */
	dma = vtop_vtophys(wr->buf, NULL);
	if (dma != VTOP_VTOPHYS_ERROR) {
		log_err("%s: vtop_vtophys(%p) still translates the unmapped memory (0x%" PRIx64 ")\n",
			name, (void *)wr->buf, dma);
		return -EPROTO;
	}
	printf("    vtop_vtophys(%p) before the new registration: VTOP_VTOPHYS_ERROR (invalidated)\n",
	       (void *)wr->buf);
	wr->registered = false;
	ret = xbuf_register(wr, name);
	if (ret)
		return ret;
	printf("    vtop_mem_register() of the new memory: 0%s\n",
	       o->remap_events == REMAP_EVENTS_REGISTER ?
	       " (it processed the pending event itself)" : "");
	ret = pin_counts(&nr_pins, &nr_inval);
	if (ret)
		return ret;
	printf("    vtop: %u pins, %u of them invalidated and still pinned\n",
	       nr_pins, nr_inval);
	if (nr_inval) {
		log_err("%s: the old memory's pin was not released after the event was processed\n",
			name);
		return -EPROTO;
	}
	return 0;
}

/*
 * The proof by DMA of invalidation events, for one buffer kind: write a
 * registered buffer (the OLD pattern) to the device, munmap it without
 * unregistering, map new memory at the same address with MAP_FIXED, fill
 * it with the NEW pattern, let libvtop process the event and register the
 * new memory (--remap-events), write the buffer again to the same blocks
 * through the translations libvtop gives now, and read them back into
 * another buffer: they must hold the NEW pattern. Returns 0, -ESTALE if
 * the OLD pattern came back (the device read the unmapped pages through a
 * stale translation), -EOPNOTSUPP without events, or another -errno.
 */
static int remap_trip(struct nvme_ctrl *c, const struct options *o,
		      enum buf_kind kind, uint64_t seed,
		      struct iova_check *ic, struct xbuf x[2],
		      uint64_t *verified)
{
	const char *name = kinds[kind].name;
	uint64_t dev_off = (uint64_t)kinds[kind].region * REGION_BYTES;
	uint64_t lba = dev_off >> c->lba_shift;
	uint64_t seed_old = seed, seed_new = pattern_word(seed, ~0ULL);
	const struct vtop_mem_map *vmap;
	struct xbuf *wr = &x[0], *rd = &x[1];
	uint64_t *old_dma = NULL, nblocks, pa;
	size_t npages, i, words, n_new, n_old, same = 0, notphys = 0;
	size_t inline_differs = 0;
	uint32_t nr_pins, nr_inval;
	int efd = -1, nseg, ret;
	bool readable = false;

	printf("[%s] remap: %s, unmapped and replaced while registered\n",
	       name, kinds[kind].what);
	vmap = vtop_vtophys_map();
	if (!vmap) {
		log_err("vtop_vtophys_map(): %s\n", vtop_last_error());
		return -errno;
	}
	if (o->remap_events != REMAP_EVENTS_OFF) {
		efd = vtop_env_get_event_fd();
		if (efd == -EOPNOTSUPP) {
			printf("libvtop reports no invalidation events (%s)\n",
			       vtop_last_error());
			return -EOPNOTSUPP;
		}
		if (efd < 0) {
			log_err("vtop_env_get_event_fd(): %s\n",
				vtop_last_error());
			return efd;
		}
	}
	ret = xbuf_alloc(wr, kind);
	if (!ret)
		ret = xbuf_alloc(rd, kind);
	if (ret)
		return ret;
	nblocks = wr->len >> c->lba_shift;
	npages = wr->len / NVME_PAGE_SIZE;
	words = wr->len / 8;
	if (kind == BUF_4K)
		touch_scattered(wr, rd);
	fill_pattern(wr->buf, wr->len, seed_old, dev_off);
	memset(rd->buf, 0x5a, rd->len);
	if (kind == BUF_THP) {
		ret = require_thp(wr, name);
		if (!ret)
			ret = require_thp(rd, name);
		if (ret)
			return ret;
	}
	ret = xbuf_register(wr, name);
	if (!ret)
		ret = xbuf_register(rd, name);
	if (ret)
		return ret;
	nseg = show_addrs(o, ic, "old", wr->buf, wr->len);
	if (nseg < 0)
		return nseg;
	if (kind == BUF_4K && !o->attach && nseg < 2) {
		log_err("%s: the buffer came out physically contiguous; the scattered-page case was not exercised\n",
			name);
		return -EAGAIN;
	}
	ret = show_addrs(o, ic, "read", rd->buf, rd->len);
	if (ret < 0)
		return ret;
	old_dma = calloc(npages, sizeof(*old_dma));
	if (!old_dma)
		return -ENOMEM;
	for (i = 0; i < npages; i++)
		old_dma[i] = vtop_vtophys(wr->buf + i * NVME_PAGE_SIZE, NULL);

	ret = nvme_rw(c, NVME_CMD_WRITE, lba, nblocks, wr->buf);
	if (ret)
		goto out;
	printf("    wrote the OLD pattern, %zu bytes, to blocks %" PRIu64 "..%" PRIu64 "\n",
	       wr->len, lba, lba + nblocks - 1);

	if (efd >= 0) {
		struct pollfd pfd = { .fd = efd, .events = POLLIN };

		if (poll(&pfd, 1, 0) != 0) {
			log_err("%s: libvtop's event fd is readable before the munmap\n",
				name);
			ret = -EPROTO;
			goto out;
		}
	}
	ret = xbuf_remap(wr, kind);
	if (ret)
		goto out;
	printf("    munmap()ed it without unregistering; new memory mapped at %p (MAP_FIXED)\n",
	       (void *)wr->buf);
	if (efd >= 0) {
		struct pollfd pfd = { .fd = efd, .events = POLLIN };

		readable = poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
		printf("    event fd %s when munmap() returned\n",
		       readable ? "readable" : "NOT yet readable");
	}
	if (kind == BUF_4K) {
		/* Fault the new pages from the end: scattered frames again. */
		for (i = npages; i-- > 0;)
			wr->buf[i * NVME_PAGE_SIZE] = 1;
	}
	fill_pattern(wr->buf, wr->len, seed_new, dev_off);
	printf("    filled the new memory with the NEW pattern\n");
	if (kind == BUF_THP) {
		ret = require_thp(wr, name);
		if (ret)
			goto out;
	}

	if (o->remap_events == REMAP_EVENTS_OFF) {
		/* Test only: what a library without events would serve. */
		c->lookup_map = vmap;
		printf("    events off (test only): nothing processed, no new registration; the write takes vtop_vtophys_lookup(), which does not check the event page: 0x%" PRIx64 " for %p (the old memory had 0x%" PRIx64 ")\n",
		       vtop_vtophys_lookup(vmap, wr->buf), (void *)wr->buf,
		       old_dma[0]);
	} else {
		ret = remap_reregister(o, wr, name, efd, readable);
		if (ret)
			goto out;
		nseg = show_addrs(o, ic, "new", wr->buf, wr->len);
		if (nseg < 0) {
			ret = nseg;
			goto out;
		}
		for (i = 0; i < npages; i++) {
			uint8_t *p = wr->buf + i * NVME_PAGE_SIZE;
			uint64_t d = vtop_vtophys(p, NULL);

			same += d == old_dma[i];
			inline_differs += vtop_vtophys_lookup(vmap, p) != d;
			if (!o->attach && !pagemap_phys(p, &pa) && pa != d)
				notphys++;
		}
		printf("    new translations: %zu of %zu pages have their old DMA address%s\n",
		       same, npages,
		       o->attach ? " (IOVAs may be reused once the old ones are unmapped)" : "");
		if (inline_differs) {
			log_err("%s: vtop_vtophys_lookup() and vtop_vtophys() disagree on %zu pages\n",
				name, inline_differs);
			ret = -EPROTO;
			goto out;
		}
		if (!o->attach && (same || notphys)) {
			log_err("%s: physical mode: %zu pages kept the old frame's address, %zu differ from their pagemap address\n",
				name, same, notphys);
			ret = -EPROTO;
			goto out;
		}
	}

	ret = nvme_rw(c, NVME_CMD_WRITE, lba, nblocks, wr->buf);
	if (ret)
		goto out;
	printf("    wrote the buffer at %p again, to the same blocks\n",
	       (void *)wr->buf);
	ret = nvme_rw(c, NVME_CMD_READ, lba, nblocks, rd->buf);
	if (ret)
		goto out;
	n_new = pattern_matches(rd->buf, rd->len, seed_new, dev_off);
	n_old = pattern_matches(rd->buf, rd->len, seed_old, dev_off);
	if (n_new == words) {
		printf("    read back into the other buffer: %zu bytes, the NEW pattern: the device read the new memory\n",
		       rd->len);
		*verified += rd->len;
	} else if (n_old == words) {
		printf("    read back into the other buffer: %zu bytes, the OLD pattern: the device read the unmapped pages (stale translation)\n",
		       rd->len);
		log_err("%s: the data read back is the OLD buffer's, not the memory now mapped at %p: a stale translation\n",
			name, (void *)wr->buf);
		/* The controller is sound: the other kinds go on. */
		ret = -ESTALE;
	} else {
		log_err("%s: read back %zu words of the NEW pattern and %zu of the OLD, of %zu\n",
			name, n_new, n_old, words);
		verify(rd->buf, wr->buf, wr->len, name);
		if (c->fault == NVME_FAULT_NONE)
			c->fault = NVME_FAULT_MISMATCH;
		ret = -EIO;
	}
	if (o->remap_events == REMAP_EVENTS_OFF) {
		c->lookup_map = NULL;
		/* The kernel did report it; nothing processed it. */
		if (!pin_counts(&nr_pins, &nr_inval))
			printf("    vtop: %u pins, %u of them invalidated and still pinned (reported by the kernel, not processed)\n",
			       nr_pins, nr_inval);
		printf("    vtop_vtophys(%p) now: %s\n", (void *)wr->buf,
		       vtop_vtophys(wr->buf, NULL) == VTOP_VTOPHYS_ERROR ?
		       "VTOP_VTOPHYS_ERROR (the exported call checks the event page)" :
		       "a translation");
	}
out:
	c->lookup_map = NULL;
	free(old_dma);
	return ret;
}

/*
 * Open libvtop's environment: physical addresses, or with --attach the
 * IOVAs of @addr. Return 0, -EOPNOTSUPP when the module has no ATTACH
 * (checked through VTOP_IOC_INFO), or another -errno.
 */
static int env_setup(const struct options *o, const struct pci_addr *addr)
{
	struct vtop_env_opts eo = VTOP_ENV_OPTS_INIT;
	struct vtop_info info;
	int ret;

	eo.flags = VTOP_ENV_LOAD_MODULE;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (o->attach) {
		ret = vtop_env_get_info(&info);
		if (ret) {
			log_err("libvtop: %s\n", vtop_last_error());
			return ret;
		}
		vtop_env_fini();
		if (!(info.features & VTOP_FEATURE_ATTACH)) {
			printf("the vtop module (ABI %u, features 0x%llx) has no VTOP_FEATURE_ATTACH: IOVA mode is not available\n",
			       info.abi_version,
			       (unsigned long long)info.features);
			return -EOPNOTSUPP;
		}
		eo.pci_device = addr->name;
	}
	ret = vtop_env_init(&eo);
	if (!ret)
		ret = vtop_env_get_info(&info);
	if (ret) {
		log_err("libvtop: %s\n", vtop_last_error());
		return ret;
	}
	if (info.mode == VTOP_MODE_IOVA)
		printf("libvtop %s, vtop module %u.%u.%u: IOVA mode, addresses are IOVAs of %04x:%02x:%02x.%x\n",
		       vtop_version(), info.module_version >> 16,
		       (info.module_version >> 8) & 0xff,
		       info.module_version & 0xff, info.attached_domain,
		       info.attached_bdf >> 8, (info.attached_bdf >> 3) & 0x1f,
		       info.attached_bdf & 7);
	else
		printf("libvtop %s, vtop module %u.%u.%u: physical-address mode\n",
		       vtop_version(), info.module_version >> 16,
		       (info.module_version >> 8) & 0xff,
		       info.module_version & 0xff);
	if (o->attach && info.mode != VTOP_MODE_IOVA) {
		log_err("--attach: the module reports mode %u, not IOVA\n",
			info.mode);
		return -EPROTO;
	}
	return 0;
}

static void print_pins(const char *when)
{
	struct vtop_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (!vtop_env_get_info(&info))
		printf("vtop %s: %u pins, %llu KiB pinned through libvtop's fd\n",
		       when, info.nr_pins,
		       (unsigned long long)info.pinned_bytes >> 10);
}

/* Result for --expect-fail: 0 if a device-side failure was detected. */
static int expect_fail_status(const struct nvme_ctrl *c, int ret)
{
	if (c->fault != NVME_FAULT_NONE) {
		printf("PASS (expected failure): %s\n",
		       nvme_fault_name(c->fault));
		return 0;
	}
	if (!ret)
		printf("FAIL: the transfers succeeded but --expect-fail was given\n");
	else
		printf("FAIL: stopped before the controller could fail (%s)\n",
		       strerror(-ret));
	return 1;
}

int multi_main(int argc, char **argv);
int revoke_main(int argc, char **argv);

int main(int argc, char **argv)
{
	struct xbuf bufs[NR_BUF_KINDS][2];
	struct iova_check ic = { 0 };
	sigset_t stop_sigs;
	struct pci_addr addr;
	struct options o;
	struct nvme_ctrl c;
	volatile void *bar = NULL;
	size_t bar_len = 0;
	uint64_t verified = 0, seed;
	uint16_t old_cmd = 0;
	bool cmd_saved = false, stopped = false, skipped = false;
	int k, ret, stale = 0, done = 0;

	/* Two controllers, one registration (libvtop 0.5): multi.c. */
	if (argc > 1 && !strcmp(argv[1], "--multi"))
		return multi_main(argc - 1, argv + 1);
	/* A controller unbound with live pins (libvtop 0.6): revoke.c. */
	if (argc > 1 && !strcmp(argv[1], "--revoke"))
		return revoke_main(argc - 1, argv + 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&c, 0, sizeof(c));
	memset(bufs, 0, sizeof(bufs));
	if (parse_options(argc, argv, &o)) {
		fprintf(stderr, "see " PROG " --help\n");
		return EXIT_USAGE;
	}

	if (o.pci) {
		if (pci_addr_parse(o.pci, &addr)) {
			log_err("bad PCI address '%s' (want dddd:bb:ss.f)\n",
				o.pci);
			return EXIT_USAGE;
		}
	} else if (pci_find_nvme(&addr)) {
		return 1;
	}
	if (pci_bind_uio(&addr, o.unbind))
		return 1;

	ret = env_setup(&o, &addr);
	if (ret == -EOPNOTSUPP && o.attach) {
		printf("SKIP: --attach needs a vtop module with VTOP_FEATURE_ATTACH\n");
		return EXIT_SKIP;
	}
	if (ret)
		return 1;

	/*
	 * From bus mastering on to the end of the teardown, Ctrl-C must not
	 * kill the process: the controller could keep writing into pages that
	 * exit unpins. Every wait is bounded, so the signal waits little.
	 */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigaddset(&stop_sigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop_sigs, NULL);

	ret = pci_command_update(&addr, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				 PCI_COMMAND_INTX_DISABLE, 0, &old_cmd);
	if (ret)
		goto out;
	cmd_saved = true;
	ret = pci_map_bar0(&addr, &bar, &bar_len);
	if (ret)
		goto out;

	ret = nvme_ctrl_init(&c, bar, bar_len, o.timeout_ms);
	if (ret)
		goto out;
	printf("controller %s: NVMe %u.%u, BAR0 %zu KiB, CAP.TO %u ms, max queue entries %u, bus mastering on\n",
	       addr.name, c.vs >> 16, (c.vs >> 8) & 0xff, bar_len >> 10,
	       c.ready_timeout_ms, NVME_CAP_MQES(c.cap) + 1);
	printf("queues in libvtop DMA memory (vtop_dma_zmalloc): ASQ 0x%" PRIx64 " ACQ 0x%" PRIx64
	       " IOSQ 0x%" PRIx64 " IOCQ 0x%" PRIx64 " Identify 0x%" PRIx64 " PRP list 0x%" PRIx64 "\n",
	       c.admin.sq_dma, c.admin.cq_dma, c.io.sq_dma, c.io.cq_dma,
	       c.identify_dma, c.prp_list_dma);
	if (o.expect_iova) {
		for (k = 0; k < NVME_CTL_PAGES; k++)
			check_page(&ic, c.ctl[k], vtop_vtophys(c.ctl[k], NULL));
	}

	ret = nvme_ctrl_enable(&c);
	if (ret)
		goto out;
	printf("controller enabled (CC.EN=1, CSTS.RDY=1)\n");
	ret = nvme_identify(&c);
	if (ret)
		goto out;
	printf("Identify Controller: model \"%s\", serial \"%s\", firmware \"%s\", vendor 0x%04x, max transfer %u KiB\n",
	       c.model, c.serial, c.firmware, c.vid, c.max_xfer >> 10);
	printf("Identify Namespace 1: %" PRIu64 " blocks of %u bytes (%" PRIu64 " MiB)\n",
	       c.ns_blocks, 1u << c.lba_shift,
	       (c.ns_blocks << c.lba_shift) >> 20);
	if ((c.ns_blocks << c.lba_shift) < NR_REGIONS * (uint64_t)REGION_BYTES) {
		log_err("namespace 1 is smaller than the %u MiB this example writes\n",
			NR_REGIONS * REGION_BYTES >> 20);
		ret = -ENOSPC;
		goto out;
	}
	ret = nvme_create_io_queues(&c);
	if (ret)
		goto out;
	printf("I/O queue pair 1 created (%u entries)\n", c.io.depth);

	seed = (uint64_t)now_ms() * 1000003u ^ (uint64_t)getpid();
	for (k = 0; k < NR_BUF_KINDS; k++) {
		if (!o.kind[k])
			continue;
		if (!o.remap) {
			ret = round_trip(&c, &o, (enum buf_kind)k, seed,
					 o.expect_iova ? &ic : NULL, bufs[k],
					 &verified);
			if (ret)
				goto out;
			continue;
		}
		ret = remap_trip(&c, &o, (enum buf_kind)k, seed,
				 o.expect_iova ? &ic : NULL, bufs[k],
				 &verified);
		done++;
		if (ret == -EOPNOTSUPP) {
			skipped = true;
			goto out;
		}
		/* A stale read-back leaves the controller sound: go on. */
		if (ret == -ESTALE)
			stale++;
		else if (ret)
			goto out;
	}
	ret = stale ? -ESTALE : 0;
	if (!ret)
		ret = nvme_delete_io_queues(&c);
	else
		nvme_delete_io_queues(&c);
out:
	if (c.bar) {
		if (!nvme_ctrl_shutdown(&c)) {
			stopped = true;
			printf("controller shut down and disabled (CSTS.RDY=0)\n");
		}
	} else {
		stopped = true;
	}
	if (cmd_saved) {
		/* Bus mastering off: from here the device cannot DMA at all. */
		if (!pci_command_update(&addr, 0, PCI_COMMAND_MASTER, NULL))
			stopped = true;
		/* Then the rest of the command register as it was found. */
		pci_command_update(&addr, old_cmd & (PCI_COMMAND_MASTER |
						     PCI_COMMAND_INTX_DISABLE),
				   ~old_cmd & PCI_COMMAND_INTX_DISABLE, NULL);
	}
	if (bar)
		pci_unmap_bar0(bar, bar_len);

	if (o.expect_iova && !ret) {
		printf("IOVA check: %lu pages, DMA address equals the physical address on %lu, unknown on %lu\n",
		       ic.pages, ic.same, ic.unknown);
		if (ic.same || ic.unknown || !ic.pages) {
			log_err("--expect-iova: every DMA address must be an IOVA distinct from the page's physical address\n");
			ret = -EINVAL;
		}
	}

	print_pins("before teardown");
	if (!stopped) {
		/* The device might still DMA: keep everything pinned. */
		log_err("the controller could not be stopped; its memory stays registered until exit\n");
		return 1;
	}
	switch (o.teardown) {
	case TEARDOWN_UNREGISTER:
		for (k = 0; k < NR_BUF_KINDS; k++) {
			xbuf_free(&bufs[k][0]);
			xbuf_free(&bufs[k][1]);
		}
		nvme_ctrl_fini(&c);
		print_pins("after unregistering");
		vtop_env_fini();
		printf("teardown: every region unregistered, then vtop_env_fini()\n");
		break;
	case TEARDOWN_FINI:
		vtop_env_fini();
		printf("teardown: vtop_env_fini() with every region still registered\n");
		break;
	case TEARDOWN_EXIT:
		printf("teardown: exit with every region registered; the kernel releases the pins when the fd closes\n");
		break;
	}

	/* A signal that arrived meanwhile ends the process here. */
	sigprocmask(SIG_UNBLOCK, &stop_sigs, NULL);

	if (skipped) {
		printf("SKIP: --remap needs libvtop's invalidation events (a vtop module with VTOP_FEATURE_EVENTS)\n");
		return EXIT_SKIP;
	}
	if (o.expect_fail)
		return expect_fail_status(&c, ret);
	if (o.remap && stale) {
		printf("FAIL: remap: %d of %d buffer kinds read back the OLD data: the device used stale translations of unmapped memory\n",
		       stale, done);
		return 1;
	}
	if (ret) {
		printf("FAIL: %s%s%s\n",
		       c.fault ? nvme_fault_name(c.fault) : strerror(-ret),
		       c.fault ? ": " : "", c.fault ? c.fault_msg : "");
		return 1;
	}
	if (o.remap) {
		printf("PASS: remap: %d buffer kinds, %" PRIu64 " bytes: the device read the NEW memory mapped at the reused addresses\n",
		       done, verified);
		return 0;
	}
	printf("PASS: %" PRIu64 " bytes written and verified through libvtop-registered memory\n",
	       verified);
	return 0;
}
