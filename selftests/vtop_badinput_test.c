// SPDX-License-Identifier: GPL-2.0-only
/*
 * PIN and UNPIN with bad input: each gets its documented errno and leaves
 * nothing pinned or charged (the fixture's teardown compares the
 * system-wide FOLL_PIN counters and VmPin with their values before).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define NPAGES		8
#define LONG_PAGES	1024	/* 4 MiB: several kernel batches */

FIXTURE(bad) {
	int fd;
	char *buf;		/* NPAGES, populated */
	struct vtop_segment segs[LONG_PAGES];
	struct vt_snap base;
};

FIXTURE_SETUP(bad)
{
	self->fd = -1;
	self->buf = MAP_FAILED;
	ASSERT_EQ(0, vt_snap(&self->base));
	VT_OPEN_OR_SKIP(self->fd);
	self->buf = mmap(NULL, NPAGES * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(bad)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, NPAGES * VT_PAGE_SIZE);
	if (self->fd >= 0)
		VT_EXPECT_NO_LEAK(self->base);
}

/* PIN [vaddr, vaddr + len) must fail with @err and leave nothing */
#define EXPECT_PIN_FAILS(err, vaddr, len, flags) do { \
	uint32_t __nr = LONG_PAGES; \
	struct vtop_info __info; \
	EXPECT_EQ(err, vt_pin(self->fd, (const void *)(uintptr_t)(vaddr), \
			      len, flags, self->segs, &__nr, NULL)) \
		TH_LOG("vaddr 0x%llx length 0x%llx flags 0x%x", \
		       (unsigned long long)(uintptr_t)(vaddr), \
		       (unsigned long long)(len), (unsigned int)(flags)); \
	ASSERT_EQ(0, vt_info(self->fd, &__info)); \
	EXPECT_EQ(0U, __info.nr_pins); \
	EXPECT_EQ(0ULL, __info.pinned_bytes); \
	VT_EXPECT_NO_LEAK(self->base); \
} while (0)

static int has_la57(void)
{
	static char buf[65536];

	if (vt_read_file("/proc/cpuinfo", buf, sizeof(buf)) < 0)
		return 0;
	return strstr(buf, " la57") != NULL;
}

TEST_F(bad, unaligned)
{
	uintptr_t b = (uintptr_t)self->buf;

	EXPECT_PIN_FAILS(-EINVAL, b + 1, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, b + VT_PAGE_SIZE / 2, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, b + VT_PAGE_SIZE - 8, 2 * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, b, VT_PAGE_SIZE + 1, 0);
	EXPECT_PIN_FAILS(-EINVAL, b, VT_PAGE_SIZE - 1, 0);
	EXPECT_PIN_FAILS(-EINVAL, b, 100, VTOP_PIN_READONLY);
	EXPECT_PIN_FAILS(-EINVAL, b + 4, 100, 0);
}

TEST_F(bad, zero_length)
{
	EXPECT_PIN_FAILS(-EINVAL, self->buf, 0, 0);
	EXPECT_PIN_FAILS(-EINVAL, self->buf, 0, VTOP_PIN_READONLY);
	EXPECT_PIN_FAILS(-EINVAL, 0, 0, 0);
}

TEST_F(bad, wrap_around)
{
	uintptr_t b = (uintptr_t)self->buf;

	EXPECT_PIN_FAILS(-EINVAL, 0xfffffffffffff000ULL, 2 * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, 0xfffffffffffff000ULL, VT_PAGE_SIZE, 0);
	/* vaddr + length == 2^64 exactly */
	EXPECT_PIN_FAILS(-EINVAL, b, (uint64_t)0 - b, 0);
	EXPECT_PIN_FAILS(-EINVAL, b, (uint64_t)0 - b + VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, b, 0xfffffffffffff000ULL, 0);
}

