// SPDX-License-Identifier: GPL-2.0-only
/*
 * PIN, GET_SEGS and UNPIN on 4 KiB anonymous pages, THP and 2 MiB hugetlb
 * pages: every DMA address equals the PFN /proc/self/pagemap shows, the
 * segment list is exactly the one pagemap and kpageflags predict (pages
 * coalesced where physically contiguous, split where not or where the
 * folio size changes), and the pin counters balance.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kernel-page-flags.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#define MiB	(1UL << 20)

FIXTURE(pin) {
	int fd;
	char *buf;
	size_t len;
	struct vt_snap base;
};

FIXTURE_VARIANT(pin) {
	enum vt_kind kind;
	size_t len;
	bool reverse;	/* fault the pages in from the last to the first */
};

FIXTURE_VARIANT_ADD(pin, anon_4k) {
	.kind = VT_KIND_4K,
	.len = 1 * MiB,
};

/*
 * Faulted in backwards, neighbouring pages usually get descending PFNs:
 * many segments that must not be merged.
 */
FIXTURE_VARIANT_ADD(pin, anon_4k_reverse) {
	.kind = VT_KIND_4K,
	.len = 1 * MiB,
	.reverse = true,
};

FIXTURE_VARIANT_ADD(pin, thp) {
	.kind = VT_KIND_THP,
	.len = 4 * MiB,
};

FIXTURE_VARIANT_ADD(pin, hugetlb_2m) {
	.kind = VT_KIND_HUGETLB,
	.len = 4 * MiB,
};

FIXTURE_SETUP(pin)
{
	void *p = NULL;
	int ret;

	self->fd = -1;
	self->buf = NULL;
	self->len = variant->len;
	ASSERT_EQ(0, vt_snap(&self->base));
	VT_OPEN_OR_SKIP(self->fd);
	if (variant->reverse) {
		ret = vt_buf_map(variant->kind, variant->len, false, &p);
		if (!ret) {
			size_t off = variant->len;

			while (off) {
				off -= VT_PAGE_SIZE;
				((volatile char *)p)[off] = 1;
			}
		}
	} else {
		ret = vt_buf_alloc(variant->kind, variant->len, &p);
	}
	if (ret == -EOPNOTSUPP)
		SKIP(return, "the kernel gave no %s memory",
		     vt_kind_name(variant->kind));
	ASSERT_EQ(0, ret) TH_LOG("%s buffer: %s", vt_kind_name(variant->kind),
				 strerror(-ret));
	self->buf = p;
}

FIXTURE_TEARDOWN(pin)
{
	if (self->fd >= 0)
		close(self->fd);
	vt_buf_free(self->buf, self->len);
	if (self->fd >= 0)
		VT_EXPECT_NO_LEAK(self->base);
}

static unsigned int want_shift(const FIXTURE_VARIANT(pin) *variant)
{
	return variant->kind == VT_KIND_4K ? VT_PAGE_SHIFT : VT_HPAGE_SHIFT;
}

/* no two neighbours could have been merged */
static void expect_maximal(struct __test_metadata *_metadata,
			   const struct vtop_segment *s, uint32_t nr)
{
	uint32_t i;

	for (i = 1; i < nr; i++)
		EXPECT_FALSE(s[i - 1].dma_addr + s[i - 1].len == s[i].dma_addr &&
			     s[i - 1].page_shift == s[i].page_shift)
			TH_LOG("segments %u and %u are contiguous, not merged",
			       i - 1, i);
}

/* the kind's page size behind every segment */
static void expect_kind(struct __test_metadata *_metadata,
			const FIXTURE_VARIANT(pin) *variant,
			const struct vtop_segment *s, uint32_t nr)
{
	uint64_t gran = 1ULL << want_shift(variant);
	uint32_t i;

	for (i = 0; i < nr; i++) {
		EXPECT_EQ(want_shift(variant), s[i].page_shift)
			TH_LOG("segment %u", i);
		EXPECT_EQ(0ULL, s[i].len % gran) TH_LOG("segment %u", i);
		EXPECT_EQ(0ULL, s[i].dma_addr % gran) TH_LOG("segment %u", i);
		EXPECT_EQ(0ULL, s[i].vaddr % gran) TH_LOG("segment %u", i);
	}
}

/* INFO of the fd and the counters with @npins pins of @bytes */
static void expect_pinned(struct __test_metadata *_metadata,
			  FIXTURE_DATA(pin) *self, uint32_t npins,
			  uint64_t bytes)
{
	struct vtop_info info;
	struct vt_snap now;

	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(npins, info.nr_pins);
	EXPECT_EQ(bytes, info.pinned_bytes);
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(self->base.foll_pins + (int64_t)(bytes / VT_PAGE_SIZE),
		  now.foll_pins);
	EXPECT_EQ(self->base.vmpin_kb + bytes / 1024, now.vmpin_kb);
	EXPECT_EQ(now.vmpin_kb * 1024, info.mm_pinned_bytes);
}

