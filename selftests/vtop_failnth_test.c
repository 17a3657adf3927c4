// SPDX-License-Identifier: GPL-2.0-only
/*
 * Systematic fault-injection sweep of /dev/vtop (iommufd_fail_nth style).
 *
 * For each operation, for N = 1, 2, ...: write N to /proc/thread-self/fail-nth,
 * run the operation, read fail-nth back. 0 means the N-th fault site was
 * reached and failed; anything else means the operation completed without
 * reaching it, which ends the sweep of that operation. Fault sites are every
 * failslab, fail_page_alloc and fail_usercopy call with a vtop function on
 * the stack (the stack-trace filter set to the module's text), plus
 * fail_function on the module's per-batch pinning helper (a function marked
 * ALLOW_ERROR_INJECTION; a failure there leaves a partial pin to roll back).
 *
 * Invalidation events add fault sites: the first PIN in an address space
 * registers the mm's notifier subscriptions (an allocation inside
 * mmu_interval_notifier_insert(), swept by pin_fresh_mm, whose every
 * iteration pins in a new child process), read() and GET_INVALIDATED
 * allocate and copy out (swept with a record queued and a pin
 * invalidated: a failure consumes nothing).
 *
 * After every injection: the call succeeded or failed with one of the errnos
 * the ABI documents for that fault; no FOLL_PIN page is outstanding, VmPin is
 * back where it was, the fd's INFO and the module's counters show nothing
 * left behind; a successful PIN reports the segments pagemap shows. Kernel
 * warnings panic the guest (panic_on_warn) and the runner checks kmemleak
 * and the log after the program.
 *
 * Needs CONFIG_FAULT_INJECTION with debugfs and the stack-trace filter (the
 * vtop debug kernel); SKIPs on kernels without them (Debian's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif

#define DEBUGFS		"/sys/kernel/debug"
#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FN_DIR		DEBUGFS "/fail_function"
#define VTOP_STATS	DEBUGFS "/vtop/stats"
/* No operation of this test comes near this many fault sites. */
#define MAX_NTH		100000
#define MAX_SAVED	32

enum op {
	OP_OPEN,
	OP_INFO,
	OP_PIN,
	OP_GET_SEGS,
	OP_UNPIN,
	OP_CLOSE,
	OP_ATTACH,
	OP_DETACH,
	OP_PIN_ATTACHED,
	OP_CONTROL,
	OP_PIN_FRESH_MM,
	OP_READ,
	OP_GET_INV,
};

struct saved_attr {
	char path[128];
	char val[64];
};

FIXTURE(failnth) {
	int nthfd;
	int fd;			/* /dev/vtop, open for the whole test */
	struct vt_snap base;	/* pin counters before the sweep */
	int64_t base_live;	/* module-wide live pins before, -1: no stats */
	unsigned long text_lo, text_hi;
	char fn[128];		/* fail_function target, "" if none */
	struct saved_attr saved[MAX_SAVED];
	int nr_saved;
	char pci[32];		/* device for ATTACH, "" if none */

	/* per-iteration state */
	char *buf;
	size_t map_len;
	void *map;
	int fd2;
	uint64_t handle;
	struct vtop_segment *segs, *ref;
	uint32_t cap, nr_ref;
	/* results */
	unsigned int sites, failed, ok_anyway;
	unsigned int by_errno[4];	/* ENOMEM, EFAULT, EIO, other */
};

FIXTURE_VARIANT(failnth) {
	enum op op;
	enum vt_kind kind;	/* OP_PIN, OP_GET_SEGS: memory */
	size_t len;		/* OP_PIN, OP_GET_SEGS: bytes */
	bool touch;		/* fault the pages in before the call */
	bool fn_alone;		/* also sweep fail_function alone */
	unsigned int min_sites;	/* fewer means the scoping is broken */
	/*
	 * user copies the call makes: each must have been failed once (EFAULT),
	 * or the sweep skipped sites
	 */
	unsigned int min_efault;
	bool max_zero;		/* more than 0 means the scoping is broken */
};

/*
 * Control: a system call that allocates and copies plenty, but not in vtop,
 * must reach no fault site, or the scoping is wrong.
 */
FIXTURE_VARIANT_ADD(failnth, control) {
	.op = OP_CONTROL, .max_zero = true,
};

FIXTURE_VARIANT_ADD(failnth, open) {
	.op = OP_OPEN, .min_sites = 1,
};

FIXTURE_VARIANT_ADD(failnth, info) {
	.op = OP_INFO, .min_sites = 2, .min_efault = 2,
};

/* untouched: the pin faults the pages in (page tables, page allocation) */
FIXTURE_VARIANT_ADD(failnth, pin_4k) {
	.op = OP_PIN, .kind = VT_KIND_4K, .len = 4 * VT_PAGE_SIZE,
	.min_sites = 3, .min_efault = 3,
};

/* several pinning batches: fail_function fails one partway */
FIXTURE_VARIANT_ADD(failnth, pin_4k_batches) {
	.op = OP_PIN, .kind = VT_KIND_4K, .len = 1025 * VT_PAGE_SIZE,
	.touch = true, .fn_alone = true, .min_sites = 3, .min_efault = 3,
};

FIXTURE_VARIANT_ADD(failnth, pin_thp) {
	.op = OP_PIN, .kind = VT_KIND_THP, .len = VT_HPAGE_SIZE,
	.min_sites = 3, .min_efault = 3,
};

