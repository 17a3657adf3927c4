/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the vtop selftests and the vtop CLI.
 *
 * Every function returns 0 (or a non-negative count) on success and a
 * negative errno on failure; none of them prints or exits. Nothing here
 * depends on the kselftest harness, so any test or tool may include it and
 * link vtop_test_util.c (selftests/Makefile does that for every test).
 */
#ifndef VTOP_TEST_UTIL_H
#define VTOP_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uapi/linux/vtop.h>

#define VT_PAGE_SHIFT	12
#define VT_PAGE_SIZE	(1UL << VT_PAGE_SHIFT)
#define VT_HPAGE_SHIFT	21
#define VT_HPAGE_SIZE	(1UL << VT_HPAGE_SHIFT)

/* ---- /dev/vtop ---------------------------------------------------------- */

/* open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC): fd or -errno */
int vt_open(void);
/* ioctl(): 0 or -errno */
int vt_ioctl(int fd, unsigned long cmd, void *arg);
int vt_info(int fd, struct vtop_info *info);
/*
 * PIN [addr, addr + len). @nr_segs: in capacity, out written (or needed on
 * -ENOBUFS). @handle may be NULL.
 */
int vt_pin(int fd, const void *addr, size_t len, uint32_t flags,
	   struct vtop_segment *segs, uint32_t *nr_segs, uint64_t *handle);
/* PIN with a segment array it allocates (free() it); *nr_segs out */
int vt_pin_alloc(int fd, const void *addr, size_t len, uint32_t flags,
		 struct vtop_segment **segs, uint32_t *nr_segs,
		 uint64_t *handle);
int vt_unpin(int fd, uint64_t handle);
int vt_get_segs(int fd, uint64_t handle, uint64_t offset, uint64_t length,
		struct vtop_segment *segs, uint32_t *nr_segs);
/* PIN with a segment array of its own, freed again: 0 or -errno */
int vt_pin_simple(int fd, const void *addr, size_t len, uint64_t *handle);
/*
 * VTOP_IOC_GET_INVALIDATED. @nr: in capacity of @handles, out written (or
 * needed on -ENOBUFS). @seq may be NULL.
 */
int vt_get_invalidated(int fd, uint64_t *handles, uint32_t *nr,
		       uint64_t *seq);
/* read() up to @max event records: records read, or -errno */
long vt_read_events(int fd, struct vtop_event *evs, size_t max);
/* read records until -EAGAIN (the fd must be O_NONBLOCK): count or -errno */
long vt_drain_events(int fd, struct vtop_event *evs, size_t max);
/* "1.2.3" -> 1 << 16 | 2 << 8 | 3 */
int vt_version_parse(const char *s, uint32_t *packed);

/* ---- buffers of one kind of memory --------------------------------------- */

enum vt_kind {
	VT_KIND_4K,		/* anonymous, MADV_NOHUGEPAGE */
	VT_KIND_THP,		/* anonymous, 2 MiB aligned, MADV_HUGEPAGE */
	VT_KIND_HUGETLB,	/* MAP_HUGETLB | MAP_HUGE_2MB */
};

const char *vt_kind_name(enum vt_kind kind);
int vt_kind_parse(const char *s, enum vt_kind *kind);
/* granule a buffer of @kind must be a multiple of */
size_t vt_kind_granule(enum vt_kind kind);

/*
 * Map @len bytes (a multiple of vt_kind_granule()) of @kind and write every
 * page. -EOPNOTSUPP when the kernel cannot give that kind now: no THP
 * (checked page by page in kpageflags), no free hugetlb pages.
 */
int vt_buf_alloc(enum vt_kind kind, size_t len, void **addr);
/*
 * Map without necessarily touching: with !@touch nothing is faulted in and,
 * for THP, nothing is checked (2 MiB aligned and MADV_HUGEPAGE only).
 */
int vt_buf_map(enum vt_kind kind, size_t len, bool touch, void **addr);
void vt_buf_free(void *addr, size_t len);
/* 0 if every page of [addr, addr + len) is backed by a THP (kpageflags) */
int vt_range_is_thp(const void *addr, size_t len);

/* ---- /proc/self/pagemap, /proc/kpageflags --------------------------------- */

/*
 * PFN mapped at @vaddr: -ENOENT if not present (or swapped), -EPERM if the
 * kernel hides PFNs from this opener.
 */
int vt_pagemap_pfn(uintptr_t vaddr, uint64_t *pfn);
/* KPF_* flags of @pfn */
int vt_kpageflags(uint64_t pfn, uint64_t *flags);
/*
 * log2 of the size of the folio (compound page) holding @pfn, from the
 * compound head/tail bits of /proc/kpageflags: 12 for an order-0 page.
 */
int vt_folio_shift(uint64_t pfn, unsigned int *shift);