TEST_F(pin, segments_match_pagemap)
{
	struct vtop_segment *segs;
	uint32_t nr;
	uint64_t handle;

	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &segs,
				  &nr, &handle));
	EXPECT_NE(0ULL, (unsigned long long)handle);
	VT_EXPECT_SEGS(segs, nr, self->buf, self->len);
	expect_kind(_metadata, variant, segs, nr);
	expect_maximal(_metadata, segs, nr);
	expect_pinned(_metadata, self, 1, self->len);
	TH_LOG("%s: %zu bytes in %u segments", vt_kind_name(variant->kind),
	       self->len, nr);

	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	expect_pinned(_metadata, self, 0, 0);
	EXPECT_EQ(-ENOENT, vt_unpin(self->fd, handle));
	free(segs);
}

/* a pin of part of the buffer: part of one huge page, across two */
TEST_F(pin, sub_range)
{
	size_t off[] = { VT_PAGE_SIZE, self->len / 2 - 3 * VT_PAGE_SIZE,
			 self->len - 5 * VT_PAGE_SIZE };
	size_t len[] = { 3 * VT_PAGE_SIZE, 7 * VT_PAGE_SIZE, 5 * VT_PAGE_SIZE };
	struct vtop_segment segs[8];
	uint64_t handle;
	unsigned int i;
	uint32_t nr;

	for (i = 0; i < 3; i++) {
		nr = 8;
		ASSERT_EQ(0, vt_pin(self->fd, self->buf + off[i], len[i], 0,
				    segs, &nr, &handle));
		VT_EXPECT_SEGS(segs, nr, self->buf + off[i], len[i]);
		expect_maximal(_metadata, segs, nr);
		if (variant->kind != VT_KIND_4K)
			EXPECT_EQ(VT_HPAGE_SHIFT, segs[0].page_shift);
		expect_pinned(_metadata, self, 1, len[i]);
		ASSERT_EQ(0, vt_unpin(self->fd, handle));
	}
}

/* the segments GET_SEGS reports for [off, off + len) of a pin */
static uint32_t clip(const struct vtop_segment *in, uint32_t nr, uint64_t base,
		     uint64_t off, uint64_t len, struct vtop_segment *out)
{
	uint64_t start = base + off, end = base + off + len;
	uint32_t i, n = 0;

	for (i = 0; i < nr; i++) {
		uint64_t s = in[i].vaddr, e = in[i].vaddr + in[i].len;

		if (e <= start || s >= end)
			continue;
		if (s < start)
			s = start;
		if (e > end)
			e = end;
		out[n] = in[i];
		out[n].vaddr = s;
		out[n].dma_addr = in[i].dma_addr + (s - in[i].vaddr);
		out[n].len = e - s;
		n++;
	}
	return n;
}

TEST_F(pin, get_segs)
{
	uint64_t pages = self->len / VT_PAGE_SIZE, handle, base;
	struct vtop_segment *segs, *got, *want;
	uint64_t sub[][2] = {	/* offset, length in pages */
		{ 0, 0 }, { 0, pages }, { 1, 1 }, { 3, 9 },
		{ pages / 2 - 1, 2 }, { pages / 2, 0 }, { pages - 1, 1 },
		{ pages - 1, 0 },
	};
	unsigned int i;
	uint32_t nr, n, wn;

	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &segs,
				  &nr, &handle));
	base = (uintptr_t)self->buf;
	got = calloc(pages, sizeof(*got));
	want = calloc(pages, sizeof(*want));
	ASSERT_NE(NULL, got);
	ASSERT_NE(NULL, want);

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		uint64_t off = sub[i][0] * VT_PAGE_SIZE;
		uint64_t len = sub[i][1] * VT_PAGE_SIZE;
		uint64_t eff = len ? len : self->len - off;

		memset(got, 0xff, pages * sizeof(*got));
		n = pages;
		ASSERT_EQ(0, vt_get_segs(self->fd, handle, off, len, got, &n))
			TH_LOG("offset 0x%llx length 0x%llx",
			       (unsigned long long)off, (unsigned long long)len);
		wn = clip(segs, nr, base, off, eff, want);
		EXPECT_EQ(wn, n) TH_LOG("offset 0x%llx length 0x%llx",
					(unsigned long long)off,
					(unsigned long long)len);
		if (wn == n)
			EXPECT_EQ(0, memcmp(want, got, n * sizeof(*got)))
				TH_LOG("offset 0x%llx length 0x%llx differs",
				       (unsigned long long)off,
				       (unsigned long long)len);
		VT_EXPECT_SEGS(got, n, base + off, eff);

		/* too small an array: -ENOBUFS and the count */
		n = 0;
		EXPECT_EQ(-ENOBUFS, vt_get_segs(self->fd, handle, off, len,
						got, &n));
		EXPECT_EQ(wn, n);
		if (wn > 1) {
			n = wn - 1;
			EXPECT_EQ(-ENOBUFS, vt_get_segs(self->fd, handle, off,
							len, got, &n));
			EXPECT_EQ(wn, n);
		}
	}

	/* out of the pin or unaligned: -EINVAL */
	n = pages;
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, 1, 0, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, VT_PAGE_SIZE / 2,
				       VT_PAGE_SIZE, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, 0, 100, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, self->len, 0, got,
				       &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, self->len,
				       VT_PAGE_SIZE, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, 0,
				       self->len + VT_PAGE_SIZE, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, VT_PAGE_SIZE,
				       self->len, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle, VT_PAGE_SIZE,
				       (uint64_t)-VT_PAGE_SIZE, got, &n));
	EXPECT_EQ(-EINVAL, vt_get_segs(self->fd, handle,
				       (uint64_t)-VT_PAGE_SIZE,
				       2 * VT_PAGE_SIZE, got, &n));
	/* no such pin */
	EXPECT_EQ(-ENOENT, vt_get_segs(self->fd, handle + 1, 0, 0, got, &n));
	EXPECT_EQ(-ENOENT, vt_get_segs(self->fd, 0, 0, 0, got, &n));

	/* GET_SEGS pinned nothing more */
	expect_pinned(_metadata, self, 1, self->len);
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	n = pages;
	EXPECT_EQ(-ENOENT, vt_get_segs(self->fd, handle, 0, 0, got, &n));
	expect_pinned(_metadata, self, 0, 0);
	free(got);
	free(want);
	free(segs);
}

