// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop through /dev/vtop: registration of 4 KiB, THP and hugetlb
 * memory, vtop_vtophys() against /proc/self/pagemap for every page, the
 * SPDK registration cases, and failures that must leave nothing pinned.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG	4096UL
#define HP	(2UL << 20)

#define LV_INIT_OR_SKIP() do { \
	int __rc = vtop_env_init(NULL); \
	if (__rc == -ENOENT && access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
	ASSERT_EQ(0, __rc) TH_LOG("vtop_env_init: %s", vtop_last_error()); \
} while (0)

/*
 * Check vtop_vtophys() for every page of [buf, buf + len) against pagemap,
 * at a different offset in each page, and the contiguous length it reports
 * against the run of consecutive PFNs. Also check vtop_mem_get_segs().
 */
static int check_vtophys(const char *buf, size_t len, char *why, size_t wl)
{
	size_t np = len / PG, i, j, off, nseg = 0;
	struct vtop_segment *segs = NULL;
	uint64_t *pfn, want, got, size, run;
	uint32_t n;
	int rc;

	pfn = calloc(np, sizeof(*pfn));
	if (!pfn)
		return -ENOMEM;
	for (i = 0; i < np; i++) {
		rc = vt_pagemap_pfn((uintptr_t)buf + i * PG, &pfn[i]);
		if (rc) {
			snprintf(why, wl, "pagemap of page %zu: %d", i, rc);
			goto out;
		}
	}
	rc = -EINVAL;
	for (i = 0; i < np; i++) {
		off = (i * 97) % PG;
		want = (pfn[i] << 12) + off;
		size = len - i * PG - off;
		got = vtop_vtophys(buf + i * PG + off, &size);
		if (got != want) {
			snprintf(why, wl, "page %zu: vtophys 0x%llx, pagemap 0x%llx",
				 i, (unsigned long long)got,
				 (unsigned long long)want);
			goto out;
		}
		for (j = i; j + 1 < np && pfn[j + 1] == pfn[j] + 1; j++)
			;
		run = (j + 1 - i) * PG - off;
		if (size != run) {
			snprintf(why, wl, "page %zu: contiguous %llu, pagemap %llu",
				 i, (unsigned long long)size,
				 (unsigned long long)run);
			goto out;
		}
	}
	/* segments: the maximal PFN runs */
	for (i = 0; i < np; i++)
		if (!i || pfn[i] != pfn[i - 1] + 1)
			nseg++;
	n = 0;
	if (vtop_mem_get_segs(buf, len, NULL, &n) != -ENOBUFS || n != nseg) {
		snprintf(why, wl, "get_segs counts %u segments, pagemap %zu",
			 n, nseg);
		goto out;
	}
	segs = calloc(n, sizeof(*segs));
	if (!segs || vtop_mem_get_segs(buf, len, segs, &n)) {
		snprintf(why, wl, "get_segs failed: %s", vtop_last_error());
		goto out;
	}
	for (i = 0, j = 0; j < n; j++) {
		if (segs[j].vaddr != (uintptr_t)buf + i * PG ||
		    segs[j].dma_addr != pfn[i] << 12) {
			snprintf(why, wl, "segment %zu starts wrong", j);
			goto out;
		}
		i += segs[j].len / PG;
	}
	if (i != np) {
		snprintf(why, wl, "segments cover %zu of %zu pages", i, np);
		goto out;
	}
	rc = 0;
out:
	free(segs);
	free(pfn);
	return rc;
}

#define EXPECT_VTOPHYS(buf, len) do { \
	char __why[160] = ""; \
	EXPECT_EQ(0, check_vtophys((const char *)(buf), len, __why, \
				   sizeof(__why))) TH_LOG("%s", __why); \
} while (0)

static uint32_t lib_pins(void)
{
	struct vtop_info info = { .size = sizeof(info) };

	if (vtop_env_get_info(&info))
		return UINT32_MAX;
	return info.nr_pins;
}

static struct vtop_mem_stats stats(void)
{
	struct vtop_mem_stats st = { .size = sizeof(st) };

	vtop_mem_get_stats(&st);
	return st;
}

/* ---- the three kinds of memory ------------------------------------------ */