/*
 * The segment list [vaddr, vaddr + len) must produce, computed from
 * pagemap and kpageflags alone: a new segment starts wherever the PFN is
 * not the previous one + 1 or the folio size changes. Returns the number
 * of segments (which may exceed @cap; only @cap are stored) or -errno.
 */
long vt_expected_segs(uintptr_t vaddr, size_t len, struct vtop_segment *segs,
		      size_t cap);

/*
 * Compare @segs with vt_expected_segs() for [vaddr, vaddr + len) and check
 * every page's DMA address against pagemap. 0 when equal; -EINVAL on a
 * mismatch, described in @why; other -errno when the check itself failed.
 */
int vt_check_segs(const struct vtop_segment *segs, uint32_t nr,
		  uintptr_t vaddr, size_t len, char *why, size_t whylen);

/* ---- counters ----------------------------------------------------------- */

/* a /proc/vmstat counter, after folding per-CPU deltas (stat_refresh) */
int vt_vmstat(const char *name, uint64_t *val);
/* nr_foll_pin_acquired - nr_foll_pin_released, in 4 KiB pages */
int vt_foll_pins(int64_t *pins);
/* a "Name:   N kB" line of /proc/self/status or /proc/meminfo, in kB */
int vt_status_kb(const char *field, uint64_t *kb);
int vt_meminfo_kb(const char *field, uint64_t *kb);

/* a snapshot of the pin counters the leak checks compare */
struct vt_snap {
	int64_t foll_pins;	/* system-wide outstanding FOLL_PIN pages */
	uint64_t vmpin_kb;	/* VmPin of this process */
};
int vt_snap(struct vt_snap *snap);

/* /sys/module/vtop/parameters/@name */
int vt_param_read(const char *name, uint64_t *val);
int vt_param_write(const char *name, uint64_t val);

/* ---- capabilities -------------------------------------------------------- */

/* drop @cap from the effective, permitted and inheritable sets */
int vt_cap_drop(int cap);
/* 1 if @cap is effective, 0 if not */
int vt_cap_effective(int cap);

/* ---- misc ---------------------------------------------------------------- */

/* read a whole small file into @buf (NUL-terminated): length or -errno */
long vt_read_file(const char *path, char *buf, size_t len);
/* write @s to @path: 0 or -errno */
int vt_write_file(const char *path, const char *s);

/* ---- PCI devices for ATTACH ---------------------------------------------- */

/* true if the kernel registered an IOMMU (/sys/class/iommu is not empty) */
bool vt_iommu_present(void);
/*
 * bind the driverless PCI device @bdf ("0000:00:04.0") to uio_pci_generic
 * (driver_override), loading the driver if needed: false if not possible
 */
bool vt_bind_uio(const char *bdf);
/* undo vt_bind_uio(): the device has no driver again */
void vt_unbind_uio(const char *bdf);

/* ---- for tests built on kselftest_harness.h (include it first) ----------- */
#ifdef __KSELFTEST_HARNESS_H

/*
 * Per-test time limit of the TEST()s and TEST_F()s that follow: 30 s is
 * short for a TCG guest running a KASAN + lockdep kernel.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 120

/*
 * Open /dev/vtop into @fd. SKIP the test when the module is not loaded (as
 * kselftest wants for an absent feature); fail when it is loaded but the
 * device cannot be opened.
 */
#define VT_OPEN_OR_SKIP(fd) do { \
	(fd) = vt_open(); \
	if ((fd) < 0 && access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
	ASSERT_LE(0, (fd)) TH_LOG("open %s: %s", VTOP_DEVICE_PATH, \
				  strerror(-(fd))); \
} while (0)

/* the pin counters of @now must equal those of @base */
#define VT_EXPECT_SNAP(base, now) do { \
	EXPECT_EQ((base).foll_pins, (now).foll_pins) \
		TH_LOG("outstanding FOLL_PIN pages changed"); \
	EXPECT_EQ((base).vmpin_kb, (now).vmpin_kb) \
		TH_LOG("VmPin changed"); \
} while (0)

/* take a snapshot and compare it with @base */
#define VT_EXPECT_NO_LEAK(base) do { \
	struct vt_snap __now; \
	ASSERT_EQ(0, vt_snap(&__now)); \
	VT_EXPECT_SNAP(base, __now); \
} while (0)

/* check @segs against pagemap, failing with the reason */
#define VT_EXPECT_SEGS(segs, nr, vaddr, len) do { \
	char __why[256]; \
	EXPECT_EQ(0, vt_check_segs(segs, nr, (uintptr_t)(vaddr), len, \
				   __why, sizeof(__why))) \
		TH_LOG("%s", __why); \
} while (0)

#endif /* __KSELFTEST_HARNESS_H */

#endif /* VTOP_TEST_UTIL_H */