/* -ENOBUFS reports the count needed and leaves nothing pinned */
TEST_F(pin, enobufs)
{
	struct vtop_segment *segs;
	uint32_t cap = self->len / VT_PAGE_SIZE, nr, need0, need1 = 0;
	uint64_t handle = 0;

	segs = calloc(cap, sizeof(*segs));
	ASSERT_NE(NULL, segs);

	need0 = 0;
	EXPECT_EQ(-ENOBUFS, vt_pin(self->fd, self->buf, self->len, 0, segs,
				   &need0, &handle));
	EXPECT_LE(1U, need0);
	expect_pinned(_metadata, self, 0, 0);
	if (need0 > 1) {
		need1 = need0 - 1;
		EXPECT_EQ(-ENOBUFS, vt_pin(self->fd, self->buf, self->len, 0,
					   segs, &need1, &handle));
		EXPECT_EQ(need0, need1);
		expect_pinned(_metadata, self, 0, 0);
	}

	nr = need0;
	ASSERT_EQ(0, vt_pin(self->fd, self->buf, self->len, 0, segs, &nr,
			    &handle));
	EXPECT_EQ(need0, nr);
	VT_EXPECT_SEGS(segs, nr, self->buf, self->len);
	expect_pinned(_metadata, self, 1, self->len);
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	expect_pinned(_metadata, self, 0, 0);
	free(segs);
}

/* PIN and GET_SEGS with the PARTIAL flags: raw ioctls, every field out */
static int pin_partial(int fd, const void *addr, size_t len,
		       struct vtop_segment *segs, uint32_t *nr, uint64_t *h)
{
	struct vtop_pin p = {
		.size = sizeof(p), .flags = VTOP_PIN_PARTIAL,
		.vaddr = (uintptr_t)addr, .length = len,
		.segs = (uintptr_t)segs, .nr_segs = *nr,
	};
	int ret = vt_ioctl(fd, VTOP_IOC_PIN, &p);

	*nr = p.nr_segs;
	*h = p.handle;
	return ret;
}

static int get_segs_partial(int fd, uint64_t h, uint64_t off, uint64_t len,
			    struct vtop_segment *segs, uint32_t *nr)
{
	struct vtop_get_segs g = {
		.size = sizeof(g), .flags = VTOP_GET_SEGS_PARTIAL,
		.handle = h, .offset = off, .length = len,
		.segs = (uintptr_t)segs, .nr_segs = *nr,
	};
	int ret = vt_ioctl(fd, VTOP_IOC_GET_SEGS, &g);

	*nr = g.nr_segs;
	return ret;
}

static bool have_partial(int fd)
{
	struct vtop_info info;

	return !vt_info(fd, &info) && (info.features & VTOP_FEATURE_PARTIAL);
}

/*
 * VTOP_PIN_PARTIAL: a segment array too short (even empty) pins anyway,
 * writes what fits and returns the total; GET_SEGS with
 * VTOP_GET_SEGS_PARTIAL pages through the rest in chunks of any size,
 * and the pages put together are the list a big enough array gets.
 */