FIXTURE_VARIANT_ADD(failnth, pin_hugetlb) {
	.op = OP_PIN, .kind = VT_KIND_HUGETLB, .len = VT_HPAGE_SIZE,
	.min_sites = 3, .min_efault = 3,
};

FIXTURE_VARIANT_ADD(failnth, get_segs) {
	.op = OP_GET_SEGS, .kind = VT_KIND_4K, .len = 1025 * VT_PAGE_SIZE,
	.touch = true, .min_sites = 2, .min_efault = 3,
};

FIXTURE_VARIANT_ADD(failnth, unpin) {
	.op = OP_UNPIN, .kind = VT_KIND_4K, .len = 4 * VT_PAGE_SIZE,
	.touch = true, .min_sites = 1, .min_efault = 1,
};

FIXTURE_VARIANT_ADD(failnth, close) {
	.op = OP_CLOSE, .kind = VT_KIND_4K, .len = 4 * VT_PAGE_SIZE,
	.touch = true, .min_sites = 0,
};

FIXTURE_VARIANT_ADD(failnth, attach) {
	.op = OP_ATTACH, .min_sites = 1, .min_efault = 1,
};

FIXTURE_VARIANT_ADD(failnth, detach) {
	.op = OP_DETACH, .min_sites = 1, .min_efault = 1,
};

/*
 * PIN in an address space vtop never pinned in: the notifier insert
 * allocates the mm's subscriptions; each iteration runs in a new child.
 */
FIXTURE_VARIANT_ADD(failnth, pin_fresh_mm) {
	.op = OP_PIN_FRESH_MM, .kind = VT_KIND_4K, .len = 4 * VT_PAGE_SIZE,
	.touch = true, .min_sites = 4, .min_efault = 3,
};

/* read() of a queued record: the record stays queued when it fails */
FIXTURE_VARIANT_ADD(failnth, read) {
	.op = OP_READ, .kind = VT_KIND_4K, .len = 4 * VT_PAGE_SIZE,
	.touch = true, .min_sites = 2, .min_efault = 1,
};

FIXTURE_VARIANT_ADD(failnth, get_invalidated) {
	.op = OP_GET_INV, .kind = VT_KIND_4K, .len = 4 * VT_PAGE_SIZE,
	.touch = true, .min_sites = 3, .min_efault = 3,
};

FIXTURE_VARIANT_ADD(failnth, pin_attached) {
	.op = OP_PIN_ATTACHED, .kind = VT_KIND_4K, .len = 1025 * VT_PAGE_SIZE,
	.touch = true, .fn_alone = true, .min_sites = 3, .min_efault = 3,
};

/* ---- debugfs fault attributes -------------------------------------------- */

/* write @val to @dir/@name, remembering the old value for the teardown */
static int attr_set(FIXTURE_DATA(failnth) *self, const char *dir,
		    const char *name, const char *val)
{
	struct saved_attr *s;
	char path[128];
	long n;

	snprintf(path, sizeof(path), DEBUGFS "/%s/%s", dir, name);
	if (self->nr_saved < MAX_SAVED) {
		s = &self->saved[self->nr_saved];
		n = vt_read_file(path, s->val, sizeof(s->val));
		if (n < 0)
			return n;
		strcpy(s->path, path);
		self->nr_saved++;
	}
	return vt_write_file(path, val);
}

/*
 * The module's text: from the lowest to past the highest address among its
 * text sections. vtop is the only module of the debug kernel, so nothing
 * else's code lies in that range.
 */
static int module_text(unsigned long *lo, unsigned long *hi)
{
	const char *dir = "/sys/module/vtop/sections";
	unsigned long min = ULONG_MAX, max = 0, other = ULONG_MAX;
	struct dirent *de;
	char path[300], buf[64];
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long a;
		bool text;

		if (de->d_name[0] != '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (vt_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		a = strtoul(buf, NULL, 16);
		if (!a)
			continue;
		text = !strncmp(de->d_name, ".text", 5) ||
		       !strcmp(de->d_name, ".noinstr.text");
		if (text) {
			if (a < min)
				min = a;
			if (a > max)
				max = a;
		}
	}
	closedir(d);
	if (min == ULONG_MAX)
		return -ENOENT;
	/* end: the first non-text section above the text, else 1 MiB on */
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long a;

		if (de->d_name[0] != '.' || !strncmp(de->d_name, ".text", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (vt_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		a = strtoul(buf, NULL, 16);
		if (a > max && a < other)
			other = a;
	}
	closedir(d);
	*lo = min;
	*hi = other != ULONG_MAX && other - max < (1UL << 24) ?
	      other : max + (1UL << 20);
	return 0;
}

/*
 * [start, end) of kernel function @name from /proc/kallsyms: its address
 * and the next higher text symbol's. -ENOENT if the kernel lacks it.
 */
static int ksym_range(const char *name, unsigned long *start,
		      unsigned long *end)
{
	unsigned long a, lo = 0, hi = ULONG_MAX;
	char line[512], sym[256], type;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %c %255s", &a, &type, sym) == 3 &&
		    !strcmp(sym, name) && (type == 't' || type == 'T'))
			lo = a;
	if (lo) {
		rewind(f);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%lx %c", &a, &type) == 2 &&
			    (type == 't' || type == 'T') && a > lo && a < hi)
				hi = a;
	}
	fclose(f);
	if (!lo || hi == ULONG_MAX)
		return -ENOENT;
	*start = lo;
	*end = hi;
	return 0;
}

