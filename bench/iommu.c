// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop-bench-iommu: making memory DMA-able through an IOMMU, three ways.
 *
 * Two devices of the same kind (the rig's emulated NVMe controllers behind
 * QEMU's intel-iommu, strict invalidation: iommu.strict=1), one bound to
 * uio_pci_generic for vtop's attached mode, one to vfio-pci. For each page
 * kind (4 KiB pages, hugetlb 2 MiB) and size, the very same populated
 * memory is mapped and unmapped, in the same run, by
 *   attached   VTOP_IOC_PIN + VTOP_IOC_UNPIN on a /dev/vtop fd attached to
 *              the first device (VTOP_IOC_ATTACH): pin, DMA-API map through
 *              the device's strict DMA domain, IOVAs returned; unmap, flush,
 *              unpin
 *   vfio       VFIO_IOMMU_MAP_DMA + VFIO_IOMMU_UNMAP_DMA (type1 v2) in a
 *              container holding the second device's group: pin, map at a
 *              chosen IOVA; unmap (type1 flushes the IOTLB synchronously),
 *              unpin
 *   iommufd    IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP: only where the kernel has
 *              /dev/iommu (Debian's 6.1 and 6.12 are built without
 *              CONFIG_IOMMUFD: then no rows, and a log line says so)
 *   physical   VTOP_IOC_PIN + VTOP_IOC_UNPIN unattached, and
 *   io_uring   IORING_REGISTER_BUFFERS + unregister, for reference (the
 *              same baseline as vtop-bench-register's)
 * Each repeat runs them in rotating order. Reported: ns per 4 KiB page and
 * the ratio attached / vfio within each repeat.
 *
 *   vtop-bench-iommu --vtop-dev BDF --vfio-dev BDF [options]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vtop.h>

#include "common.h"
#include "pair.h"

#define MAX_SIZES	16
/* Where VFIO maps the buffer: above 4 GiB, clear of the MSI window. */
#define VFIO_IOVA	((uint64_t)1 << 32)

enum method { M_ATTACHED, M_VFIO, M_PHYS, M_IOURING, NR_METHODS };

static const char *const method_names[NR_METHODS] = {
	[M_ATTACHED] = "attached",
	[M_VFIO] = "vfio",
	[M_PHYS] = "physical",
	[M_IOURING] = "io_uring",
};

static struct {
	uint64_t sizes[MAX_SIZES];
	int nr_sizes;
	bool pages[3];
	uint64_t repeats;
	uint64_t min_bytes;
	uint64_t max_ns;
	const char *vtop_dev;
	const char *vfio_dev;
} o = { .repeats = 5, .min_bytes = 64ULL << 20, .max_ns = 400000000 };

static const char *env;
static int att_fd = -1, phys_fd = -1, container = -1, group = -1;
static struct io_uring ring;
static struct vtop_segment *segs;
static uint32_t nr_segs_cap;

static int vfio_reg(void *ctx, uint64_t i)
{
	struct bench_pin_ctx *c = ctx;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)c->mem,
		.iova = VFIO_IOVA,
		.size = c->len,
	};

	(void)i;
	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int vfio_unreg(void *ctx, uint64_t i)
{
	struct bench_pin_ctx *c = ctx;
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = VFIO_IOVA,
		.size = c->len,
	};

	(void)i;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	return unmap.size == c->len ? 0 : -EPROTO;
}

static const struct bench_pair_ops vfio_ops = {
	.reg = vfio_reg,
	.unreg = vfio_unreg,
};

static int run_method(int m, void *mem, uint64_t len, uint64_t loops,
		      struct bench_pair *s)
{
	struct bench_uring_ctx uc = {
		.ring = &ring,
		.iov = { .iov_base = mem, .iov_len = len },
	};
	struct bench_pin_ctx pc = {
		.fd = m == M_ATTACHED ? att_fd : phys_fd,
		.mem = mem,
		.len = len,
		.segs = segs,
		.nr_segs = nr_segs_cap,
	};
	const struct bench_pair_ops *ops = &bench_pin_ops;
	void *ctx = &pc;
	int err;

	if (m == M_IOURING) {
		ops = &bench_uring_ops;
		ctx = &uc;
	} else if (m == M_VFIO) {
		ops = &vfio_ops;
	}
	err = bench_pair_run(ops, ctx, loops, o.max_ns, s);
	if (!err)
		bench_pair_scale(s, loops);
	return err;
}

/* Column @m of the [repeat][method] samples. */
static struct bench_pair_col col(struct bench_pair (*s)[NR_METHODS], int m)
{
	return (struct bench_pair_col){ &s[0][m], sizeof(s[0]) };
}

static double total(const struct bench_pair *p)
{
	return p->reg + p->unreg;
}