TEST_F(pin, partial_paging)
{
	const uint32_t chunks[] = { 0, 1, 3 };
	struct vtop_segment *full, *all, *chunk;
	uint32_t total, nr, got, c, k;
	uint64_t h, base = (uintptr_t)self->buf;

	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &full,
				  &total, &h));
	ASSERT_EQ(0, vt_unpin(self->fd, h));
	ASSERT_TRUE(have_partial(self->fd));
	all = calloc(total + 1, sizeof(*all));
	chunk = calloc(total + 8, sizeof(*chunk));
	ASSERT_NE(NULL, all);
	ASSERT_NE(NULL, chunk);

	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		uint64_t off;

		memset(chunk, 0xa5, (total + 8) * sizeof(*chunk));
		nr = chunks[c];
		h = 0;
		ASSERT_EQ(0, pin_partial(self->fd, self->buf, self->len,
					 chunks[c] ? chunk : NULL, &nr, &h))
			TH_LOG("chunk %u", chunks[c]);
		EXPECT_NE(0ULL, (unsigned long long)h);
		expect_pinned(_metadata, self, 1, self->len);
		/* the total may differ from the first pin's (new pages) */
		got = nr < chunks[c] ? nr : chunks[c];
		memcpy(all, chunk, got * sizeof(*all));
		/* nothing written past the capacity */
		EXPECT_EQ(0xa5, ((unsigned char *)&chunk[chunks[c]])[0]);
		total = nr;
		all = realloc(all, (total + 1) * sizeof(*all));
		ASSERT_NE(NULL, all);

		/* the rest, a chunk at a time */
		off = got ? all[got - 1].vaddr + all[got - 1].len - base : 0;
		while (off < self->len) {
			uint32_t cap = chunks[c] ? chunks[c] : 2;

			nr = cap;
			ASSERT_EQ(0, get_segs_partial(self->fd, h, off, 0,
						      chunk, &nr));
			ASSERT_LE(1U, nr);
			/* the sub-range has as many as the whole has left */
			ASSERT_EQ(total - got, nr) TH_LOG("offset 0x%llx",
						   (unsigned long long)off);
			k = nr < cap ? nr : cap;
			memcpy(all + got, chunk, k * sizeof(*all));
			got += k;
			off = all[got - 1].vaddr + all[got - 1].len - base;
		}
		ASSERT_EQ(total, got);
		VT_EXPECT_SEGS(all, got, self->buf, self->len);
		expect_maximal(_metadata, all, got);
		if (c == 0 && total == got)
			EXPECT_EQ(0, memcmp(full, all, got * sizeof(*all)));

		/* an empty array: the count, nothing written, no error */
		nr = 0;
		EXPECT_EQ(0, get_segs_partial(self->fd, h, 0, 0, NULL, &nr));
		EXPECT_EQ(total, nr);
		/* the errors are those of GET_SEGS */
		nr = 1;
		EXPECT_EQ(-ENOENT, get_segs_partial(self->fd, h + 1, 0, 0,
						    chunk, &nr));
		EXPECT_EQ(-ENOENT, get_segs_partial(self->fd, 0, 0, 0,
						    chunk, &nr));
		EXPECT_EQ(-EINVAL, get_segs_partial(self->fd, h, self->len, 0,
						    chunk, &nr));
		EXPECT_EQ(-EINVAL, get_segs_partial(self->fd, h,
						    VT_PAGE_SIZE / 2, 0,
						    chunk, &nr));
		EXPECT_EQ(-EINVAL, get_segs_partial(self->fd, h, 0,
						    self->len + VT_PAGE_SIZE,
						    chunk, &nr));
		/* an unwritable array with room for one: -EFAULT, still pinned */
		nr = 1;
		EXPECT_EQ(-EFAULT, get_segs_partial(self->fd, h, 0, 0,
						    (void *)8, &nr));
		expect_pinned(_metadata, self, 1, self->len);
		ASSERT_EQ(0, vt_unpin(self->fd, h));
		nr = 1;
		EXPECT_EQ(-ENOENT, get_segs_partial(self->fd, h, 0, 0, chunk,
						    &nr));
		expect_pinned(_metadata, self, 0, 0);
	}

	/* PIN_PARTIAL whose array cannot be written: -EFAULT, nothing kept */
	nr = 1;
	EXPECT_EQ(-EFAULT, pin_partial(self->fd, self->buf, self->len,
				       (void *)8, &nr, &h));
	expect_pinned(_metadata, self, 0, 0);
	free(full);
	free(all);
	free(chunk);
}

/*
 * The kernel rewrites @size to min(size, known) on return (documented in
 * the uapi header): a larger struct with a zero tail comes back with the
 * size the module knows, and that value works for the next call.
 */
TEST_F(pin, size_written_back)
{
	struct {
		struct vtop_pin p;
		uint64_t tail[2];
	} big;
	struct vtop_segment segs[2];
	uint64_t h;

	memset(&big, 0, sizeof(big));
	big.p.size = sizeof(big);
	big.p.flags = VTOP_PIN_PARTIAL;
	big.p.vaddr = (uintptr_t)self->buf;
	big.p.length = VT_PAGE_SIZE;
	big.p.segs = (uintptr_t)segs;
	big.p.nr_segs = 2;
	ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_PIN, &big));
	EXPECT_EQ(sizeof(struct vtop_pin), big.p.size);
	EXPECT_EQ(0ULL, big.tail[0]);
	EXPECT_EQ(0ULL, big.tail[1]);
	h = big.p.handle;
	/* the same struct again, size as returned */
	big.p.handle = 0;
	ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_PIN, &big.p));
	ASSERT_EQ(0, vt_unpin(self->fd, big.p.handle));
	ASSERT_EQ(0, vt_unpin(self->fd, h));
}