/* the module's ALLOW_ERROR_INJECTION function, from the injectable list */
static int find_injectable(char *fn, size_t len)
{
	char line[256];
	FILE *f;
	int ret = -ENOENT;

	f = fopen(FN_DIR "/injectable", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* "vtop_pin_batch [vtop]\tERRNO" */
		if (!strstr(line, "[vtop]") || !strstr(line, "ERRNO"))
			continue;
		line[strcspn(line, " \t")] = '\0';
		snprintf(fn, len, "%.127s", line);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * Add @fn to fail_function's targets, failing it with -ENOMEM (its debugfs
 * directory, retval included, is created anew each time), or remove it.
 * Idempotent.
 */
static int fn_inject(const char *fn, bool on)
{
	char cmd[140], path[300];
	int ret;

	snprintf(cmd, sizeof(cmd), "%s%s", on ? "" : "!", fn);
	ret = vt_write_file(FN_DIR "/inject", cmd);
	if (!on)
		return ret == -ENOENT ? 0 : ret;
	if (ret && ret != -EBUSY)
		return ret;
	snprintf(path, sizeof(path), FN_DIR "/%s/retval", fn);
	return vt_write_file(path, "0xfffffffffffffff4");
}

/* a PCI device ATTACH may use: $VTOP_TEST_PCI, else one bound to uio/vfio */
static void find_pci(char *bdf, size_t len)
{
	static const char *const drivers[] = {
		"/sys/bus/pci/drivers/uio_pci_generic",
		"/sys/bus/pci/drivers/vfio-pci",
	};
	const char *env = getenv("VTOP_TEST_PCI");
	struct dirent *de;
	size_t i;

	bdf[0] = '\0';
	if (env && *env) {
		snprintf(bdf, len, "%s", env);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(drivers) && !bdf[0]; i++) {
		DIR *d = opendir(drivers[i]);

		if (!d)
			continue;
		while ((de = readdir(d)))
			if (strchr(de->d_name, ':') && strchr(de->d_name, '.')) {
				snprintf(bdf, len, "%.31s", de->d_name);
				break;
			}
		closedir(d);
	}
}

static int do_attach(int fd, const char *bdf)
{
	unsigned int dom, bus, slot, fn;
	struct vtop_attach a = { .size = sizeof(a) };

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return -EINVAL;
	a.pci_domain = dom;
	a.pci_bdf = bus << 8 | slot << 3 | fn;
	return vt_ioctl(fd, VTOP_IOC_ATTACH, &a);
}

static int do_detach(int fd)
{
	struct vtop_detach d = { .size = sizeof(d) };

	return vt_ioctl(fd, VTOP_IOC_DETACH, &d);
}

/* live_pins of the module's debugfs stats, -1 if there are none */
static int64_t module_live_pins(void)
{
	char buf[1024], *p;

	if (vt_read_file(VTOP_STATS, buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "live_pins ");
	return p ? strtoll(p + 10, NULL, 10) : -1;
}

/* ---- fail-nth ------------------------------------------------------------ */

static int nth_arm(int nthfd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nthfd, buf, len, 0) == len ? 0 : -errno;
}

/* 1 if the armed fault was injected; disarms a pending one */
static int nth_injected(int nthfd)
{
	char buf[16] = "";

	if (pread(nthfd, buf, sizeof(buf) - 1, 0) <= 0)
		return -errno;
	if (atoi(buf) == 0)
		return 1;
	return pwrite(nthfd, "0", 1, 0) == 1 ? 0 : -errno;
}

/* ---- memory -------------------------------------------------------------- */

/* map @len bytes of @kind, untouched unless @touch; NULL if unavailable */
static void *map_kind(FIXTURE_DATA(failnth) *self, enum vt_kind kind,
		      size_t len, bool touch)
{
	size_t i;
	char *p;

	switch (kind) {
	case VT_KIND_HUGETLB:
		self->map_len = len;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			 MAP_HUGE_2MB, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		self->map = p;
		break;
	case VT_KIND_THP:
	case VT_KIND_4K:
		self->map_len = len + VT_HPAGE_SIZE;
		self->map = mmap(NULL, self->map_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (self->map == MAP_FAILED) {
			self->map = NULL;
			return NULL;
		}
		p = (char *)(((uintptr_t)self->map + VT_HPAGE_SIZE - 1) &
			     ~(uintptr_t)(VT_HPAGE_SIZE - 1));
		if (madvise(p, len, kind == VT_KIND_THP ? MADV_HUGEPAGE :
			    MADV_NOHUGEPAGE) && kind == VT_KIND_THP) {
			munmap(self->map, self->map_len);
			self->map = NULL;
			return NULL;
		}
		break;
	default:
		return NULL;
	}
	if (touch)
		for (i = 0; i < len; i += VT_PAGE_SIZE)
			p[i] = 1;
	return p;
}

static void unmap_kind(FIXTURE_DATA(failnth) *self)
{
	if (self->map)
		munmap(self->map, self->map_len);
	self->map = NULL;
}

static bool thp_enabled(void)
{
	char buf[128];

	if (vt_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
			 sizeof(buf)) <= 0)
		return false;
	return !strstr(buf, "[never]");
}

/* ---- fixture ------------------------------------------------------------- */

FIXTURE_SETUP(failnth)
{
	char hex[32], path[300];
	static const char *const scoped[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
	};
	struct vtop_info info;
	size_t i;
	int ret;

	self->nthfd = -1;
	self->fd = -1;
	self->fd2 = -1;
	VT_OPEN_OR_SKIP(self->fd);
	if (access(FAIL_NTH, W_OK))
		SKIP(return, "no %s (kernel without CONFIG_FAULT_INJECTION)",
		     FAIL_NTH);
	if (access(DEBUGFS "/failslab", F_OK))
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	for (i = 0; i < ARRAY_SIZE(scoped); i++) {
		snprintf(path, sizeof(path), DEBUGFS "/%s/require-start",
			 scoped[i]);
		if (access(path, W_OK))
			SKIP(return, "no %s (needs FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_USERCOPY, FAULT_INJECTION_STACKTRACE_FILTER)",
			     path);
	}

	ASSERT_EQ(0, vt_info(self->fd, &info));
	if ((variant->op == OP_ATTACH || variant->op == OP_DETACH ||
	     variant->op == OP_PIN_ATTACHED) &&
	    !(info.features & VTOP_FEATURE_ATTACH))
		SKIP(return, "the module has no ATTACH/DETACH");
	if (variant->op == OP_ATTACH || variant->op == OP_DETACH ||
	    variant->op == OP_PIN_ATTACHED) {
		find_pci(self->pci, sizeof(self->pci));
		if (!self->pci[0])
			SKIP(return, "no PCI device bound to uio_pci_generic or vfio-pci (set VTOP_TEST_PCI)");
	}
	if (variant->kind == VT_KIND_THP && variant->op == OP_PIN &&
	    !thp_enabled())
		SKIP(return, "transparent hugepages disabled");

	ret = module_text(&self->text_lo, &self->text_hi);
	ASSERT_EQ(0, ret) TH_LOG("module text from /sys/module/vtop/sections: %s",
				 strerror(-ret));

	/*
	 * Scope: a fault site counts only with vtop's code on the stack.
	 * fail-nth ignores probability, interval and times; they stay as
	 * they are (probability 0: nothing fails outside fail-nth).
	 */
	for (i = 0; i < ARRAY_SIZE(scoped); i++) {
		snprintf(hex, sizeof(hex), "0x%lx", self->text_lo);
		ASSERT_EQ(0, attr_set(self, scoped[i], "require-start", hex));
		snprintf(hex, sizeof(hex), "0x%lx", self->text_hi);
		ASSERT_EQ(0, attr_set(self, scoped[i], "require-end", hex));
		ASSERT_EQ(0, attr_set(self, scoped[i], "stacktrace-depth",
				      "32"));
		ASSERT_EQ(0, attr_set(self, scoped[i], "verbose", "0"));
	}
	/*
	 * Not inside the Intel IOMMU driver's page-table update: on 6.12,
	 * when a page-table allocation fails partway, __domain_mapping()
	 * returns -ENOMEM with the PTEs it already wrote left in place and
	 * intel_iommu_map_pages() reports nothing mapped, so nobody clears
	 * them; the IOVA is freed, reused by the next map, and that WARNs
	 * "DMA PTE for vPFN ... already set" (panic_on_warn). A kernel bug,
	 * not vtop's (see /work/shared/team/BUGS.md); the rest of the DMA
	 * path (IOVA allocation, scatterlists, the module) is still swept.
	 */
	if (variant->op == OP_PIN_ATTACHED) {
		unsigned long lo = 0, hi = 0;

		if (!ksym_range("intel_iommu_map_pages", &lo, &hi)) {
			for (i = 0; i < 2; i++) {
				snprintf(hex, sizeof(hex), "0x%lx", lo);
				ASSERT_EQ(0, attr_set(self, scoped[i],
						      "reject-start", hex));
				snprintf(hex, sizeof(hex), "0x%lx", hi);
				ASSERT_EQ(0, attr_set(self, scoped[i],
						      "reject-end", hex));
			}
		}
	}

	/* sleeping allocations too, and order-0 pages */
	ASSERT_EQ(0, attr_set(self, "failslab", "ignore-gfp-wait", "N"));
	ASSERT_EQ(0, attr_set(self, "failslab", "cache-filter", "N"));
	ASSERT_EQ(0, attr_set(self, "fail_page_alloc", "ignore-gfp-wait", "N"));
	ASSERT_EQ(0, attr_set(self, "fail_page_alloc", "ignore-gfp-highmem",
			      "N"));
	ASSERT_EQ(0, attr_set(self, "fail_page_alloc", "min-order", "0"));

	/* fail_function on the module's pinning helper */
	self->fn[0] = '\0';
	if (!access(FN_DIR "/inject", W_OK) &&
	    !find_injectable(self->fn, sizeof(self->fn))) {
		ASSERT_EQ(0, attr_set(self, "fail_function", "verbose", "0"));
		/* the pinning step fails as if out of memory */
		ret = fn_inject(self->fn, true);
		ASSERT_EQ(0, ret) TH_LOG("fail_function inject %s: %s",
					 self->fn, strerror(-ret));
	} else if (variant->op == OP_PIN || variant->op == OP_PIN_ATTACHED) {
		TH_LOG("no ALLOW_ERROR_INJECTION function of vtop in %s/injectable: pins are swept without fail_function",
		       FN_DIR);
	}

	self->nthfd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nthfd);

	self->cap = variant->len / VT_PAGE_SIZE + 1;
	self->segs = calloc(self->cap, sizeof(*self->segs));
	self->ref = calloc(self->cap, sizeof(*self->ref));
	ASSERT_NE(NULL, self->segs);
	ASSERT_NE(NULL, self->ref);

	ASSERT_EQ(0, vt_snap(&self->base));
	self->base_live = module_live_pins();
}

