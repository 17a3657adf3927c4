// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: command-line front end to /dev/vtop.
 *
 *   vtop info
 *	print what VTOP_IOC_INFO reports for a fresh fd
 *   vtop pin --kind 4k|thp|hugetlb --size BYTES [--readonly] [--check]
 *	map a buffer of that kind, pin it, print its segments (user address,
 *	DMA address, length, page size); --check compares every page with
 *	/proc/self/pagemap and the segment list with the one pagemap and
 *	kpageflags predict; the pin is released on exit
 *
 * Exit status: 0, 1 on an error or a failed check, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtop_test_util.h"

static const char *prog = "vtop";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s info\n"
		"       %s pin --kind 4k|thp|hugetlb --size BYTES [--readonly] [--check]\n"
		"\n"
		"  info        show the module's version, features, limits and this fd's state\n"
		"  pin         map a buffer of KIND, pin SIZE bytes of it (suffix K, M or G;\n"
		"              rounded up to the kind's page size), print its segments\n"
		"  --readonly  pin with VTOP_PIN_READONLY (the device only reads)\n"
		"  --check     compare every segment with /proc/self/pagemap\n",
		prog, prog);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

static void print_bits(uint64_t bits, const char *const *names, int n)
{
	const char *sep = "";
	int i;

	printf(" (");
	for (i = 0; i < 64; i++) {
		if (!(bits & (1ULL << i)))
			continue;
		if (i < n && names[i])
			printf("%s%s", sep, names[i]);
		else
			printf("%sbit%d", sep, i);
		sep = " ";
	}
	printf(")\n");
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % (1ULL << 30)))
		snprintf(buf, len, "%" PRIu64 " GiB", bytes >> 30);
	else if (bytes && !(bytes % (1ULL << 20)))
		snprintf(buf, len, "%" PRIu64 " MiB", bytes >> 20);
	else if (bytes && !(bytes % 1024))
		snprintf(buf, len, "%" PRIu64 " KiB", bytes >> 10);
	else
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	return buf;
}