TEST_F(bad, beyond_task_size)
{
	/* invalid whatever the paging depth */
	EXPECT_PIN_FAILS(-EINVAL, 1ULL << 63, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, 0xffff800000000000ULL, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, 0xffffffffff600000ULL, VT_PAGE_SIZE,
			 VTOP_PIN_READONLY);	/* vsyscall page */
	EXPECT_PIN_FAILS(-EINVAL, 1ULL << 57, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EINVAL, (1ULL << 57) - VT_PAGE_SIZE,
			 2 * VT_PAGE_SIZE, 0);

	/*
	 * TASK_SIZE is 2^47 - 4 KiB with 4-level paging; with 5-level paging
	 * these ranges are below it and merely unmapped.
	 */
	if (has_la57()) {
		TH_LOG("5-level paging: 2^47 is inside TASK_SIZE");
		EXPECT_PIN_FAILS(-EFAULT, 1ULL << 47, VT_PAGE_SIZE, 0);
		EXPECT_PIN_FAILS(-EFAULT, (1ULL << 47) - VT_PAGE_SIZE,
				 VT_PAGE_SIZE, 0);
	} else {
		EXPECT_PIN_FAILS(-EINVAL, 1ULL << 47, VT_PAGE_SIZE, 0);
		EXPECT_PIN_FAILS(-EINVAL, (1ULL << 47) - VT_PAGE_SIZE,
				 VT_PAGE_SIZE, 0);
		EXPECT_PIN_FAILS(-EINVAL, (1ULL << 47) - 2 * VT_PAGE_SIZE,
				 2 * VT_PAGE_SIZE, 0);
	}
}

TEST_F(bad, unmapped)
{
	uintptr_t b = (uintptr_t)self->buf;

	/* the second page is a hole */
	ASSERT_EQ(0, munmap(self->buf + VT_PAGE_SIZE, VT_PAGE_SIZE));
	EXPECT_PIN_FAILS(-EFAULT, b, 3 * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, b, 3 * VT_PAGE_SIZE, VTOP_PIN_READONLY);
	/* the first page is the hole */
	EXPECT_PIN_FAILS(-EFAULT, b + VT_PAGE_SIZE, 2 * VT_PAGE_SIZE, 0);
	/* the last page is the hole */
	EXPECT_PIN_FAILS(-EFAULT, b, 2 * VT_PAGE_SIZE, 0);
	/* only the hole */
	EXPECT_PIN_FAILS(-EFAULT, b + VT_PAGE_SIZE, VT_PAGE_SIZE, 0);
	/* page 0 is never mapped */
	EXPECT_PIN_FAILS(-EFAULT, 0, VT_PAGE_SIZE, 0);
	/* what is left still pins */
	{
		uint32_t nr = LONG_PAGES;
		uint64_t h;

		ASSERT_EQ(0, vt_pin(self->fd, self->buf + 2 * VT_PAGE_SIZE,
				    2 * VT_PAGE_SIZE, 0, self->segs, &nr, &h));
		VT_EXPECT_SEGS(self->segs, nr, self->buf + 2 * VT_PAGE_SIZE,
			       2 * VT_PAGE_SIZE);
		ASSERT_EQ(0, vt_unpin(self->fd, h));
	}
}

/* a hole far into a long range: the pages before it are rolled back */
TEST_F(bad, unmapped_late)
{
	static const unsigned int hole[] = { 511, 512, 700, LONG_PAGES - 1 };
	unsigned int i;
	char *p;

	for (i = 0; i < sizeof(hole) / sizeof(hole[0]); i++) {
		p = mmap(NULL, LONG_PAGES * VT_PAGE_SIZE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, munmap(p + hole[i] * VT_PAGE_SIZE, VT_PAGE_SIZE));
		EXPECT_PIN_FAILS(-EFAULT, p, LONG_PAGES * VT_PAGE_SIZE, 0);
		munmap(p, LONG_PAGES * VT_PAGE_SIZE);
	}
}

/*
 * Ranges far larger than memory, whose first pages are mapped: refused
 * with -EFAULT (the hole after them) or -ENOMEM (no room to track that
 * many pages), or -EOVERFLOW beyond VTOP_PIN_MAX_PAGES pages, never a
 * partial pin, and no kernel warning (the rig checks the log).
 */
TEST_F(bad, huge_lengths)
{
	static const uint64_t len[] = {
		1ULL << 30, 64ULL << 30, 1ULL << 40, (16ULL << 40) + VT_PAGE_SIZE,
		(1ULL << 46) - (1ULL << 32),
	};
	char *at = (char *)(1ULL << 32);
	uint32_t nr;
	unsigned int i;
	int ret;

	at = mmap(at, NPAGES * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE |
		  MAP_FIXED_NOREPLACE, -1, 0);
	if (at == MAP_FAILED)
		SKIP(return, "4 GiB is taken");
	for (i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		nr = LONG_PAGES;
		ret = vt_pin(self->fd, at, len[i], 0, self->segs, &nr, NULL);
		if (len[i] / VT_PAGE_SIZE > VTOP_PIN_MAX_PAGES) {
			EXPECT_EQ(-EOVERFLOW, ret)
				TH_LOG("length 0x%llx",
				       (unsigned long long)len[i]);
		} else {
			EXPECT_TRUE(ret == -EFAULT || ret == -ENOMEM)
				TH_LOG("length 0x%llx: %d",
				       (unsigned long long)len[i], ret);
		}
		VT_EXPECT_NO_LEAK(self->base);
	}
	EXPECT_PIN_FAILS(-EFAULT, at + NPAGES * VT_PAGE_SIZE, 1ULL << 30, 0);
	munmap(at, NPAGES * VT_PAGE_SIZE);
}