/* the pinned pages stay put: writing them moves nothing */
TEST_F(pin, stable_after_write)
{
	struct vtop_segment *segs, *again;
	uint32_t nr, n;
	uint64_t handle;

	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &segs,
				  &nr, &handle));
	memset(self->buf, 0xa5, self->len);
	VT_EXPECT_SEGS(segs, nr, self->buf, self->len);
	again = calloc(nr, sizeof(*again));
	ASSERT_NE(NULL, again);
	n = nr;
	ASSERT_EQ(0, vt_get_segs(self->fd, handle, 0, 0, again, &n));
	ASSERT_EQ(nr, n);
	EXPECT_EQ(0, memcmp(segs, again, nr * sizeof(*segs)));
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	free(again);
	free(segs);
}

/* several pins of overlapping ranges are independent */
TEST_F(pin, overlapping_pins)
{
	struct vtop_segment *a, *b;
	uint32_t na, nb;
	uint64_t ha, hb;

	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &a, &na,
				  &ha));
	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len / 2, 0, &b,
				  &nb, &hb));
	EXPECT_NE(ha, hb);
	expect_pinned(_metadata, self, 2, self->len + self->len / 2);
	ASSERT_EQ(0, vt_unpin(self->fd, ha));
	expect_pinned(_metadata, self, 1, self->len / 2);
	VT_EXPECT_SEGS(b, nb, self->buf, self->len / 2);
	ASSERT_EQ(0, vt_unpin(self->fd, hb));
	expect_pinned(_metadata, self, 0, 0);
	free(a);
	free(b);
}

/*
 * The same pages pinned twice on one fd attached to a device
 * ($VTOP_TEST_PCI): two DMA mappings of the same memory. Both pins must
 * work and report the device's addresses, and (under DMA_API_DEBUG, the
 * debug lane) the kernel must not warn about the overlapping mappings.
 */
TEST_F(pin, overlapping_pins_attached)
{
	const char *env = getenv("VTOP_TEST_PCI");
	struct vtop_segment *a, *b;
	struct vtop_attach at;
	unsigned int d, bus, sl, fn;
	uint32_t na, nb, i;
	uint64_t ha, hb, da, db;

	if (!env || !*env)
		SKIP(return, "no device: set VTOP_TEST_PCI=dddd:bb:ss.f");
	ASSERT_EQ(4, sscanf(env, "%x:%x:%x.%x", &d, &bus, &sl, &fn));
	at = (struct vtop_attach){
		.size = sizeof(at), .pci_domain = d,
		.pci_bdf = bus << 8 | sl << 3 | fn,
	};
	ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_ATTACH, &at));
	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &a, &na,
				  &ha));
	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len, 0, &b, &nb,
				  &hb));
	EXPECT_NE(ha, hb);
	expect_pinned(_metadata, self, 2, 2 * self->len);
	/* Each pin covers the buffer, in order, whatever its IOVAs are. */
	for (da = db = 0, i = 0; i < na; i++)
		da += a[i].len;
	for (i = 0; i < nb; i++)
		db += b[i].len;
	EXPECT_EQ(self->len, da);
	EXPECT_EQ(self->len, db);
	EXPECT_EQ((uintptr_t)self->buf, a[0].vaddr);
	EXPECT_EQ((uintptr_t)self->buf, b[0].vaddr);
	ASSERT_EQ(0, vt_unpin(self->fd, ha));
	ASSERT_EQ(0, vt_unpin(self->fd, hb));
	expect_pinned(_metadata, self, 0, 0);
	free(a);
	free(b);
}

/* READONLY pins a PROT_READ mapping; a writable pin of it is -EFAULT */
TEST_F(pin, readonly)
{
	struct vtop_segment *segs;
	uint32_t nr;
	uint64_t handle;

	/* a writable mapping may be pinned READONLY too */
	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len,
				  VTOP_PIN_READONLY, &segs, &nr, &handle));
	VT_EXPECT_SEGS(segs, nr, self->buf, self->len);
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	free(segs);

	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));
	ASSERT_EQ(-EFAULT, vt_pin_alloc(self->fd, self->buf, self->len, 0,
					&segs, &nr, &handle));
	expect_pinned(_metadata, self, 0, 0);
	/* only the last page read-only: still nothing left behind */
	ASSERT_EQ(0, mprotect(self->buf, self->len - VT_PAGE_SIZE *
			      (variant->kind == VT_KIND_4K ? 1 : 512),
			      PROT_READ | PROT_WRITE));
	ASSERT_EQ(-EFAULT, vt_pin_alloc(self->fd, self->buf, self->len, 0,
					&segs, &nr, &handle));
	expect_pinned(_metadata, self, 0, 0);
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));

	ASSERT_EQ(0, vt_pin_alloc(self->fd, self->buf, self->len,
				  VTOP_PIN_READONLY, &segs, &nr, &handle));
	VT_EXPECT_SEGS(segs, nr, self->buf, self->len);
	expect_kind(_metadata, variant, segs, nr);
	expect_pinned(_metadata, self, 1, self->len);
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	expect_pinned(_metadata, self, 0, 0);
	free(segs);
}

