// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the vtop selftests and the vtop CLI; see
 * vtop_test_util.h. Every function returns -errno on failure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/kernel-page-flags.h>

#include "vtop_test_util.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)

/* largest folio vt_folio_shift() looks for: 1 GiB */
#define VT_MAX_FOLIO_PAGES	(1UL << 18)

int vt_open(void)
{
	int fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int vt_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int vt_info(int fd, struct vtop_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return vt_ioctl(fd, VTOP_IOC_INFO, info);
}

int vt_pin(int fd, const void *addr, size_t len, uint32_t flags,
	   struct vtop_segment *segs, uint32_t *nr_segs, uint64_t *handle)
{
	struct vtop_pin pin = {
		.size = sizeof(pin),
		.flags = flags,
		.vaddr = (uintptr_t)addr,
		.length = len,
		.segs = (uintptr_t)segs,
		.nr_segs = *nr_segs,
	};
	int ret;

	ret = vt_ioctl(fd, VTOP_IOC_PIN, &pin);
	if (ret == 0 || ret == -ENOBUFS)
		*nr_segs = pin.nr_segs;
	if (ret == 0 && handle)
		*handle = pin.handle;
	return ret;
}

int vt_pin_alloc(int fd, const void *addr, size_t len, uint32_t flags,
		 struct vtop_segment **segs, uint32_t *nr_segs,
		 uint64_t *handle)
{
	/* one segment per page is always enough */
	uint32_t cap = len / VT_PAGE_SIZE ? len / VT_PAGE_SIZE : 1;
	struct vtop_segment *s = calloc(cap, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	*nr_segs = cap;
	ret = vt_pin(fd, addr, len, flags, s, nr_segs, handle);
	if (ret) {
		free(s);
		s = NULL;
	}
	*segs = s;
	return ret;
}

int vt_pin_simple(int fd, const void *addr, size_t len, uint64_t *handle)
{
	struct vtop_segment *segs = NULL;
	uint32_t nr;
	int ret;

	ret = vt_pin_alloc(fd, addr, len, 0, &segs, &nr, handle);
	free(segs);
	return ret;
}

int vt_get_invalidated(int fd, uint64_t *handles, uint32_t *nr,
		       uint64_t *seq)
{
	struct vtop_get_invalidated gi = {
		.size = sizeof(gi),
		.handles = (uintptr_t)handles,
		.nr_handles = *nr,
	};
	int ret;

	ret = vt_ioctl(fd, VTOP_IOC_GET_INVALIDATED, &gi);
	if (ret == 0 || ret == -ENOBUFS)
		*nr = gi.nr_handles;
	if (ret == 0 && seq)
		*seq = gi.seq;
	return ret;
}

long vt_read_events(int fd, struct vtop_event *evs, size_t max)
{
	ssize_t n = read(fd, evs, max * sizeof(*evs));

	if (n < 0)
		return -errno;
	if (n % sizeof(*evs))
		return -EIO;
	return n / sizeof(*evs);
}

long vt_drain_events(int fd, struct vtop_event *evs, size_t max)
{
	size_t got = 0;
	long n;

	while (got < max) {
		n = vt_read_events(fd, evs + got, max - got);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		got += n;
	}
	return got;
}

int vt_unpin(int fd, uint64_t handle)
{
	struct vtop_unpin unpin = {
		.size = sizeof(unpin),
		.handle = handle,
	};

	return vt_ioctl(fd, VTOP_IOC_UNPIN, &unpin);
}

int vt_get_segs(int fd, uint64_t handle, uint64_t offset, uint64_t length,
		struct vtop_segment *segs, uint32_t *nr_segs)
{
	struct vtop_get_segs gs = {
		.size = sizeof(gs),
		.handle = handle,
		.offset = offset,
		.length = length,
		.segs = (uintptr_t)segs,
		.nr_segs = *nr_segs,
	};
	int ret;

	ret = vt_ioctl(fd, VTOP_IOC_GET_SEGS, &gs);
	if (ret == 0 || ret == -ENOBUFS)
		*nr_segs = gs.nr_segs;
	return ret;
}

int vt_version_parse(const char *s, uint32_t *packed)
{
	unsigned int maj, min, pat;
	char end;

	if (sscanf(s, "%u.%u.%u%c", &maj, &min, &pat, &end) != 3)
		return -EINVAL;
	if (maj > 0xffff || min > 0xff || pat > 0xff)
		return -ERANGE;
	*packed = maj << 16 | min << 8 | pat;
	return 0;
}

/* ---- buffers ------------------------------------------------------------ */

const char *vt_kind_name(enum vt_kind kind)
{
	switch (kind) {
	case VT_KIND_4K:
		return "4k";
	case VT_KIND_THP:
		return "thp";
	case VT_KIND_HUGETLB:
		return "hugetlb";
	}
	return "?";
}

int vt_kind_parse(const char *s, enum vt_kind *kind)
{
	if (!strcmp(s, "4k"))
		*kind = VT_KIND_4K;
	else if (!strcmp(s, "thp"))
		*kind = VT_KIND_THP;
	else if (!strcmp(s, "hugetlb"))
		*kind = VT_KIND_HUGETLB;
	else
		return -EINVAL;
	return 0;
}

size_t vt_kind_granule(enum vt_kind kind)
{
	return kind == VT_KIND_4K ? VT_PAGE_SIZE : VT_HPAGE_SIZE;
}

static void vt_touch(void *addr, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += VT_PAGE_SIZE)
		((volatile char *)addr)[off] = (char)(off / VT_PAGE_SIZE + 1);
}

static int vt_thp_disabled(void)
{
	char buf[128];

	if (vt_read_file("/sys/kernel/mm/transparent_hugepage/enabled",
			 buf, sizeof(buf)) < 0)
		return 1;
	return strstr(buf, "[never]") != NULL;
}

int vt_buf_alloc(enum vt_kind kind, size_t len, void **addr)
{
	return vt_buf_map(kind, len, true, addr);
}

int vt_buf_map(enum vt_kind kind, size_t len, bool touch, void **addr)
{
	size_t granule = vt_kind_granule(kind);
	char *p, *aligned;
	int ret;

	if (!len || len % granule)
		return -EINVAL;

	switch (kind) {
	case VT_KIND_4K:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL) {
			ret = -errno;
			munmap(p, len);
			return ret;
		}
		if (touch)
			vt_touch(p, len);
		*addr = p;
		return 0;

	case VT_KIND_THP:
		if (vt_thp_disabled())
			return -EOPNOTSUPP;
		p = mmap(NULL, len + granule, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		aligned = (char *)(((uintptr_t)p + granule - 1) &
				   ~(uintptr_t)(granule - 1));
		if (aligned > p)
			munmap(p, aligned - p);
		if (aligned + len < p + len + granule)
			munmap(aligned + len, p + len + granule - (aligned + len));
		if (madvise(aligned, len, MADV_HUGEPAGE)) {
			ret = -errno;
			munmap(aligned, len);
			return ret == -EINVAL ? -EOPNOTSUPP : ret;
		}
		if (touch) {
			vt_touch(aligned, len);
			ret = vt_range_is_thp(aligned, len);
			if (ret) {
				munmap(aligned, len);
				return ret;
			}
		}
		*addr = aligned;
		return 0;

	case VT_KIND_HUGETLB:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			 MAP_HUGE_2MB, -1, 0);
		if (p == MAP_FAILED)
			return errno == ENOMEM || errno == EINVAL ?
			       -EOPNOTSUPP : -errno;
		if (touch)
			vt_touch(p, len);
		*addr = p;
		return 0;
	}
	return -EINVAL;
}