FIXTURE_TEARDOWN(failnth)
{
	int i;

	if (self->nthfd >= 0) {
		pwrite(self->nthfd, "0", 1, 0);
		close(self->nthfd);
	}
	if (self->fn[0])
		fn_inject(self->fn, false);
	for (i = self->nr_saved - 1; i >= 0; i--)
		vt_write_file(self->saved[i].path, self->saved[i].val);
	if (self->fd2 >= 0)
		close(self->fd2);
	if (self->fd >= 0)
		close(self->fd);
	unmap_kind(self);
	free(self->segs);
	free(self->ref);
}

/*
 * Which mechanisms count as fault sites: an empty stack range turns
 * failslab, fail_page_alloc or fail_usercopy off, fail_function is off
 * unless its target is injected.
 */
#define M_ALLOC		(1U << 0)	/* failslab, fail_page_alloc */
#define M_USERCOPY	(1U << 1)
#define M_FUNCTION	(1U << 2)
#define M_ALL		(M_ALLOC | M_USERCOPY | M_FUNCTION)

static int mechanisms(FIXTURE_DATA(failnth) *self, unsigned int m)
{
	static const struct {
		const char *attr;
		unsigned int m;
	} attrs[] = {
		{ "failslab", M_ALLOC },
		{ "fail_page_alloc", M_ALLOC },
		{ "fail_usercopy", M_USERCOPY },
	};
	char path[128], hex[32];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		snprintf(hex, sizeof(hex), "0x%lx",
			 m & attrs[i].m ? self->text_hi : self->text_lo);
		snprintf(path, sizeof(path), DEBUGFS "/%s/require-end",
			 attrs[i].attr);
		ret = vt_write_file(path, hex);
		if (ret)
			return ret;
	}
	return self->fn[0] ? fn_inject(self->fn, m & M_FUNCTION) : 0;
}