static int bench_one(enum bench_page pk, void *mem, uint64_t len)
{
	static struct bench_pair s[BENCH_MAX_REPEATS][NR_METHODS];
	uint64_t loops = o.min_bytes / len ? o.min_bytes / len : 1;
	double pages = (double)(len / SZ_4K) * (double)loops;
	const char *pn = bench_page_name(pk);
	char szs[32];
	int err;

	for (int m = 0; m < NR_METHODS; m++) {
		err = run_method(m, mem, len, 1, &s[0][m]);
		if (err) {
			bench_log("iommu: %s %s %s: %s\n", method_names[m], pn,
				  bench_size_str(len, szs, sizeof(szs)),
				  strerror(-err));
			return err;
		}
	}
	for (uint64_t r = 0; r < o.repeats; r++)
		for (int k = 0; k < NR_METHODS; k++) {
			int m = (int)((r + (uint64_t)k) % NR_METHODS);

			err = run_method(m, mem, len, loops, &s[r][m]);
			if (err) {
				bench_log("iommu: %s: %s\n", method_names[m],
					  strerror(-err));
				return err;
			}
		}
	for (int m = 0; m < NR_METHODS; m++)
		bench_pair_rows("iommu", env, method_names[m], pn, len,
				col(s, m), o.repeats, pages);
	bench_pair_ratio_row("iommu", env, "attached/vfio", pn, len, "total",
			     col(s, M_ATTACHED), col(s, M_VFIO), o.repeats);
	bench_pair_ratio_row("iommu", env, "attached/vfio", pn, len,
			     "register", col(s, M_ATTACHED), col(s, M_VFIO),
			     o.repeats);
	bench_pair_ratio_row("iommu", env, "attached/vfio", pn, len,
			     "unregister", col(s, M_ATTACHED), col(s, M_VFIO),
			     o.repeats);
	bench_pair_ratio_row("iommu", env, "attached/physical", pn, len,
			     "total", col(s, M_ATTACHED), col(s, M_PHYS),
			     o.repeats);
	for (int m = 0; m < M_IOURING; m++) {
		char cas[32];

		snprintf(cas, sizeof(cas), "%s/io_uring", method_names[m]);
		bench_pair_ratio_row("iommu", env, cas, pn, len, "total",
				     col(s, m), col(s, M_IOURING), o.repeats);
	}
	bench_log("  %-8s %5s  attached %8.1f  vfio %8.1f  physical %8.1f "
		  "ns/page (first repeat, x%" PRIu64 ")\n", pn,
		  bench_size_str(len, szs, sizeof(szs)),
		  total(&s[0][M_ATTACHED]) / pages,
		  total(&s[0][M_VFIO]) / pages,
		  total(&s[0][M_PHYS]) / pages, loops);
	return 0;
}

static int bench_kind(enum bench_page pk)
{
	uint64_t max = 0, maplen;
	char szs[32];
	void *mem;
	int err, fails = 0;

	for (int i = 0; i < o.nr_sizes; i++)
		if (o.sizes[i] > max)
			max = o.sizes[i];
	if (pk == BENCH_PAGE_HUGETLB) {
		err = bench_hugepages_reserve((long)((max + SZ_2M - 1) / SZ_2M),
					      1);
		if (err) {
			bench_log("iommu: hugetlb: not enough 2 MiB pages: "
				  "skipped\n");
			return err;
		}
	}
	err = bench_alloc_mem(pk, max, &mem, &maplen);
	if (err) {
		bench_log("iommu: %s: cannot map %s: %s\n", bench_page_name(pk),
			  bench_size_str(max, szs, sizeof(szs)), strerror(-err));
		return err;
	}
	for (int i = 0; i < o.nr_sizes; i++)
		if (bench_one(pk, mem, o.sizes[i]))
			fails++;
	bench_free_mem(mem, maplen);
	bench_hugepages_restore();
	return fails ? -EIO : 0;
}

static int parse_bdf(const char *s, struct vtop_attach *a)
{
	unsigned int dom, bus, dev, fn;
	char end;

	if (sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &end) != 4 ||
	    bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	a->pci_domain = dom;
	a->pci_bdf = bus << 8 | dev << 3 | fn;
	return 0;
}

static int setup_vtop(void)
{
	struct vtop_attach a = { .size = sizeof(a) };

	if (parse_bdf(o.vtop_dev, &a)) {
		bench_log("iommu: --vtop-dev %s: not a PCI address\n",
			  o.vtop_dev);
		return -EINVAL;
	}
	att_fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	phys_fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (att_fd < 0 || phys_fd < 0) {
		bench_log("iommu: %s: %s\n", VTOP_DEVICE_PATH, strerror(errno));
		return -errno;
	}
	if (ioctl(att_fd, VTOP_IOC_ATTACH, &a)) {
		bench_log("iommu: VTOP_IOC_ATTACH %s: %s\n", o.vtop_dev,
			  strerror(errno));
		return -errno;
	}
	return 0;
}