void vt_buf_free(void *addr, size_t len)
{
	if (addr)
		munmap(addr, len);
}

/* pagemap entries of [vaddr, vaddr + n pages) */
static int vt_pagemap_read(uintptr_t vaddr, size_t n, uint64_t *ent)
{
	size_t want = n * sizeof(*ent);
	ssize_t got;
	int fd, ret = 0;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = pread(fd, ent, want, (off_t)(vaddr / VT_PAGE_SIZE) * 8);
	if (got < 0)
		ret = -errno;
	else if ((size_t)got != want)
		ret = -EIO;
	close(fd);
	return ret;
}

static int vt_pagemap_to_pfn(uint64_t ent, uint64_t *pfn)
{
	if (!(ent & PM_PRESENT) || (ent & PM_SWAP))
		return -ENOENT;
	if (!(ent & PM_PFN_MASK))
		return -EPERM;
	*pfn = ent & PM_PFN_MASK;
	return 0;
}

int vt_pagemap_pfn(uintptr_t vaddr, uint64_t *pfn)
{
	uint64_t ent;
	int ret;

	ret = vt_pagemap_read(vaddr, 1, &ent);
	if (ret)
		return ret;
	return vt_pagemap_to_pfn(ent, pfn);
}

static int vt_kpageflags_read(uint64_t pfn, size_t n, uint64_t *flags)
{
	size_t want = n * sizeof(*flags);
	ssize_t got;
	int fd, ret = 0;

	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* a short read at the end of memory leaves zeros (no flags) */
	memset(flags, 0, want);
	got = pread(fd, flags, want, (off_t)pfn * 8);
	if (got < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int vt_kpageflags(uint64_t pfn, uint64_t *flags)
{
	int fd, ret = 0;
	ssize_t got;

	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = pread(fd, flags, sizeof(*flags), (off_t)pfn * 8);
	if (got < 0)
		ret = -errno;
	else if (got != sizeof(*flags))
		ret = -ENOENT;
	close(fd);
	return ret;
}

#define KPF_BIT(b)	(1ULL << (b))
#define KPF_COMPOUND	(KPF_BIT(KPF_COMPOUND_HEAD) | KPF_BIT(KPF_COMPOUND_TAIL))

/* the folio holding @pfn: first PFN and number of pages */
static int vt_folio_bounds(uint64_t pfn, uint64_t *head, uint64_t *nr)
{
	enum { CHUNK = 512 };
	uint64_t flags[CHUNK], cur, h, n;
	size_t i, cnt;
	int ret;

	ret = vt_kpageflags(pfn, &flags[0]);
	if (ret)
		return ret;
	if (!(flags[0] & KPF_COMPOUND)) {
		*head = pfn;
		*nr = 1;
		return 0;
	}

	/* walk back to the head */
	h = pfn;
	cur = flags[0];
	while (!(cur & KPF_BIT(KPF_COMPOUND_HEAD))) {
		cnt = h < CHUNK ? h : CHUNK;
		if (!cnt || pfn - h >= VT_MAX_FOLIO_PAGES)
			return -EIO;
		ret = vt_kpageflags_read(h - cnt, cnt, flags);
		if (ret)
			return ret;
		for (i = cnt; i > 0; i--) {
			h--;
			cur = flags[i - 1];
			if (cur & KPF_BIT(KPF_COMPOUND_HEAD))
				break;
			if (!(cur & KPF_BIT(KPF_COMPOUND_TAIL)))
				return -EIO;
		}
	}

	/* count the tails after it */
	n = 1;
	for (;;) {
		ret = vt_kpageflags_read(h + n, CHUNK, flags);
		if (ret)
			return ret;
		for (i = 0; i < CHUNK; i++) {
			if (!(flags[i] & KPF_BIT(KPF_COMPOUND_TAIL)))
				goto counted;
			n++;
		}
		if (n >= VT_MAX_FOLIO_PAGES)
			return -EIO;
	}
counted:
	*head = h;
	*nr = n;
	return 0;
}

static unsigned int vt_log2(uint64_t n)
{
	unsigned int s = 0;

	while ((1ULL << (s + 1)) <= n)
		s++;
	return s;
}

int vt_folio_shift(uint64_t pfn, unsigned int *shift)
{
	uint64_t head, nr;
	int ret;

	ret = vt_folio_bounds(pfn, &head, &nr);
	if (ret)
		return ret;
	*shift = VT_PAGE_SHIFT + vt_log2(nr);
	return 0;
}

int vt_range_is_thp(const void *addr, size_t len)
{
	size_t n = len / VT_PAGE_SIZE, i;
	uint64_t *ent, pfn, flags;
	int ret;

	ent = calloc(n ? n : 1, sizeof(*ent));
	if (!ent)
		return -ENOMEM;
	ret = vt_pagemap_read((uintptr_t)addr, n, ent);
	for (i = 0; !ret && i < n; i++) {
		ret = vt_pagemap_to_pfn(ent[i], &pfn);
		if (!ret)
			ret = vt_kpageflags(pfn, &flags);
		if (!ret && !(flags & KPF_BIT(KPF_THP)))
			ret = -EOPNOTSUPP;
	}
	free(ent);
	return ret;
}

long vt_expected_segs(uintptr_t vaddr, size_t len, struct vtop_segment *segs,
		      size_t cap)
{
	size_t n = len / VT_PAGE_SIZE, i;
	uint64_t *ent, pfn, prev_pfn = 0, fhead = 0, fnr = 0;
	unsigned int shift = 0, prev_shift = 0;
	struct vtop_segment cur = { 0 };
	long nr = 0;
	int ret;

	if (!n || len % VT_PAGE_SIZE || vaddr % VT_PAGE_SIZE)
		return -EINVAL;
	ent = calloc(n, sizeof(*ent));
	if (!ent)
		return -ENOMEM;
	ret = vt_pagemap_read(vaddr, n, ent);
	if (ret)
		goto out;

	for (i = 0; i < n; i++) {
		ret = vt_pagemap_to_pfn(ent[i], &pfn);
		if (ret)
			goto out;
		/* one kpageflags walk per folio */
		if (!fnr || pfn < fhead || pfn >= fhead + fnr) {
			ret = vt_folio_bounds(pfn, &fhead, &fnr);
			if (ret)
				goto out;
			shift = VT_PAGE_SHIFT + vt_log2(fnr);
		}
		if (i && pfn == prev_pfn + 1 && shift == prev_shift) {
			cur.len += VT_PAGE_SIZE;
		} else {
			if (i && (size_t)nr < cap)
				segs[nr] = cur;
			if (i)
				nr++;
			cur.vaddr = vaddr + i * VT_PAGE_SIZE;
			cur.dma_addr = pfn << VT_PAGE_SHIFT;
			cur.len = VT_PAGE_SIZE;
			cur.page_shift = shift;
			cur.__reserved = 0;
		}
		prev_pfn = pfn;
		prev_shift = shift;
	}
	if ((size_t)nr < cap)
		segs[nr] = cur;
	nr++;
out:
	free(ent);
	return ret ? ret : nr;
}

int vt_check_segs(const struct vtop_segment *segs, uint32_t nr,
		  uintptr_t vaddr, size_t len, char *why, size_t whylen)
{
	size_t n = len / VT_PAGE_SIZE, page = 0, off;
	struct vtop_segment *exp = NULL;
	uint64_t *ent = NULL, pfn;
	uint32_t s;
	long nexp;
	int ret;

	why[0] = '\0';
	ent = calloc(n ? n : 1, sizeof(*ent));
	if (!ent)
		return -ENOMEM;
	ret = vt_pagemap_read(vaddr, n, ent);
	if (ret)
		goto out;

	/* 1. every page's DMA address is the PFN pagemap shows */
	for (s = 0; s < nr; s++) {
		const struct vtop_segment *g = &segs[s];

		if (g->vaddr != vaddr + page * VT_PAGE_SIZE || !g->len ||
		    g->len % VT_PAGE_SIZE || g->__reserved ||
		    g->page_shift < VT_PAGE_SHIFT || g->page_shift > 30) {
			snprintf(why, whylen,
				 "seg %u {vaddr 0x%llx dma 0x%llx len 0x%llx shift %u res %u} malformed (expected vaddr 0x%llx)",
				 s, (unsigned long long)g->vaddr,
				 (unsigned long long)g->dma_addr,
				 (unsigned long long)g->len, g->page_shift,
				 g->__reserved,
				 (unsigned long long)(vaddr + page * VT_PAGE_SIZE));
			ret = -EINVAL;
			goto out;
		}
		for (off = 0; off < g->len; off += VT_PAGE_SIZE, page++) {
			if (page >= n) {
				snprintf(why, whylen,
					 "segments cover more than 0x%zx bytes",
					 len);
				ret = -EINVAL;
				goto out;
			}
			ret = vt_pagemap_to_pfn(ent[page], &pfn);
			if (ret) {
				snprintf(why, whylen,
					 "pagemap of 0x%llx: %s",
					 (unsigned long long)(vaddr + page * VT_PAGE_SIZE),
					 strerror(-ret));
				goto out;
			}
			if (g->dma_addr + off != pfn << VT_PAGE_SHIFT) {
				snprintf(why, whylen,
					 "vaddr 0x%llx: dma 0x%llx, pagemap PFN 0x%llx -> 0x%llx",
					 (unsigned long long)(vaddr + page * VT_PAGE_SIZE),
					 (unsigned long long)(g->dma_addr + off),
					 (unsigned long long)pfn,
					 (unsigned long long)(pfn << VT_PAGE_SHIFT));
				ret = -EINVAL;
				goto out;
			}
		}
	}
	if (page != n) {
		snprintf(why, whylen, "segments cover 0x%zx of 0x%zx bytes",
			 page * VT_PAGE_SIZE, len);
		ret = -EINVAL;
		goto out;
	}

	/* 2. the segment list is the one pagemap + kpageflags predict */
	exp = calloc(nr ? nr : 1, sizeof(*exp));
	if (!exp) {
		ret = -ENOMEM;
		goto out;
	}
	nexp = vt_expected_segs(vaddr, len, exp, nr);
	if (nexp < 0) {
		ret = nexp;
		snprintf(why, whylen, "expected segments: %s", strerror(-ret));
		goto out;
	}
	if (nexp != nr) {
		snprintf(why, whylen, "%u segments, pagemap predicts %ld", nr,
			 nexp);
		ret = -EINVAL;
		goto out;
	}
	for (s = 0; s < nr; s++) {
		if (memcmp(&exp[s], &segs[s], sizeof(exp[s]))) {
			snprintf(why, whylen,
				 "seg %u {vaddr 0x%llx dma 0x%llx len 0x%llx shift %u}, predicted {0x%llx 0x%llx 0x%llx %u}",
				 s, (unsigned long long)segs[s].vaddr,
				 (unsigned long long)segs[s].dma_addr,
				 (unsigned long long)segs[s].len,
				 segs[s].page_shift,
				 (unsigned long long)exp[s].vaddr,
				 (unsigned long long)exp[s].dma_addr,
				 (unsigned long long)exp[s].len,
				 exp[s].page_shift);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	free(exp);
	free(ent);
	return ret;
}

/* ---- counters ------------------------------------------------------------ */

long vt_read_file(const char *path, char *buf, size_t len)
{
	ssize_t got, total = 0;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1) {
		got = read(fd, buf + total, len - 1 - total);
		if (got < 0) {
			got = -errno;
			close(fd);
			return got;
		}
		if (!got)
			break;
		total += got;
	}
	buf[total] = '\0';
	close(fd);
	return total;
}

int vt_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t put;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	put = write(fd, s, len);
	if (put < 0)
		ret = -errno;
	else if ((size_t)put != len)
		ret = -EIO;
	close(fd);
	return ret;
}

bool vt_iommu_present(void)
{
	struct dirent *d;
	bool found = false;
	DIR *dir = opendir("/sys/class/iommu");

	if (!dir)
		return false;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			found = true;
	closedir(dir);
	return found;
}

bool vt_bind_uio(const char *bdf)
{
	char path[512];

	if (access("/sys/bus/pci/drivers/uio_pci_generic", F_OK) &&
	    system("modprobe uio_pci_generic >/dev/null 2>&1") != 0)
		return false;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	if (vt_write_file(path, "uio_pci_generic"))
		return false;
	vt_write_file("/sys/bus/pci/drivers_probe", bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/uio_pci_generic/%s",
		 bdf);
	return !access(path, F_OK);
}

void vt_unbind_uio(const char *bdf)
{
	char path[512];

	vt_write_file("/sys/bus/pci/drivers/uio_pci_generic/unbind", bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	vt_write_file(path, "\n");
}

/* find "name<sep>value" at the start of a line of @path */
static int vt_find_field(const char *path, const char *name, char sep,
			 uint64_t *val)
{
	size_t nlen = strlen(name);
	char line[256];
	int ret = -ENOENT;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, nlen) && line[nlen] == sep) {
			char *end;

			errno = 0;
			*val = strtoull(line + nlen + 1, &end, 10);
			ret = errno ? -errno : 0;
			if (!ret && end == line + nlen + 1)
				ret = -EIO;
			break;
		}
	}
	fclose(f);
	return ret;
}