/* memory never touched is faulted in by the pin; addresses still match */
TEST_F(pin, untouched)
{
	struct vtop_segment *segs;
	uint32_t nr;
	uint64_t handle;
	void *p;

	ASSERT_EQ(0, vt_buf_map(variant->kind, self->len, false, &p));
	ASSERT_EQ(0, vt_pin_alloc(self->fd, p, self->len, 0, &segs, &nr,
				  &handle));
	VT_EXPECT_SEGS(segs, nr, p, self->len);
	expect_pinned(_metadata, self, 1, self->len);
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	free(segs);
	vt_buf_free(p, self->len);
}

/* pages of [p, p + len) that map the shared zero page */
static size_t zero_pages(const char *p, size_t len)
{
	uint64_t pfn, flags;
	size_t off, n = 0;

	for (off = 0; off < len; off += VT_PAGE_SIZE)
		if (!vt_pagemap_pfn((uintptr_t)p + off, &pfn) &&
		    !vt_kpageflags(pfn, &flags) &&
		    (flags & (1ULL << KPF_ZERO_PAGE)))
			n++;
	return n;
}

/*
 * READONLY pin of untouched PROT_READ memory. Before 6.2 the kernel pins
 * the shared zero page for it (no unsharing of the zero page on a R/O
 * long-term pin); the addresses must still be what pagemap shows, and
 * kernels that never count zero-page pins in nr_foll_pin_* may leave those
 * out of the balance.
 */
TEST_F(pin, untouched_readonly)
{
	struct vtop_segment *segs;
	struct vtop_info info;
	struct vt_snap now;
	int64_t pages, delta;
	size_t zeros;
	uint32_t nr;
	uint64_t handle;
	void *p;

	ASSERT_EQ(0, vt_buf_map(variant->kind, self->len, false, &p));
	ASSERT_EQ(0, mprotect(p, self->len, PROT_READ));
	ASSERT_EQ(0, vt_pin_alloc(self->fd, p, self->len, VTOP_PIN_READONLY,
				  &segs, &nr, &handle));
	VT_EXPECT_SEGS(segs, nr, p, self->len);
	zeros = zero_pages(p, self->len);
	if (zeros)
		TH_LOG("%zu of %zu pages pinned are the shared zero page",
		       zeros, self->len / VT_PAGE_SIZE);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(1U, info.nr_pins);
	EXPECT_EQ((unsigned long long)self->len, info.pinned_bytes);
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(self->base.vmpin_kb + self->len / 1024, now.vmpin_kb);
	pages = self->len / VT_PAGE_SIZE;
	delta = now.foll_pins - self->base.foll_pins;
	EXPECT_TRUE(delta == pages || delta == pages - (int64_t)zeros)
		TH_LOG("%lld pages counted pinned, %lld pinned (%zu zero)",
		       (long long)delta, (long long)pages, zeros);
	ASSERT_EQ(0, vt_unpin(self->fd, handle));
	free(segs);
	vt_buf_free(p, self->len);
}

/*
 * One pin across three VMAs: 4 KiB pages, a 2 MiB hugetlb page, 4 KiB
 * pages. Segments must break where the page size changes.
 */
TEST(mixed_page_sizes)
{
	const size_t edge = 16 * VT_PAGE_SIZE;
	struct vtop_segment *segs;
	struct vt_snap base;
	char *area, *huge, *hp;
	uint64_t handle;
	uint32_t nr, i;
	int fd;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	area = mmap(NULL, 3 * VT_HPAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, madvise(area, 3 * VT_HPAGE_SIZE, MADV_NOHUGEPAGE));
	huge = (char *)(((uintptr_t)area + VT_HPAGE_SIZE - 1) &
			~(VT_HPAGE_SIZE - 1));
	if (huge - area < (long)edge)
		huge += VT_HPAGE_SIZE;
	hp = mmap(huge, VT_HPAGE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED |
		  (21 << MAP_HUGE_SHIFT), -1, 0);
	if (hp == MAP_FAILED) {
		munmap(area, 3 * VT_HPAGE_SIZE);
		close(fd);
		SKIP(return, "no free 2 MiB hugetlb page");
	}
	ASSERT_EQ(huge, hp);
	memset(huge - edge, 1, edge + VT_HPAGE_SIZE + edge);

	ASSERT_EQ(0, vt_pin_alloc(fd, huge - edge, edge + VT_HPAGE_SIZE + edge,
				  0, &segs, &nr, &handle));
	VT_EXPECT_SEGS(segs, nr, huge - edge, edge + VT_HPAGE_SIZE + edge);
	for (i = 0; i < nr; i++) {
		int in_huge = segs[i].vaddr >= (uintptr_t)huge &&
			      segs[i].vaddr < (uintptr_t)huge + VT_HPAGE_SIZE;

		EXPECT_EQ(in_huge ? VT_HPAGE_SHIFT : VT_PAGE_SHIFT,
			  segs[i].page_shift) TH_LOG("segment %u", i);
		if (in_huge) {
			EXPECT_EQ((uintptr_t)huge, segs[i].vaddr);
			EXPECT_EQ((unsigned long long)VT_HPAGE_SIZE, segs[i].len);
		}
	}
	ASSERT_EQ(0, vt_unpin(fd, handle));
	free(segs);
	close(fd);
	munmap(area, 3 * VT_HPAGE_SIZE);
	VT_EXPECT_NO_LEAK(base);
}