static int setup_vfio(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 o.vfio_dev);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		bench_log("iommu: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0) {
		bench_log("iommu: /dev/vfio/vfio or %s: %s\n", path,
			  strerror(errno));
		return -errno;
	}
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		bench_log("iommu: VFIO type1 v2 not available\n");
		return -EOPNOTSUPP;
	}
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		bench_log("iommu: %s not viable (every device of the group "
			  "must be bound to vfio-pci)\n", path);
		return -EBUSY;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		bench_log("iommu: VFIO container set-up: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vtop-bench-iommu --vtop-dev BDF --vfio-dev BDF [options]\n"
"  --vtop-dev BDF        device bound to uio_pci_generic (vtop ATTACH)\n"
"  --vfio-dev BDF        device of the same kind bound to vfio-pci\n"
"  -s, --sizes LIST      sizes, multiples of 4K up to 1G\n"
"                        (default 64K,2M,64M,512M)\n"
"  -p, --pages LIST      comma list of 4k,thp,hugetlb (default 4k,hugetlb)\n"
"  -r, --repeats N       repeats (default 5)\n"
"  -m, --min-bytes SIZE  each timed sample maps at least this much\n"
"                        (default 64M)\n"
"  -t, --max-time MS     ... but ends after MS milliseconds (default 400)\n"
"Needs an IOMMU in strict mode (iommu.strict=1). Prints CSV rows ("
BENCH_CSV_HEADER ") on stdout.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vtop-dev", required_argument, NULL, 'V' },
		{ "vfio-dev", required_argument, NULL, 'F' },
		{ "sizes", required_argument, NULL, 's' },
		{ "pages", required_argument, NULL, 'p' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "min-bytes", required_argument, NULL, 'm' },
		{ "max-time", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char defsizes[] = "64K,2M,64M,512M", defpages[] = "4k,hugetlb";
	uint64_t max = 0;
	int c, err = 0, fails = 0;

	bench_parse_sizes(defsizes, o.sizes, MAX_SIZES, &o.nr_sizes);
	bench_parse_pages(defpages, o.pages);
	while ((c = getopt_long(argc, argv, "s:p:r:m:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'V':
			o.vtop_dev = optarg;
			break;
		case 'F':
			o.vfio_dev = optarg;
			break;
		case 's':
			err = bench_parse_sizes(optarg, o.sizes, MAX_SIZES,
						&o.nr_sizes);
			break;
		case 'p':
			err = bench_parse_pages(optarg, o.pages);
			break;
		case 'r':
			err = bench_parse_uint(optarg, 1, BENCH_MAX_REPEATS,
					       &o.repeats);
			break;
		case 'm':
			err = bench_parse_size(optarg, &o.min_bytes);
			break;
		case 't':
			err = bench_parse_uint(optarg, 1, 100000, &o.max_ns);
			o.max_ns *= 1000000;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (err) {
			bench_log("vtop-bench-iommu: bad value for -%c: %s\n",
				  c, optarg);
			return 2;
		}
	}
	if (optind != argc || !o.vtop_dev || !o.vfio_dev) {
		usage(stderr);
		return 2;
	}
	env = bench_env(NULL);
	for (int i = 0; i < o.nr_sizes; i++)
		if (o.sizes[i] > max)
			max = o.sizes[i];
	if (setup_vtop() || setup_vfio())
		return 1;
	err = io_uring_queue_init(4, &ring, 0);
	if (err) {
		bench_log("iommu: io_uring_queue_init: %s\n", strerror(-err));
		return 1;
	}
	if (access("/dev/iommu", F_OK))
		bench_log("iommu: no /dev/iommu (kernel without CONFIG_IOMMUFD): "
			  "no iommufd rows\n");
	else
		bench_log("iommu: /dev/iommu present, but IOMMU_IOAS_MAP is not "
			  "measured yet: no iommufd rows\n");
	nr_segs_cap = (uint32_t)(max / SZ_4K);
	segs = calloc(nr_segs_cap, sizeof(*segs));
	if (!segs)
		return 1;
	bench_log("vtop-bench-iommu: %s, attached %s, vfio %s, %" PRIu64
		  " repeats\n", env, o.vtop_dev, o.vfio_dev, o.repeats);
	bench_csv_header();
	for (int pk = 0; pk < 3; pk++)
		if (o.pages[pk] && bench_kind((enum bench_page)pk))
			fails++;
	return fails ? 1 : 0;
}