int vt_vmstat(const char *name, uint64_t *val)
{
	/* fold the per-CPU deltas; best effort (root only) */
	vt_write_file("/proc/sys/vm/stat_refresh", "1");
	return vt_find_field("/proc/vmstat", name, ' ', val);
}

int vt_foll_pins(int64_t *pins)
{
	uint64_t acq, rel;
	int ret;

	vt_write_file("/proc/sys/vm/stat_refresh", "1");
	ret = vt_find_field("/proc/vmstat", "nr_foll_pin_acquired", ' ', &acq);
	if (!ret)
		ret = vt_find_field("/proc/vmstat", "nr_foll_pin_released", ' ',
				    &rel);
	if (!ret)
		*pins = (int64_t)(acq - rel);
	return ret;
}

int vt_status_kb(const char *field, uint64_t *kb)
{
	return vt_find_field("/proc/self/status", field, ':', kb);
}

int vt_meminfo_kb(const char *field, uint64_t *kb)
{
	return vt_find_field("/proc/meminfo", field, ':', kb);
}

int vt_snap(struct vt_snap *snap)
{
	int ret;

	ret = vt_foll_pins(&snap->foll_pins);
	if (!ret)
		ret = vt_status_kb("VmPin", &snap->vmpin_kb);
	return ret;
}

int vt_param_read(const char *name, uint64_t *val)
{
	char path[256], buf[64], *end;
	long ret;

	snprintf(path, sizeof(path), "/sys/module/vtop/parameters/%s", name);
	ret = vt_read_file(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno)
		return -errno;
	return end == buf ? -EIO : 0;
}

int vt_param_write(const char *name, uint64_t val)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), "/sys/module/vtop/parameters/%s", name);
	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	return vt_write_file(path, buf);
}

/* ---- capabilities -------------------------------------------------------- */

static int vt_capget(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

int vt_cap_drop(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	uint32_t mask = 1U << (cap % 32);
	int ret;

	if (cap < 0 || cap >= 64)
		return -EINVAL;
	ret = vt_capget(data);
	if (ret)
		return ret;
	data[cap / 32].effective &= ~mask;
	data[cap / 32].permitted &= ~mask;
	data[cap / 32].inheritable &= ~mask;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

int vt_cap_effective(int cap)
{
	struct __user_cap_data_struct data[2];
	int ret;

	if (cap < 0 || cap >= 64)
		return -EINVAL;
	ret = vt_capget(data);
	if (ret)
		return ret;
	return !!(data[cap / 32].effective & (1U << (cap % 32)));
}