/* ---- the oracle ----------------------------------------------------------- */

/*
 * Nothing may be left behind by the iteration: with @pinned bytes still
 * pinned on self->fd on purpose (GET_SEGS keeps one pin for the sweep).
 */
static void expect_clean(struct __test_metadata *_metadata,
			 FIXTURE_DATA(failnth) *self, uint64_t pinned,
			 unsigned int n)
{
	struct vtop_info info;
	struct vt_snap now;

	ASSERT_EQ(0, vt_snap(&now));
	ASSERT_EQ(self->base.foll_pins + (int64_t)(pinned / VT_PAGE_SIZE),
		  now.foll_pins) TH_LOG("N=%u: FOLL_PIN pages leaked", n);
	ASSERT_EQ(self->base.vmpin_kb + pinned / 1024, now.vmpin_kb)
		TH_LOG("N=%u: VmPin not back", n);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	ASSERT_EQ(pinned ? 1U : 0U, info.nr_pins) TH_LOG("N=%u", n);
	ASSERT_EQ(pinned, info.pinned_bytes) TH_LOG("N=%u", n);
	ASSERT_EQ(0U, info.nr_invalidated) TH_LOG("N=%u", n);
	ASSERT_EQ(0U, info.nr_queued_events) TH_LOG("N=%u", n);
	ASSERT_EQ(0ULL, info.invalidated_bytes) TH_LOG("N=%u", n);
	ASSERT_EQ(self->base.vmpin_kb * 1024 + pinned, info.mm_pinned_bytes)
		TH_LOG("N=%u: pinned_vm not back", n);
	if (self->base_live >= 0)
		ASSERT_EQ(self->base_live + (pinned ? 1 : 0),
			  module_live_pins())
			TH_LOG("N=%u: module live_pins not back", n);
}

/*
 * Errnos an injected fault may produce: ENOMEM (allocation), EFAULT
 * (usercopy) and, on an attached fd, EIO (the header's "the DMA API failed
 * to map them").
 */
#define OK_ENOMEM	(1U << 0)
#define OK_EFAULT	(1U << 1)
#define OK_EIO		(1U << 2)

static void expect_injected_errno(struct __test_metadata *_metadata,
				  FIXTURE_DATA(failnth) *self, int ret,
				  unsigned int ok, unsigned int n)
{
	if (ret == -ENOMEM)
		self->by_errno[0]++;
	else if (ret == -EFAULT)
		self->by_errno[1]++;
	else if (ret == -EIO)
		self->by_errno[2]++;
	else
		self->by_errno[3]++;
	ASSERT_TRUE((ret == -ENOMEM && (ok & OK_ENOMEM)) ||
		    (ret == -EFAULT && (ok & OK_EFAULT)) ||
		    (ret == -EIO && (ok & OK_EIO)))
		TH_LOG("N=%u: injected fault gave %d (%s)", n, ret,
		       strerror(-ret));
}

/* a PIN that succeeded: its segments match pagemap */
static void expect_pin_ok(struct __test_metadata *_metadata,
			  FIXTURE_DATA(failnth) *self, void *p, size_t len,
			  uint32_t nr, bool iova)
{
	ASSERT_LE(1U, nr);
	ASSERT_GE(self->cap, nr);
	if (!iova)
		VT_EXPECT_SEGS(self->segs, nr, p, len);
}

/* what the child of OP_PIN_FRESH_MM reports */
struct fresh_result {
	int ret;	/* PIN's */
	int inj;	/* the armed fault was injected */
	int err;	/* 0, or which check of the child failed */
};

/*
 * OP_PIN_FRESH_MM: in a new process (a new mm, no notifier subscriptions
 * yet), open the device, map and touch the buffer, arm the N-th fault site,
 * PIN. A pin that succeeded must report the segments pagemap shows and be
 * watched: munmap queues its record. Exiting releases everything.
 */