TEST_F(bad, prot_none)
{
	uintptr_t b = (uintptr_t)self->buf;

	ASSERT_EQ(0, mprotect(self->buf + 2 * VT_PAGE_SIZE, VT_PAGE_SIZE,
			      PROT_NONE));
	EXPECT_PIN_FAILS(-EFAULT, b, 4 * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, b, 4 * VT_PAGE_SIZE, VTOP_PIN_READONLY);
	EXPECT_PIN_FAILS(-EFAULT, b + 2 * VT_PAGE_SIZE, VT_PAGE_SIZE,
			 VTOP_PIN_READONLY);
	ASSERT_EQ(0, mprotect(self->buf, NPAGES * VT_PAGE_SIZE, PROT_NONE));
	EXPECT_PIN_FAILS(-EFAULT, b, NPAGES * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, b, NPAGES * VT_PAGE_SIZE, VTOP_PIN_READONLY);
}

/* writable pin of a read-only mapping, partly or wholly */
TEST_F(bad, read_only_mapping)
{
	uintptr_t b = (uintptr_t)self->buf;

	ASSERT_EQ(0, mprotect(self->buf + 3 * VT_PAGE_SIZE, VT_PAGE_SIZE,
			      PROT_READ));
	EXPECT_PIN_FAILS(-EFAULT, b, NPAGES * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, b + 3 * VT_PAGE_SIZE, VT_PAGE_SIZE, 0);
}

/*
 * A file whose mmap() is a VM_IO | VM_PFNMAP mapping: a PCI memory BAR
 * (resourceN in sysfs), else /dev/mem at the legacy VGA window (0xa0000,
 * not RAM and not claimed, so STRICT_DEVMEM allows it).
 */
struct pfn_src {
	char path[512];
	off_t off;
};

static void *map_pfn_src(const struct pfn_src *src, void *at)
{
	void *p;
	int fd;

	fd = open(src->path, O_RDWR | O_CLOEXEC | O_SYNC);
	if (fd < 0)
		return MAP_FAILED;
	p = mmap(at, VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (at ? MAP_FIXED : 0), fd, src->off);
	close(fd);
	return p;
}