FIXTURE(kinds) {
	char *buf;
	size_t len;
	struct vt_snap snap;
};

FIXTURE_VARIANT(kinds) {
	enum vt_kind kind;
	bool huge;
};

FIXTURE_VARIANT_ADD(kinds, small) { .kind = VT_KIND_4K };
FIXTURE_VARIANT_ADD(kinds, thp) { .kind = VT_KIND_THP, .huge = true };
FIXTURE_VARIANT_ADD(kinds, hugetlb) { .kind = VT_KIND_HUGETLB, .huge = true };

FIXTURE_SETUP(kinds)
{
	void *p = NULL;
	int rc;

	self->len = 3 * HP;
	ASSERT_EQ(0, vt_snap(&self->snap));
	rc = vt_buf_alloc(variant->kind, self->len, &p);
	if (rc == -EOPNOTSUPP)
		SKIP(return, "no %s memory", vt_kind_name(variant->kind));
	ASSERT_EQ(0, rc);
	self->buf = p;
	LV_INIT_OR_SKIP();
}

FIXTURE_TEARDOWN(kinds)
{
	vtop_env_fini();
	if (self->buf)
		vt_buf_free(self->buf, self->len);
}

TEST_F(kinds, vtophys_matches_pagemap)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_mem_stats st;

	ASSERT_EQ(0, vtop_mem_register(self->buf, self->len))
		TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(1, info.nr_pins);
	EXPECT_EQ(self->len, info.pinned_bytes);
	EXPECT_EQ(VTOP_MODE_PHYS, info.mode);
	st = stats();
	EXPECT_EQ(1, st.nr_registrations);
	EXPECT_EQ(self->len, st.registered_bytes);
	/* 2 MiB pages take one 2 MiB entry each */
	EXPECT_EQ(variant->huge ? 3 : 0, st.entries_2m);
	EXPECT_EQ(variant->huge ? 0 : self->len / PG, st.entries_4k);
	EXPECT_VTOPHYS(self->buf, self->len);

	EXPECT_EQ(0, vtop_mem_unregister(self->buf, self->len));
	EXPECT_EQ(0, lib_pins());
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf, NULL));
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf + self->len - 1,
						   NULL));
	VT_EXPECT_NO_LEAK(self->snap);
}

/* A registration that starts and ends inside 2 MiB pages. */
TEST_F(kinds, partial_huge_pages)
{
	char *start = self->buf + PG;
	size_t len = self->len - 2 * PG;

	ASSERT_EQ(0, vtop_mem_register(start, len))
		TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(variant->huge ? 1 : 0, stats().entries_2m);
	EXPECT_VTOPHYS(start, len);
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf, NULL));
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(start + len, NULL));
	/* neighbours in the same 2 MiB pages register separately */
	ASSERT_EQ(0, vtop_mem_register(self->buf, PG));
	ASSERT_EQ(0, vtop_mem_register(start + len, PG));
	EXPECT_EQ(3, lib_pins());
	EXPECT_VTOPHYS(self->buf, self->len);
	EXPECT_EQ(-ERANGE, vtop_mem_unregister(self->buf, 2 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(self->buf, self->len));
	EXPECT_EQ(0, lib_pins());
	VT_EXPECT_NO_LEAK(self->snap);
}

/* ---- the SPDK cases, on ordinary memory ---------------------------------- */

#define NPAGES	16

FIXTURE(spdk) {
	char *buf;
	struct vt_snap snap;
};

FIXTURE_SETUP(spdk)
{
	void *p = NULL;

	ASSERT_EQ(0, vt_snap(&self->snap));
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, NPAGES * PG, &p));
	self->buf = p;
	LV_INIT_OR_SKIP();
}

FIXTURE_TEARDOWN(spdk)
{
	vtop_env_fini();
	if (self->buf)
		vt_buf_free(self->buf, NPAGES * PG);
}

TEST_F(spdk, unregister_unregistered)
{
	EXPECT_EQ(-EINVAL, vtop_mem_unregister(self->buf, PG));
	EXPECT_EQ(-EINVAL, vtop_mem_unregister(self->buf + 1, PG));
	EXPECT_EQ(-EINVAL, vtop_mem_register(self->buf + 1, PG));
	EXPECT_EQ(-EINVAL, vtop_mem_register(self->buf, PG - 1));
	EXPECT_EQ(0, vtop_mem_register(self->buf, 0));
	EXPECT_EQ(0, lib_pins());
}

