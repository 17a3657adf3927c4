// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pagemap backend: physical addresses from /proc/self/pagemap, the way
 * DPDK finds them. It pins nothing, so it only accepts hugetlb memory,
 * which the kernel neither swaps nor migrates (short of memory failure);
 * reading PFNs needs CAP_SYS_ADMIN. For machines without the module and as
 * a benchmark baseline.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAPPED	(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_BATCH	512

struct pagemap_backend {
	int fd;
	uint64_t next_handle;
};

/*
 * Check that [va, va + len) is covered by readable and writable hugetlb
 * mappings; *shift gets the smallest page size among them.
 */
static int check_hugetlb(uint64_t va, uint64_t len, unsigned int *shift)
{
	uint64_t start = 0, end = 0, cur = va, kb;
	unsigned int min_shift = 63;
	bool in_range = false;
	char line[512], perms[8];
	int rc = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return vtop__err(-errno, "cannot open /proc/self/smaps");
	while (cur < va + len && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end,
			   perms) == 3) {
			in_range = end > cur && start < va + len;
			if (in_range && start > cur)
				break;	/* a hole */
			if (in_range && (perms[0] != 'r' || perms[1] != 'w')) {
				rc = vtop__err(-EFAULT, "pagemap: 0x%" PRIx64 "-0x%" PRIx64 " is not readable and writable",
					      start, end);
				goto out;
			}
			continue;
		}
		if (!in_range || sscanf(line, "KernelPageSize: %" SCNu64 " kB",
					&kb) != 1)
			continue;
		if (kb < (VTOP_SIZE_2M >> 10)) {
			rc = vtop__err(-EOPNOTSUPP, "pagemap backend: 0x%" PRIx64 "-0x%" PRIx64 " is backed by %" PRIu64 " KiB pages; it pins nothing, so it accepts hugetlb memory only (MAP_HUGETLB or hugetlbfs). Use the kmod backend for other memory",
				      start, end, kb);
			goto out;
		}
		kb <<= 10;
		if ((unsigned int)__builtin_ctzll(kb) < min_shift)
			min_shift = __builtin_ctzll(kb);
		cur = end;
		in_range = false;
	}
	if (cur < va + len) {
		rc = vtop__err(-EFAULT, "pagemap: 0x%" PRIx64 " is not mapped",
			      cur);
		goto out;
	}
	*shift = min_shift;
out:
	fclose(f);
	return rc;
}

static int pm_pin(void *ctx, uint64_t va, uint64_t len,
		  struct vtop_pin_result *res)
{
	struct pagemap_backend *pm = ctx;
	uint64_t buf[PM_BATCH], pos, pa, cap, n = 0;
	struct vtop_segment *segs, *s = NULL;
	unsigned int shift = VTOP_SHIFT_2M;
	size_t i, cnt;
	ssize_t got;
	int rc;

	rc = check_hugetlb(va, len, &shift);
	if (rc)
		return rc;
	/* Fault every huge page in without changing its contents. */
	for (pos = va & ~((1ULL << shift) - 1); pos < va + len;
	     pos += 1ULL << shift)
		(void)*(volatile const char *)(uintptr_t)(pos < va ? va : pos);

	/* Each huge page is physically contiguous. */
	cap = (len >> shift) + 2;
	segs = vtop_calloc(cap, sizeof(*segs));
	if (!segs)
		return vtop__err(-ENOMEM, "out of memory for segments");
	for (pos = va; pos < va + len; pos += cnt << VTOP_SHIFT_4K) {
		cnt = (va + len - pos) >> VTOP_SHIFT_4K;
		if (cnt > PM_BATCH)
			cnt = PM_BATCH;
		got = pread(pm->fd, buf, cnt * sizeof(buf[0]),
			    (off_t)((pos >> VTOP_SHIFT_4K) * sizeof(buf[0])));
		if (got != (ssize_t)(cnt * sizeof(buf[0]))) {
			rc = vtop__err(got < 0 ? -errno : -EIO, "reading /proc/self/pagemap failed");
			goto err;
		}
		for (i = 0; i < cnt; i++) {
			uint64_t page = pos + (i << VTOP_SHIFT_4K);

			if (!(buf[i] & PM_PRESENT) || (buf[i] & PM_SWAPPED)) {
				rc = vtop__err(-EFAULT, "pagemap: 0x%" PRIx64 " is not present",
					      page);
				goto err;
			}
			if (!(buf[i] & PM_PFN_MASK)) {
				rc = vtop__err(-EPERM, "pagemap: the kernel hides page frame numbers: the pagemap backend needs CAP_SYS_ADMIN");
				goto err;
			}
			pa = (buf[i] & PM_PFN_MASK) << VTOP_SHIFT_4K;
			if (s && s->dma_addr + s->len == pa) {
				s->len += VTOP_SIZE_4K;
				continue;
			}
			if (n == cap) {
				rc = vtop__err(-EIO, "pagemap: more discontiguous pieces than hugepages");
				goto err;
			}
			s = &segs[n++];
			*s = (struct vtop_segment){
				.vaddr = page, .dma_addr = pa,
				.len = VTOP_SIZE_4K, .page_shift = shift,
			};
		}
	}
	res->handle = ++pm->next_handle;
	res->segs = segs;
	res->nr_segs = (uint32_t)n;
	return 0;
err:
	free(segs);
	return rc;
}

static int pm_unpin(void *ctx, uint64_t handle)
{
	(void)ctx;
	(void)handle;
	return 0;
}

static void pm_close(void *ctx)
{
	struct pagemap_backend *pm = ctx;

	close(pm->fd);
	free(pm);
}

static const struct vtop_backend_ops pagemap_ops = {
	.name = "pagemap",
	.pin = pm_pin,
	.unpin = pm_unpin,
	.close = pm_close,
};

int vtop__backend_pagemap_open(const struct vtop_env_opts *opts,
			      const struct vtop_backend_ops **ops, void **ctx,
			      uint32_t *mode)
{
	struct pagemap_backend *pm;

	(void)opts;
	pm = vtop_calloc(1, sizeof(*pm));
	if (!pm)
		return vtop__err(-ENOMEM, "out of memory");
	pm->fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0) {
		int rc = -errno;

		free(pm);
		return vtop__err(rc, "cannot open /proc/self/pagemap");
	}
	*ops = &pagemap_ops;
	*ctx = pm;
	*mode = VTOP_MODE_PHYS;
	return 0;
}