static void *find_pfn_src(struct pfn_src *src)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	void *p = MAP_FAILED;

	while (dir && p == MAP_FAILED && (de = readdir(dir))) {
		unsigned long long start, end, flags;
		char path[300], line[128];
		FILE *f;
		int bar;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource",
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		for (bar = 0; bar < 6 && fgets(line, sizeof(line), f); bar++) {
			if (sscanf(line, "%llx %llx %llx", &start, &end,
				   &flags) != 3)
				break;
			/* IORESOURCE_MEM, at least one page */
			if (!(flags & 0x200) || end <= start ||
			    end - start + 1 < VT_PAGE_SIZE)
				continue;
			snprintf(src->path, sizeof(src->path),
				 "/sys/bus/pci/devices/%s/resource%d",
				 de->d_name, bar);
			src->off = 0;
			p = map_pfn_src(src, NULL);
			if (p != MAP_FAILED)
				break;
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	if (p == MAP_FAILED) {
		snprintf(src->path, sizeof(src->path), "/dev/mem");
		src->off = 0xa0000;
		p = map_pfn_src(src, NULL);
	}
	return p;
}

TEST_F(bad, pfnmap)
{
	struct pfn_src src;
	void *p;

	p = find_pfn_src(&src);
	if (p == MAP_FAILED)
		SKIP(return, "no PCI memory BAR or /dev/mem to map");
	TH_LOG("VM_PFNMAP mapping of %s at 0x%llx", src.path,
	       (unsigned long long)src.off);
	EXPECT_PIN_FAILS(-EFAULT, p, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, p, VT_PAGE_SIZE, VTOP_PIN_READONLY);
	munmap(p, VT_PAGE_SIZE);
}

/* a range that runs from anonymous memory into a PFNMAP mapping */
TEST_F(bad, pfnmap_after_anon)
{
	struct pfn_src src;
	char *area;
	void *p;

	p = find_pfn_src(&src);
	if (p == MAP_FAILED)
		SKIP(return, "no PCI memory BAR or /dev/mem to map");
	munmap(p, VT_PAGE_SIZE);
	/* anonymous pages, then the PFNMAP page right after them */
	area = mmap(NULL, 3 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	p = map_pfn_src(&src, area + 2 * VT_PAGE_SIZE);
	ASSERT_EQ(area + 2 * VT_PAGE_SIZE, p);
	EXPECT_PIN_FAILS(-EFAULT, area, 3 * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, area, 3 * VT_PAGE_SIZE, VTOP_PIN_READONLY);
	munmap(area, 3 * VT_PAGE_SIZE);
}

/* the vDSO data page: a VM_IO | VM_PFNMAP mapping every process has */
TEST_F(bad, vvar)
{
	static char maps[65536];
	unsigned long long start = 0, end = 0;
	char *line;

	ASSERT_LT(0, vt_read_file("/proc/self/maps", maps, sizeof(maps)));
	line = strstr(maps, "[vvar]");
	if (!line)
		SKIP(return, "no [vvar] mapping");
	while (line > maps && line[-1] != '\n')
		line--;
	ASSERT_EQ(2, sscanf(line, "%llx-%llx", &start, &end));
	EXPECT_PIN_FAILS(-EFAULT, start, VT_PAGE_SIZE, VTOP_PIN_READONLY);
	EXPECT_PIN_FAILS(-EFAULT, start, VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, start, end - start, VTOP_PIN_READONLY);
}

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

/* secretmem refuses GUP */
TEST_F(bad, secretmem)
{
	int sfd;
	char *p;

	sfd = syscall(SYS_memfd_secret, 0);
	if (sfd < 0)
		SKIP(return, "memfd_secret: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(sfd, 2 * VT_PAGE_SIZE));
	p = mmap(NULL, 2 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 sfd, 0);
	close(sfd);
	if (p == MAP_FAILED)
		SKIP(return, "mmap secretmem: %s", strerror(errno));
	memset(p, 1, 2 * VT_PAGE_SIZE);
	EXPECT_PIN_FAILS(-EFAULT, p, 2 * VT_PAGE_SIZE, 0);
	EXPECT_PIN_FAILS(-EFAULT, p, 2 * VT_PAGE_SIZE, VTOP_PIN_READONLY);
	munmap(p, 2 * VT_PAGE_SIZE);
}

/* shared memory (memfd, shmem) may be pinned long-term */
TEST_F(bad, shmem_ok)
{
	uint32_t nr = LONG_PAGES;
	uint64_t h;
	int mfd;
	char *p;

	mfd = memfd_create("vtop-test", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, NPAGES * VT_PAGE_SIZE));
	p = mmap(NULL, NPAGES * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, mfd, 0);
	close(mfd);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 3, NPAGES * VT_PAGE_SIZE);
	ASSERT_EQ(0, vt_pin(self->fd, p, NPAGES * VT_PAGE_SIZE, 0, self->segs,
			    &nr, &h));
	VT_EXPECT_SEGS(self->segs, nr, p, NPAGES * VT_PAGE_SIZE);
	ASSERT_EQ(0, vt_unpin(self->fd, h));
	munmap(p, NPAGES * VT_PAGE_SIZE);
}

/*
 * In the guest nothing disk-backed is mounted: make an ext2 image on a loop
 * device (busybox mke2fs, losetup; the rig packs the loop and ext4 modules).
 * It stays mounted for the rest of the boot.
 */
#define SCRATCH_IMG "/tmp/vtop-scratch.ext2"
#define SCRATCH_MNT "/tmp/vtop-scratch"

static int mount_scratch_ext2(void)
{
	if (system("modprobe -q loop 2>/dev/null; modprobe -q ext4 2>/dev/null;"
		   "modprobe -q crc32c_generic 2>/dev/null;"
		   "mkdir -p " SCRATCH_MNT " &&"
		   " dd if=/dev/zero of=" SCRATCH_IMG " bs=1M count=8 2>/dev/null &&"
		   " dev=$(losetup -f) && losetup $dev " SCRATCH_IMG " &&"
		   " mke2fs -q $dev >/dev/null 2>&1 &&"
		   " mount -t ext2 $dev " SCRATCH_MNT " 2>/dev/null"))
		return -ENODEV;
	return 0;
}

/* a mounted filesystem that tracks dirty pages (writeback to a disk) */
static int find_disk_fs(char *dir, size_t len)
{
	static const char *const types[] = {
		"ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "f2fs",
	};
	char line[512], mnt[256], type[64];
	unsigned int i;
	FILE *f;
	int ret = -ENOENT;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %255s %63s", mnt, type) != 2)
			continue;
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (strcmp(type, types[i]) || access(mnt, W_OK))
				continue;
			snprintf(dir, len, "%s", mnt);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * A shared writable mapping of a file on a disk filesystem: since 6.5 the
 * kernel refuses to pin such pages writable for the long term (their
 * writeback would race with the device), and vtop refuses them on older
 * kernels too: the pin must fail cleanly with -EFAULT on every kernel. READONLY pins of it are fine on every kernel.
 */
TEST_F(bad, file_mapping_writeback)
{
	char dir[256], path[300];
	struct utsname u;
	unsigned int maj = 0, min = 0;
	uint32_t nr;
	uint64_t h;
	char *p;
	int ffd;

	if (find_disk_fs(dir, sizeof(dir)) && mount_scratch_ext2() == 0)
		TH_LOG("mounted a scratch ext2 at %s", SCRATCH_MNT);
	if (find_disk_fs(dir, sizeof(dir)))
		SKIP(return, "no writable disk filesystem (needs loop + ext4)");
	ASSERT_EQ(0, uname(&u));
	sscanf(u.release, "%u.%u", &maj, &min);
	snprintf(path, sizeof(path), "%s/vtop-test.XXXXXX", dir);
	ffd = mkstemp(path);
	ASSERT_LE(0, ffd) TH_LOG("%s: %s", path, strerror(errno));
	unlink(path);
	ASSERT_EQ(0, ftruncate(ffd, NPAGES * VT_PAGE_SIZE));
	p = mmap(NULL, NPAGES * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, ffd, 0);
	close(ffd);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 7, NPAGES * VT_PAGE_SIZE);
	TH_LOG("file on %s, kernel %u.%u", dir, maj, min);

	/* The module refuses it on kernels before 6.5 too (same ABI). */
	EXPECT_PIN_FAILS(-EFAULT, p, NPAGES * VT_PAGE_SIZE, 0);
	nr = LONG_PAGES;
	ASSERT_EQ(0, vt_pin(self->fd, p, NPAGES * VT_PAGE_SIZE,
			    VTOP_PIN_READONLY, self->segs, &nr, &h));
	VT_EXPECT_SEGS(self->segs, nr, p, NPAGES * VT_PAGE_SIZE);
	ASSERT_EQ(0, vt_unpin(self->fd, h));
	munmap(p, NPAGES * VT_PAGE_SIZE);
}

TEST_F(bad, unpin_stale)
{
	uint32_t nr = LONG_PAGES;
	uint64_t h;

	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, 0));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, 1));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, ~0ULL));
	ASSERT_EQ(0, vt_pin(self->fd, self->buf, VT_PAGE_SIZE, 0, self->segs,
			    &nr, &h));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, h + 1));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, h ^ (1ULL << 32)));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, h ^ (1ULL << 63)));
	EXPECT_EQ(0, vt_unpin(self->fd, h));
	/* already unpinned */
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, h));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, h));
	nr = LONG_PAGES;
	EXPECT_EQ(-ENOENT, vt_get_segs(self->fd, h, 0, 0, self->segs, &nr));
}