TEST_F(spdk, overlap_ebusy)
{
	ASSERT_EQ(0, vtop_mem_register(self->buf + 4 * PG, 4 * PG));
	EXPECT_EQ(-EBUSY, vtop_mem_register(self->buf + 4 * PG, 4 * PG));
	EXPECT_EQ(-EBUSY, vtop_mem_register(self->buf, 5 * PG));
	EXPECT_EQ(-EBUSY, vtop_mem_register(self->buf + 7 * PG, 2 * PG));
	EXPECT_EQ(-EBUSY, vtop_mem_register(self->buf, NPAGES * PG));
	EXPECT_EQ(1, lib_pins());
	EXPECT_EQ(0, vtop_mem_unregister(self->buf + 4 * PG, 4 * PG));
	EXPECT_EQ(0, lib_pins());
	VT_EXPECT_NO_LEAK(self->snap);
}

TEST_F(spdk, split_erange)
{
	char *r = self->buf + PG;

	ASSERT_EQ(0, vtop_mem_register(r, 3 * PG));
	EXPECT_EQ(-ERANGE, vtop_mem_unregister(r + PG, PG));	/* middle */
	EXPECT_EQ(-ERANGE, vtop_mem_unregister(r, PG));		/* first */
	EXPECT_EQ(-ERANGE, vtop_mem_unregister(r + 2 * PG, PG));	/* last */
	EXPECT_EQ(-EINVAL, vtop_mem_unregister(r, 4 * PG));
	EXPECT_EQ(1, lib_pins());
	EXPECT_VTOPHYS(r, 3 * PG);
	EXPECT_EQ(0, vtop_mem_unregister(r, 3 * PG));
	EXPECT_EQ(0, lib_pins());
	VT_EXPECT_NO_LEAK(self->snap);
}

/* a log of notifications */
struct note {
	int action;
	char *va;
	size_t len;
};

struct logger {
	struct note n[64];
	int count;
	int fail_at;		/* fail the Nth REGISTER, 1-based */
	int regs;
	struct vtop_mem_map *shadow;
};

static int log_cb(void *ctx, struct vtop_mem_map *map,
		  enum vtop_mem_map_notify_action action, void *vaddr,
		  size_t size)
{
	struct logger *l = ctx;

	(void)map;
	if (l->count < 64)
		l->n[l->count++] = (struct note){ action, vaddr, size };
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER) {
		if (++l->regs == l->fail_at)
			return -ENOSPC;
		if (l->shadow)
			vtop_mem_map_set_translation(l->shadow,
						     (uintptr_t)vaddr, size, 1);
	} else if (l->shadow) {
		vtop_mem_map_clear_translation(l->shadow, (uintptr_t)vaddr,
					       size);
	}
	return 0;
}

static const struct vtop_mem_map_ops log_ops = { .notify_cb = log_cb };

TEST_F(spdk, adjacent_replay_2_1_3_2_1_1)
{
	static const int units[] = { 2, 1, 3, 2, 1, 1 };
	struct logger *l = calloc(1, sizeof(*l));
	struct vtop_mem_map *m;
	char *start[6], *p = self->buf;
	int i;

	ASSERT_NE(NULL, l);
	for (i = 0; i < 6; i++) {
		start[i] = p;
		ASSERT_EQ(0, vtop_mem_register(p, units[i] * PG))
			TH_LOG("%s", vtop_last_error());
		p += units[i] * PG;
	}
	EXPECT_EQ(6, lib_pins());
	EXPECT_VTOPHYS(self->buf, 10 * PG);
	m = vtop_mem_map_alloc(0, &log_ops, l);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(6, l->count);
	for (i = 0; i < 6; i++) {
		EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_REGISTER, l->n[i].action);
		EXPECT_EQ(start[i], l->n[i].va);
		EXPECT_EQ(units[i] * PG, l->n[i].len);
	}
	/* one call over everything: UNREGISTER per original piece */
	l->count = 0;
	EXPECT_EQ(0, vtop_mem_unregister(self->buf, 10 * PG));
	ASSERT_EQ(6, l->count);
	for (i = 0; i < 6; i++) {
		EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_UNREGISTER, l->n[i].action);
		EXPECT_EQ(start[i], l->n[i].va);
		EXPECT_EQ(units[i] * PG, l->n[i].len);
	}
	EXPECT_EQ(0, lib_pins());
	vtop_mem_map_free(&m);
	EXPECT_EQ(NULL, m);
	free(l);
	VT_EXPECT_NO_LEAK(self->snap);
}