/*
 * The segment count around what PIN's counting pass keeps (8 segments: one
 * is kept in the pin itself, up to 8 are copied, more are built from the
 * starts the count marked). One shmem page mapped k times in a row gives
 * exactly k segments (the same pfn never follows on), whatever the
 * physical memory looks like. For each k: the -ENOBUFS probe says k, the
 * PIN's segments and GET_SEGS of the whole pin and of its second half are
 * those pagemap predicts, a VTOP_PIN_PARTIAL pin with room for 2 keeps
 * the same k, and UNPIN leaves nothing behind.
 */
TEST(segment_counts_around_the_kept_eight)
{
	static const uint32_t counts[] = { 1, 2, 7, 8, 9, 10, 17 };
	struct vtop_segment segs[17], got[17];
	struct vt_snap base;
	unsigned int c;
	int fd, mfd;

	ASSERT_EQ(0, vt_snap(&base));
	VT_OPEN_OR_SKIP(fd);
	mfd = memfd_create("vtop_segs", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, VT_PAGE_SIZE));
	for (c = 0; c < ARRAY_SIZE(counts); c++) {
		uint32_t k = counts[c], nr, i;
		size_t len = k * VT_PAGE_SIZE;
		uint64_t handle;
		char *area;

		area = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
		ASSERT_NE(MAP_FAILED, area);
		for (i = 0; i < k; i++)
			ASSERT_EQ(area + i * VT_PAGE_SIZE,
				  mmap(area + i * VT_PAGE_SIZE, VT_PAGE_SIZE,
				       PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED, mfd, 0));
		memset(area, 1, len);

		nr = 0;
		EXPECT_EQ(-ENOBUFS, vt_pin(fd, area, len, 0, NULL, &nr, NULL));
		EXPECT_EQ(k, nr);

		memset(segs, 0xa5, sizeof(segs));
		nr = k;
		ASSERT_EQ(0, vt_pin(fd, area, len, 0, segs, &nr, &handle))
			TH_LOG("%u segments", k);
		ASSERT_EQ(k, nr);
		VT_EXPECT_SEGS(segs, nr, area, len);
		for (i = 1; i < k; i++)
			EXPECT_EQ(segs[0].dma_addr, segs[i].dma_addr)
				TH_LOG("k %u segment %u", k, i);

		memset(got, 0x5a, sizeof(got));
		nr = k;
		ASSERT_EQ(0, vt_get_segs(fd, handle, 0, 0, got, &nr));
		ASSERT_EQ(k, nr);
		EXPECT_EQ(0, memcmp(segs, got, k * sizeof(*got)))
			TH_LOG("GET_SEGS of the %u-segment pin", k);
		nr = k;
		ASSERT_EQ(0, vt_get_segs(fd, handle, (k / 2) * VT_PAGE_SIZE, 0,
					 got, &nr));
		ASSERT_EQ(k - k / 2, nr);
		EXPECT_EQ(0, memcmp(segs + k / 2, got, nr * sizeof(*got)))
			TH_LOG("GET_SEGS of the second half of %u", k);

		ASSERT_EQ(0, vt_unpin(fd, handle));

		/* VTOP_PIN_PARTIAL with room for 2: GET_SEGS has them all */
		memset(got, 0x5a, sizeof(got));
		nr = 2;
		ASSERT_EQ(0, vt_pin(fd, area, len, VTOP_PIN_PARTIAL, got, &nr,
				    &handle));
		ASSERT_EQ(k, nr);
		EXPECT_EQ(0, memcmp(segs, got, (k < 2 ? k : 2) * sizeof(*got)));
		memset(got, 0x5a, sizeof(got));
		nr = k;
		ASSERT_EQ(0, vt_get_segs(fd, handle, 0, 0, got, &nr));
		ASSERT_EQ(k, nr);
		EXPECT_EQ(0, memcmp(segs, got, k * sizeof(*got)))
			TH_LOG("GET_SEGS of the partial %u-segment pin", k);
		ASSERT_EQ(0, vt_unpin(fd, handle));
		ASSERT_EQ(0, munmap(area, len));
	}
	close(mfd);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
}

/*
 * page_shift describes the folio, not the mapping's alignment (uapi
 * header, struct vtop_segment): a pin that starts inside a THP gets a
 * segment of page_shift 21 that starts 4 KiB past a 2 MiB boundary; a THP
 * moved by mremap() to an address 4 KiB past a 2 MiB boundary is mapped
 * by PTEs and still reports 21, with a virtual address of 4 KiB alignment;
 * and on kernels with multi-size THP a 64 KiB folio reports 16.
 */