static int pin_fresh_mm(const FIXTURE_VARIANT(failnth) *variant,
			unsigned int n, int *inj)
{
	struct fresh_result r = { .err = 100 };
	int pfd[2], status;
	pid_t pid;

	if (pipe(pfd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct vtop_segment segs[8];
		struct vtop_event e;
		uint32_t nr = 8;
		uint64_t h;
		char why[256];
		char *p;
		int fd, nthfd, i;

		close(pfd[0]);
		r.err = 1;
		fd = vt_open();
		if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK))
			_exit(1);
		nthfd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
		p = mmap(NULL, variant->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (fd >= 0 && nthfd >= 0 && p != MAP_FAILED) {
			for (i = 0; i < (int)variant->len; i += VT_PAGE_SIZE)
				p[i] = 1;
			r.err = nth_arm(nthfd, n) ? 2 : 0;
		}
		if (!r.err) {
			r.ret = vt_pin(fd, p, variant->len, 0, segs, &nr, &h);
			r.inj = nth_injected(nthfd);
			if (r.inj < 0)
				r.err = 3;
		}
		if (!r.err && !r.ret) {
			if (vt_check_segs(segs, nr, (uintptr_t)p, variant->len,
					  why, sizeof(why)))
				r.err = 4;
			else if (munmap(p, variant->len) ||
				 read(fd, &e, sizeof(e)) != sizeof(e) ||
				 e.handle != h || e.reason != VTOP_EVENT_UNMAP)
				r.err = 5;
		}
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &r, sizeof(r)) != sizeof(r))
		r.err = 101;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		r.err = 102;
	*inj = r.inj;
	return r.err ? -1000 - r.err : r.ret;
}

/* ---- one sweep ------------------------------------------------------------ */

/*
 * Run one iteration with the N-th fault site armed; return 1 if the fault
 * was injected (the sweep goes on), 0 if the operation completed first.
 */