/* a handle of fd A means nothing on fd B */
TEST_F(bad, unpin_foreign)
{
	uint32_t nr = LONG_PAGES;
	struct vtop_info info;
	uint64_t ha, hb;
	int fd2;

	fd2 = vt_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vt_pin(self->fd, self->buf, 2 * VT_PAGE_SIZE, 0,
			    self->segs, &nr, &ha));
	nr = LONG_PAGES;
	ASSERT_EQ(0, vt_pin(fd2, self->buf, VT_PAGE_SIZE, 0, self->segs, &nr,
			    &hb));
	EXPECT_NE(ha, hb);
	EXPECT_EQ(-ENOENT, vt_unpin(fd2, ha));
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, hb));
	nr = LONG_PAGES;
	EXPECT_EQ(-ENOENT, vt_get_segs(fd2, ha, 0, 0, self->segs, &nr));
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(1U, info.nr_pins);
	EXPECT_EQ((unsigned long long)(2 * VT_PAGE_SIZE), info.pinned_bytes);
	ASSERT_EQ(0, vt_info(fd2, &info));
	EXPECT_EQ(1U, info.nr_pins);
	EXPECT_EQ((unsigned long long)VT_PAGE_SIZE, info.pinned_bytes);
	EXPECT_EQ(0, vt_unpin(self->fd, ha));
	EXPECT_EQ(0, vt_unpin(fd2, hb));
	EXPECT_EQ(-ENOENT, vt_unpin(fd2, hb));
	close(fd2);
}

TEST_HARNESS_MAIN