TEST(page_shift_is_the_folio)
{
	struct vtop_segment segs[8];
	struct vt_snap base;
	char *thp, *hole, *moved;
	uint32_t nr;
	uint64_t h;
	int fd, ret;

	VT_OPEN_OR_SKIP(fd);
	ASSERT_EQ(0, vt_snap(&base));
	ret = vt_buf_alloc(VT_KIND_THP, 2 * MiB, (void **)&thp);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no THP");
	ASSERT_EQ(0, ret);

	/* edge folio: two pages from inside the THP */
	nr = 8;
	ASSERT_EQ(0, vt_pin(fd, thp + VT_PAGE_SIZE, 2 * VT_PAGE_SIZE, 0, segs,
			    &nr, &h));
	ASSERT_EQ(1U, nr);
	EXPECT_EQ(VT_HPAGE_SHIFT, segs[0].page_shift);
	EXPECT_EQ((uintptr_t)thp + VT_PAGE_SIZE, segs[0].vaddr);
	EXPECT_EQ(2 * VT_PAGE_SIZE, segs[0].len);
	EXPECT_EQ(VT_PAGE_SIZE, segs[0].dma_addr % VT_HPAGE_SIZE);
	VT_EXPECT_SEGS(segs, nr, thp + VT_PAGE_SIZE, 2 * VT_PAGE_SIZE);
	ASSERT_EQ(0, vt_unpin(fd, h));

	/* PTE-mapped THP: moved to an address not 2 MiB aligned */
	hole = mmap(NULL, 4 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	moved = (char *)(((uintptr_t)hole + VT_HPAGE_SIZE - 1) &
			 ~(VT_HPAGE_SIZE - 1)) + VT_PAGE_SIZE;
	moved = mremap(thp, 2 * MiB, 2 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED,
		       moved);
	ASSERT_NE(MAP_FAILED, moved);
	ASSERT_EQ(0, vt_range_is_thp(moved, 2 * MiB))
		TH_LOG("the folio was split by the move");
	nr = 8;
	ASSERT_EQ(0, vt_pin(fd, moved, 2 * MiB, 0, segs, &nr, &h));
	ASSERT_EQ(1U, nr);
	EXPECT_EQ(VT_HPAGE_SHIFT, segs[0].page_shift);
	EXPECT_EQ((uintptr_t)moved, segs[0].vaddr);
	EXPECT_EQ(VT_PAGE_SIZE, segs[0].vaddr % VT_HPAGE_SIZE);
	EXPECT_EQ(0ULL, segs[0].dma_addr % VT_HPAGE_SIZE);
	EXPECT_EQ(2 * MiB, segs[0].len);
	VT_EXPECT_SEGS(segs, nr, moved, 2 * MiB);
	ASSERT_EQ(0, vt_unpin(fd, h));
	munmap(hole, 4 * MiB);
	munmap(moved, 2 * MiB);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
}

#define MTHP_KNOB "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"

FIXTURE(mthp) {
	char saved[64];
};

FIXTURE_SETUP(mthp)
{
	char buf[256], *open, *close;

	self->saved[0] = 0;
	if (vt_read_file(MTHP_KNOB, buf, sizeof(buf)) < 0)
		SKIP(return, "no multi-size THP (kernel before 6.8)");
	open = strchr(buf, '[');
	close = open ? strchr(open, ']') : NULL;
	ASSERT_NE(NULL, close);
	*close = 0;
	snprintf(self->saved, sizeof(self->saved), "%s", open + 1);
}

FIXTURE_TEARDOWN_PARENT(mthp)
{
	if (self->saved[0])
		EXPECT_EQ(0, vt_write_file(MTHP_KNOB, self->saved));
}

/* 64 KiB folios (mTHP, 6.8+): page_shift 16 */
TEST_F(mthp, page_shift_16)
{
	const size_t len = 256 * 1024;
	struct vtop_segment segs[64];
	struct vt_snap base;
	uint32_t nr = 64, i, n16 = 0;
	char *raw, *p;
	uint64_t h;
	size_t off;
	int fd;

	VT_OPEN_OR_SKIP(fd);
	ASSERT_EQ(0, vt_write_file(MTHP_KNOB, "always"));
	ASSERT_EQ(0, vt_snap(&base));
	/* 256 KiB, 64 KiB aligned: room for 64 KiB folios, none of 2 MiB */
	raw = mmap(NULL, len + 64 * 1024, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	p = (char *)(((uintptr_t)raw + 0xffff) & ~(uintptr_t)0xffff);
	munmap(raw, p - raw);
	munmap(p + len, raw + len + 64 * 1024 - (p + len));
	madvise(p, len, MADV_HUGEPAGE);
	for (off = 0; off < len; off += VT_PAGE_SIZE)
		p[off] = 1;
	ASSERT_EQ(0, vt_pin(fd, p, len, 0, segs, &nr, &h));
	VT_EXPECT_SEGS(segs, nr, p, len);
	for (i = 0; i < nr; i++)
		n16 += segs[i].page_shift == 16;
	ASSERT_EQ(0, vt_unpin(fd, h));
	munmap(p, len);
	close(fd);
	VT_EXPECT_NO_LEAK(base);
	if (!n16)
		SKIP(return, "the kernel gave no 64 KiB folio");
}

TEST_HARNESS_MAIN