static int iterate(struct __test_metadata *_metadata,
		   FIXTURE_DATA(failnth) *self,
		   const FIXTURE_VARIANT(failnth) *variant, unsigned int n)
{
	struct vtop_info info;
	struct vtop_event evs[4];
	uint64_t keep = 0, handles[4], seq;
	char ctl[4096];
	uint32_t nr;
	char *p = NULL;
	int ret, inj = 0;

	/* ---- prepare, not injected ---- */
	switch (variant->op) {
	case OP_PIN:
	case OP_PIN_ATTACHED:
		p = map_kind(self, variant->kind, variant->len, variant->touch);
		ASSERT_NE(NULL, p);
		if (variant->op == OP_PIN_ATTACHED) {
			self->fd2 = vt_open();
			ASSERT_LE(0, self->fd2);
			ASSERT_EQ(0, do_attach(self->fd2, self->pci));
		}
		break;
	case OP_UNPIN:
		p = map_kind(self, variant->kind, variant->len, true);
		ASSERT_NE(NULL, p);
		nr = self->cap;
		ASSERT_EQ(0, vt_pin(self->fd, p, variant->len, 0, self->segs,
				    &nr, &self->handle));
		break;
	case OP_CLOSE:
		p = map_kind(self, variant->kind, variant->len, true);
		ASSERT_NE(NULL, p);
		self->fd2 = vt_open();
		ASSERT_LE(0, self->fd2);
		nr = self->cap;
		ASSERT_EQ(0, vt_pin(self->fd2, p, variant->len, 0, self->segs,
				    &nr, NULL));
		break;
	case OP_ATTACH:
		self->fd2 = vt_open();
		ASSERT_LE(0, self->fd2);
		break;
	case OP_DETACH:
		self->fd2 = vt_open();
		ASSERT_LE(0, self->fd2);
		ASSERT_EQ(0, do_attach(self->fd2, self->pci));
		break;
	case OP_GET_SEGS:
		keep = variant->len;	/* pinned once by the test */
		memset(self->segs, 0xa5, self->cap * sizeof(*self->segs));
		break;
	case OP_READ:
	case OP_GET_INV:
		/* a pin, invalidated: its record queued */
		p = map_kind(self, variant->kind, variant->len, true);
		ASSERT_NE(NULL, p);
		nr = self->cap;
		ASSERT_EQ(0, vt_pin(self->fd, p, variant->len, 0, self->segs,
				    &nr, &self->handle));
		unmap_kind(self);
		ASSERT_EQ(0, vt_info(self->fd, &info));
		ASSERT_EQ(1U, info.nr_queued_events);
		break;
	default:
		break;
	}

	/* ---- the injected call ---- */
	if (variant->op == OP_PIN_FRESH_MM) {
		/* armed and checked in the child */
		ret = pin_fresh_mm(variant, n, &inj);
		ASSERT_LT(-1000, ret)
			TH_LOG("N=%u: the child's check %d failed", n,
			       -1000 - ret);
		goto injected;
	}
	ASSERT_EQ(0, nth_arm(self->nthfd, n));
	switch (variant->op) {
	case OP_OPEN:
		ret = vt_open();
		break;
	case OP_INFO:
		ret = vt_info(self->fd, &info);
		break;
	case OP_PIN:
		nr = self->cap;
		ret = vt_pin(self->fd, p, variant->len, 0, self->segs, &nr,
			     &self->handle);
		break;
	case OP_PIN_ATTACHED:
		nr = self->cap;
		ret = vt_pin(self->fd2, p, variant->len, 0, self->segs, &nr,
			     &self->handle);
		break;
	case OP_GET_SEGS:
		nr = self->cap;
		ret = vt_get_segs(self->fd, self->handle, 0, 0, self->segs,
				  &nr);
		break;
	case OP_UNPIN:
		ret = vt_unpin(self->fd, self->handle);
		break;
	case OP_CLOSE:
		ret = close(self->fd2) ? -errno : 0;
		self->fd2 = -1;
		break;
	case OP_ATTACH:
		ret = do_attach(self->fd2, self->pci);
		break;
	case OP_DETACH:
		ret = do_detach(self->fd2);
		break;
	case OP_CONTROL:
		ret = vt_read_file("/proc/self/status", ctl, sizeof(ctl));
		break;
	case OP_READ:
		ret = vt_read_events(self->fd, evs, 4);
		break;
	case OP_GET_INV:
		nr = 4;
		handles[0] = 0;
		ret = vt_get_invalidated(self->fd, handles, &nr, &seq);
		break;
	default:
		ret = -EINVAL;
	}
	inj = nth_injected(self->nthfd);
	ASSERT_LE(0, inj);
injected:

	/* ---- check the outcome, clean up, not injected ---- */
	if (!inj) {
		ASSERT_LE(0, ret) TH_LOG("N=%u: fault site not reached, yet the call failed: %s",
					 n, strerror(-ret));
	} else if (ret >= 0) {
		self->ok_anyway++;
	} else {
		self->failed++;
	}

	switch (variant->op) {
	case OP_CONTROL:
		break;
	case OP_PIN_FRESH_MM:
		if (ret)
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
		break;
	case OP_READ:
		if (ret >= 0) {
			ASSERT_EQ(1, ret) TH_LOG("N=%u", n);
			ASSERT_EQ(self->handle, evs[0].handle);
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
			/* nothing consumed */
			ASSERT_EQ(0, vt_info(self->fd, &info));
			ASSERT_EQ(1U, info.nr_queued_events) TH_LOG("N=%u", n);
			ASSERT_EQ(1, vt_read_events(self->fd, evs, 4));
			ASSERT_EQ(self->handle, evs[0].handle);
		}
		ASSERT_EQ(0, vt_unpin(self->fd, self->handle));
		break;
	case OP_GET_INV:
		if (ret == 0) {
			ASSERT_EQ(1U, nr) TH_LOG("N=%u", n);
			ASSERT_EQ(self->handle, handles[0]);
			ASSERT_LE(1ULL, seq);
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
		}
		/* the record is still queued: UNPIN removes it */
		ASSERT_EQ(0, vt_unpin(self->fd, self->handle));
		break;
	case OP_OPEN:
		if (ret >= 0)
			close(ret);
		else
			expect_injected_errno(_metadata, self, ret, OK_ENOMEM,
					      n);
		break;
	case OP_INFO:
		if (ret == 0) {
			ASSERT_EQ((__u32)VTOP_ABI_VERSION, info.abi_version);
			ASSERT_EQ(sizeof(info), info.size);
			ASSERT_EQ(0U, info.nr_pins);
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
		}
		break;
	case OP_PIN:
	case OP_PIN_ATTACHED:
		if (ret == 0) {
			expect_pin_ok(_metadata, self, p, variant->len, nr,
				      variant->op == OP_PIN_ATTACHED);
			ASSERT_EQ(0, vt_unpin(variant->op == OP_PIN ?
					      self->fd : self->fd2,
					      self->handle));
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT |
					      (variant->op == OP_PIN_ATTACHED ?
					       OK_EIO : 0), n);
		}
		if (variant->op == OP_PIN_ATTACHED) {
			ASSERT_EQ(0, vt_info(self->fd2, &info));
			ASSERT_EQ(0U, info.nr_pins) TH_LOG("N=%u", n);
			ASSERT_EQ(0ULL, info.pinned_bytes) TH_LOG("N=%u", n);
			close(self->fd2);
			self->fd2 = -1;
		}
		unmap_kind(self);
		break;
	case OP_GET_SEGS:
		if (ret == 0) {
			ASSERT_EQ(self->nr_ref, nr);
			ASSERT_EQ(0, memcmp(self->ref, self->segs,
					    nr * sizeof(*self->segs)))
				TH_LOG("N=%u: segments differ", n);
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
		}
		break;
	case OP_UNPIN:
		if (ret) {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
			/* a failed UNPIN keeps the pin: it must be there */
			ASSERT_EQ(0, vt_info(self->fd, &info));
			ASSERT_EQ(1U, info.nr_pins) TH_LOG("N=%u", n);
			ASSERT_EQ(0, vt_unpin(self->fd, self->handle));
		}
		ASSERT_EQ(-ENOENT, vt_unpin(self->fd, self->handle));
		unmap_kind(self);
		break;
	case OP_CLOSE:
		ASSERT_EQ(0, ret);
		unmap_kind(self);
		break;
	case OP_ATTACH:
		ASSERT_EQ(0, vt_info(self->fd2, &info));
		if (ret == 0) {
			ASSERT_EQ((__u32)VTOP_MODE_IOVA, info.mode);
			ASSERT_EQ(0, do_detach(self->fd2));
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
			ASSERT_EQ((__u32)VTOP_MODE_PHYS, info.mode) TH_LOG("N=%u", n);
		}
		close(self->fd2);
		self->fd2 = -1;
		break;
	case OP_DETACH:
		ASSERT_EQ(0, vt_info(self->fd2, &info));
		if (ret == 0) {
			ASSERT_EQ((__u32)VTOP_MODE_PHYS, info.mode);
		} else {
			expect_injected_errno(_metadata, self, ret,
					      OK_ENOMEM | OK_EFAULT, n);
			ASSERT_EQ((__u32)VTOP_MODE_IOVA, info.mode) TH_LOG("N=%u", n);
			ASSERT_EQ(0, do_detach(self->fd2));
		}
		ASSERT_EQ(-ENXIO, do_detach(self->fd2));
		close(self->fd2);
		self->fd2 = -1;
		break;
	}
	expect_clean(_metadata, self, keep, n);
	return inj;
}