/* A failing replay: the map is freed and no translation stays behind. */
TEST_F(spdk, map_alloc_replay_fails)
{
	struct logger *l = calloc(1, sizeof(*l));
	struct vtop_mem_map *m;
	int i;

	ASSERT_NE(NULL, l);
	l->shadow = vtop_mem_map_alloc(0, NULL, NULL);
	ASSERT_NE(NULL, l->shadow);
	l->fail_at = 3;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, vtop_mem_register(self->buf + i * 4 * PG, 2 * PG));
	errno = 0;
	m = vtop_mem_map_alloc(0, &log_ops, l);
	EXPECT_EQ(NULL, m);
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(5, l->count);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_UNREGISTER, l->n[3].action);
	EXPECT_EQ(self->buf + 4 * PG, l->n[3].va);
	EXPECT_EQ(self->buf, l->n[4].va);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, vtop_mem_map_translate(l->shadow,
				(uintptr_t)self->buf + i * 4 * PG, NULL));
	/* the registrations are untouched */
	EXPECT_EQ(4, lib_pins());
	EXPECT_VTOPHYS(self->buf + 8 * PG, 2 * PG);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, vtop_mem_unregister(self->buf + i * 4 * PG,
						 2 * PG));
	vtop_mem_map_free(&l->shadow);
	free(l);
	VT_EXPECT_NO_LEAK(self->snap);
}

/* A failing REGISTER leaves nothing registered and nothing pinned. */
TEST_F(spdk, register_cb_fails_unpins)
{
	struct logger *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct vtop_mem_map *ma, *mb;
	struct vtop_info info = { .size = sizeof(info) };

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	b->fail_at = 1;
	ma = vtop_mem_map_alloc(0, &log_ops, a);
	mb = vtop_mem_map_alloc(0, &log_ops, b);
	ASSERT_NE(NULL, ma);
	ASSERT_NE(NULL, mb);
	EXPECT_EQ(-ENOSPC, vtop_mem_register(self->buf, NPAGES * PG));
	ASSERT_EQ(2, a->count);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_REGISTER, a->n[0].action);
	EXPECT_EQ(VTOP_MEM_MAP_NOTIFY_UNREGISTER, a->n[1].action);
	EXPECT_EQ(1, b->count);
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(0, info.nr_pins);
	EXPECT_EQ(0, info.pinned_bytes);
	EXPECT_EQ(0, stats().nr_registrations);
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf, NULL));
	VT_EXPECT_NO_LEAK(self->snap);
	/* and it registers once the callback stops failing */
	b->fail_at = 0;
	EXPECT_EQ(0, vtop_mem_register(self->buf, NPAGES * PG));
	EXPECT_EQ(1, lib_pins());
	vtop_mem_map_free(&ma);
	vtop_mem_map_free(&mb);
	EXPECT_EQ(0, vtop_mem_unregister(self->buf, NPAGES * PG));
	free(a);
	free(b);
	VT_EXPECT_NO_LEAK(self->snap);
}