static int cmd_info(void)
{
	static const char *const features[] = {
		"pin", "get_segs", "readonly", "attach", "events",
	};
	static const char *const caps[] = { "phys_addrs", "ipc_lock" };
	struct vtop_info info;
	char h[32];
	int fd, ret;

	fd = vt_open();
	if (fd < 0)
		return fail(VTOP_DEVICE_PATH, -fd);
	ret = vt_info(fd, &info);
	close(fd);
	if (ret)
		return fail("VTOP_IOC_INFO", -ret);

	printf("%s\n", VTOP_DEVICE_PATH);
	printf("  abi_version      %u\n", info.abi_version);
	printf("  module_version   %u.%u.%u\n", info.module_version >> 16,
	       (info.module_version >> 8) & 0xff, info.module_version & 0xff);
	printf("  features         0x%" PRIx64, (uint64_t)info.features);
	print_bits(info.features, features, 5);
	printf("  caps             0x%" PRIx64, (uint64_t)info.caps);
	print_bits(info.caps, caps, 2);
	printf("  page_size        %u\n", info.page_size);
	printf("  mode             %s\n",
	       info.mode == VTOP_MODE_PHYS ? "phys (CPU physical addresses)" :
	       info.mode == VTOP_MODE_IOVA ? "iova (device addresses)" : "?");
	if (info.mode == VTOP_MODE_IOVA)
		printf("  attached         %04x:%02x:%02x.%x\n",
		       info.attached_domain, info.attached_bdf >> 8,
		       (info.attached_bdf >> 3) & 0x1f, info.attached_bdf & 7);
	printf("  max_pins         %u per fd\n", info.max_pins);
	printf("  nr_pins          %u\n", info.nr_pins);
	if (info.max_pin_bytes)
		printf("  max_pin_bytes    %s per fd\n",
		       human(info.max_pin_bytes, h, sizeof(h)));
	else
		printf("  max_pin_bytes    no cap but RLIMIT_MEMLOCK\n");
	printf("  pinned_bytes     %s\n", human(info.pinned_bytes, h, sizeof(h)));
	if (info.memlock_limit == ~0ULL)
		printf("  memlock_limit    unlimited\n");
	else
		printf("  memlock_limit    %s\n",
		       human(info.memlock_limit, h, sizeof(h)));
	printf("  mm_pinned_bytes  %s\n",
	       human(info.mm_pinned_bytes, h, sizeof(h)));
	if (info.features & VTOP_FEATURE_EVENTS) {
		printf("  nr_invalidated   %u (%s)\n", info.nr_invalidated,
		       human(info.invalidated_bytes, h, sizeof(h)));
		printf("  queued_events    %u\n", info.nr_queued_events);
	}
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || !v)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmd_pin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 's' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum vt_kind kind = VT_KIND_4K;
	bool have_kind = false, check = false;
	struct vtop_segment *segs = NULL;
	uint32_t flags = 0, nr = 0, i;
	uint64_t size = 0, handle = 0;
	size_t granule;
	void *buf = NULL;
	int fd, ret, opt, status = 0;
	char h[32];

	while ((opt = getopt_long(argc, argv, "k:s:rch", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			if (vt_kind_parse(optarg, &kind)) {
				fprintf(stderr, "%s: unknown kind '%s'\n", prog,
					optarg);
				return 2;
			}
			have_kind = true;
			break;
		case 's':
			if (parse_size(optarg, &size)) {
				fprintf(stderr, "%s: bad size '%s'\n", prog,
					optarg);
				return 2;
			}
			break;
		case 'r':
			flags |= VTOP_PIN_READONLY;
			break;
		case 'c':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_kind || !size || optind != argc) {
		usage(stderr);
		return 2;
	}
	granule = vt_kind_granule(kind);
	size = (size + granule - 1) / granule * granule;

	fd = vt_open();
	if (fd < 0)
		return fail(VTOP_DEVICE_PATH, -fd);
	ret = vt_buf_alloc(kind, size, &buf);
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr, "%s: the kernel gave no %s memory (%s)\n", prog,
			vt_kind_name(kind),
			kind == VT_KIND_HUGETLB ? "no free 2 MiB hugetlb pages" :
			"THP disabled or unavailable");
		close(fd);
		return 1;
	}
	if (ret) {
		close(fd);
		return fail("allocating the buffer", -ret);
	}
	ret = vt_pin_alloc(fd, buf, size, flags, &segs, &nr, &handle);
	if (ret) {
		status = fail("VTOP_IOC_PIN", -ret);
		goto out;
	}

	printf("pinned %s of %s memory at %p%s: handle 0x%" PRIx64
	       ", %u segment%s\n", human(size, h, sizeof(h)),
	       vt_kind_name(kind), buf,
	       flags & VTOP_PIN_READONLY ? " read-only" : "", handle, nr,
	       nr == 1 ? "" : "s");
	printf("  %4s  %-18s  %-18s  %10s  %s\n", "#", "vaddr", "dma_addr",
	       "length", "page");
	for (i = 0; i < nr; i++)
		printf("  %4u  0x%016" PRIx64 "  0x%016" PRIx64 "  %10s  %s\n",
		       i, (uint64_t)segs[i].vaddr, (uint64_t)segs[i].dma_addr,
		       human(segs[i].len, h, sizeof(h)),
		       segs[i].page_shift == 12 ? "4K" :
		       segs[i].page_shift == 21 ? "2M" :
		       segs[i].page_shift == 30 ? "1G" : "other");

	if (check) {
		char why[256];

		ret = vt_check_segs(segs, nr, (uintptr_t)buf, size, why,
				    sizeof(why));
		if (ret == -EINVAL) {
			printf("check: MISMATCH: %s\n", why);
			status = 1;
		} else if (ret) {
			printf("check: cannot check: %s%s%s\n", strerror(-ret),
			       why[0] ? ": " : "", why);
			status = 1;
		} else {
			printf("check: ok: every page's dma_addr is its pagemap PFN << 12, and the %u segment%s %s what pagemap predicts\n",
			       nr, nr == 1 ? "" : "s", nr == 1 ? "is" : "are");
		}
	}

	ret = vt_unpin(fd, handle);
	if (ret)
		status = fail("VTOP_IOC_UNPIN", -ret);
out:
	free(segs);
	vt_buf_free(buf, size);
	close(fd);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "info") && argc == 2)
		return cmd_info();
	if (!strcmp(argv[1], "pin"))
		return cmd_pin(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