/* sweep N = 1, 2, ... until the operation completes first; return sites */
static unsigned int sweep(struct __test_metadata *_metadata,
			  FIXTURE_DATA(failnth) *self,
			  const FIXTURE_VARIANT(failnth) *variant)
{
	unsigned int n;

	self->failed = self->ok_anyway = 0;
	memset(self->by_errno, 0, sizeof(self->by_errno));
	for (n = 1; n < MAX_NTH; n++)
		if (!iterate(_metadata, self, variant, n))
			break;
	ASSERT_GT((unsigned int)MAX_NTH, n) TH_LOG("the operation never completed");
	return n - 1;
}

TEST_F_TIMEOUT(failnth, sweep, 1500)
{
	unsigned int sites, copies, batches;
	const char *name = "?";
	char *p;

	if (variant->op == OP_GET_SEGS) {
		/* one pin whose segments are re-read under injection */
		p = map_kind(self, variant->kind, variant->len, true);
		ASSERT_NE(NULL, p);
		self->map = NULL;	/* kept mapped until the process ends */
		self->nr_ref = self->cap;
		ASSERT_EQ(0, vt_pin(self->fd, p, variant->len, 0, self->ref,
				    &self->nr_ref, &self->handle));
	}
	if (variant->kind == VT_KIND_HUGETLB) {
		p = map_kind(self, variant->kind, variant->len, true);
		if (!p)
			SKIP(return, "no free 2 MiB hugetlb pages");
		unmap_kind(self);
	}

	/*
	 * Same fault sites in every iteration: one CPU (per-CPU caches such
	 * as the IOVA magazines decide whether a call allocates), and one
	 * untimed warm-up run of the operation with nothing armed.
	 */
	{
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	}
	ASSERT_EQ(0, iterate(_metadata, self, variant, MAX_NTH));

	sites = sweep(_metadata, self, variant);

	switch (variant->op) {
	case OP_OPEN: name = "open"; break;
	case OP_INFO: name = "INFO"; break;
	case OP_PIN: name = vt_kind_name(variant->kind); break;
	case OP_GET_SEGS: name = "GET_SEGS"; break;
	case OP_UNPIN: name = "UNPIN"; break;
	case OP_CLOSE: name = "close"; break;
	case OP_ATTACH: name = "ATTACH"; break;
	case OP_DETACH: name = "DETACH"; break;
	case OP_PIN_ATTACHED: name = "PIN (attached)"; break;
	case OP_CONTROL: name = "control (read /proc/self/status)"; break;
	case OP_PIN_FRESH_MM: name = "PIN in a new mm"; break;
	case OP_READ: name = "read"; break;
	case OP_GET_INV: name = "GET_INVALIDATED"; break;
	}
	ksft_print_msg("%s%s of %zu bytes: %u fault sites exercised: %u failed (ENOMEM %u, EFAULT %u, EIO %u), %u succeeded anyway\n",
		       variant->op == OP_PIN ? "PIN " : "", name,
		       variant->len, sites, self->failed, self->by_errno[0],
		       self->by_errno[1], self->by_errno[2], self->ok_anyway);
	EXPECT_LE(variant->min_sites, sites)
		TH_LOG("too few fault sites: is the stack filter on the module's text?");

	/*
	 * Allocation sites need not be the same in every iteration (lazily
	 * freed vmalloc and KASAN shadow pages, per-CPU caches), so a sweep
	 * can step over a site whose number shrank. The user copies are
	 * deterministic: sweep them alone, each must fail the call once.
	 */
	if (variant->min_efault) {
		ASSERT_EQ(0, mechanisms(self, M_USERCOPY));
		copies = sweep(_metadata, self, variant);
		ASSERT_EQ(0, mechanisms(self, M_ALL));
		ksft_print_msg("  user copies alone: %u fault sites, EFAULT %u\n",
			       copies, self->by_errno[1]);
		EXPECT_LE(variant->min_efault, self->by_errno[1])
			TH_LOG("a user copy was not failed, or its failure not reported as EFAULT");
	}
	if (variant->max_zero)
		EXPECT_EQ(0U, sites)
			TH_LOG("fault sites outside vtop were counted: the stack filter does not scope to the module");

	if (variant->fn_alone && self->fn[0]) {
		/*
		 * fail_function alone: one site per pinning batch, each failing
		 * the call with the injected -ENOMEM after the batches before it
		 * were pinned (and must be rolled back).
		 */
		ASSERT_EQ(0, mechanisms(self, M_FUNCTION));
		batches = sweep(_metadata, self, variant);
		ASSERT_EQ(0, mechanisms(self, M_ALL));
		ksft_print_msg("  fail_function %s alone: %u fault sites, ENOMEM %u\n",
			       self->fn, batches, self->by_errno[0]);
		EXPECT_LE(2U, batches)
			TH_LOG("fail_function on %s: no failure after a first batch",
			       self->fn);
		EXPECT_EQ(batches, self->by_errno[0]);
	}
	if (variant->op == OP_GET_SEGS)
		ASSERT_EQ(0, vt_unpin(self->fd, self->handle));
}

TEST_HARNESS_MAIN