/* Memory the kernel cannot pin for writing: -EFAULT, nothing left. */
TEST_F(spdk, unpinnable_efault)
{
	ASSERT_EQ(0, mprotect(self->buf + 2 * PG, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, vtop_mem_register(self->buf, 4 * PG));
	ASSERT_EQ(0, munmap(self->buf + 6 * PG, PG));
	EXPECT_EQ(-EFAULT, vtop_mem_register(self->buf + 4 * PG, 4 * PG));
	EXPECT_EQ(0, lib_pins());
	EXPECT_EQ(0, stats().nr_registrations);
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(self->buf, NULL));
	VT_EXPECT_NO_LEAK(self->snap);
	/* the rest still registers */
	EXPECT_EQ(0, vtop_mem_register(self->buf + 8 * PG, 8 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(self->buf + 8 * PG, 8 * PG));
}

/*
 * The pins belong to the parent: a forked child's environment is marked
 * inherited (since 0.3: -ECHILD from the library itself, before the
 * kernel's -EACCES).
 */
TEST_F(spdk, fork_child_echild)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, vtop_mem_register(self->buf, 4 * PG));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int rc = vtop_mem_register(self->buf + 8 * PG, PG);

		_exit(rc == -ECHILD && strstr(vtop_last_error(), "fork") ?
		      0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(1, lib_pins());
	EXPECT_VTOPHYS(self->buf, 4 * PG);
	EXPECT_EQ(0, vtop_mem_unregister(self->buf, 4 * PG));
}

/*
 * vtop_mem_register_ex(VTOP_MEM_REGISTER_READONLY) (since 0.4): a
 * read-only file mapping registers (pinned without FOLL_WRITE) where
 * vtop_mem_register() gets -EFAULT, and its addresses are the page
 * cache's pages.
 */
TEST_F(spdk, readonly_file_mapping)
{
	char path[] = "/tmp/libvtop-ro-XXXXXX", why[256] = "";
	size_t len = 8 * PG;
	char *page, *ro;
	int fd;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	page = calloc(1, len);
	ASSERT_NE(NULL, page);
	memset(page, 0x5a, len);
	ASSERT_EQ((ssize_t)len, write(fd, page, len));
	free(page);
	ro = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, vtop_mem_register(ro, len));
	EXPECT_EQ(0, lib_pins());
	ASSERT_EQ(0, vtop_mem_register_ex(ro, len,
					  VTOP_MEM_REGISTER_READONLY))
		TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(1, lib_pins());
	EXPECT_EQ(0, check_vtophys(ro, len, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(0x5a, (unsigned char)ro[len - 1]);
	EXPECT_EQ(0, vtop_mem_unregister(ro, len));
	EXPECT_EQ(0, lib_pins());
	/* a private read-only mapping too, without copying its pages */
	munmap(ro, len);
	ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, vtop_mem_register_ex(ro, len,
					  VTOP_MEM_REGISTER_READONLY))
		TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(0, check_vtophys(ro, len, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(0, vtop_mem_unregister(ro, len));
	EXPECT_EQ(-EINVAL, vtop_mem_register_ex(ro, len, 1U << 7));
	EXPECT_EQ(0, lib_pins());
	munmap(ro, len);
	close(fd);
	VT_EXPECT_NO_LEAK(self->snap);
}

/* VTOP_MEM_REGISTER_DONTFORK: a child has no mapping there, until unregistered. */
TEST_F(spdk, register_dontfork)
{
	int status, i;
	pid_t pid;

	ASSERT_EQ(0, vtop_mem_register_ex(self->buf + PG, 2 * PG,
					  VTOP_MEM_REGISTER_DONTFORK));
	for (i = 0; i < 2; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			(void)*(volatile char *)(self->buf + 2 * PG);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!i) {
			EXPECT_TRUE(WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGSEGV);
			EXPECT_EQ(0, vtop_mem_unregister(self->buf + PG,
							 2 * PG));
		} else {
			EXPECT_TRUE(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0);
		}
	}
	EXPECT_EQ(0, lib_pins());
}

/* malloc()ed memory, as a user would register it. */
TEST(malloc_buffer)
{
	size_t len = 32 * PG;
	char *buf;
	int rc;

	buf = aligned_alloc(PG, len);
	ASSERT_NE(NULL, buf);
	memset(buf, 0xa5, len);
	rc = vtop_mem_register(buf, len);
	if (rc == -ENOENT && access("/sys/module/vtop", F_OK))
		SKIP(return, "vtop module not loaded");
	ASSERT_EQ(0, rc) TH_LOG("%s", vtop_last_error());
	EXPECT_VTOPHYS(buf, len);
	/* the data is untouched by pinning */
	EXPECT_EQ(0xa5, (unsigned char)buf[len - 1]);
	EXPECT_EQ(0, vtop_mem_unregister(buf, len));
	vtop_env_fini();
	free(buf);
}

TEST_HARNESS_MAIN
