// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Packet memory for DPDK on ordinary pages: mmap(), vtop_mem_register(),
 * a per-page IOVA table from libvtop, rte_malloc_heap_memory_add().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include <vtop.h>

#include "pktmem.h"

#define SZ_4K	4096UL
#define SZ_2M	(2UL << 20)

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif

const char *pktmem_kind_name(enum pktmem_kind kind)
{
	switch (kind) {
	case PKTMEM_4K: return "4k";
	case PKTMEM_THP: return "thp";
	case PKTMEM_HUGETLB: return "hugetlb";
	}
	return "?";
}

/*
 * Touch the 4 KiB pages in a scrambled order: a freshly booted machine
 * hands out physically consecutive frames, which would make the whole
 * buffer one DMA segment and hide a wrong per-page table.
 */
static void touch_scrambled(char *va, size_t n)
{
	size_t *order = malloc(n * sizeof(*order)), i;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	if (!order) {
		memset(va, 0, n * SZ_4K);
		return;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		size_t j, t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		memset(va + order[i] * SZ_4K, 0, SZ_4K);
	free(order);
}

int pktmem_alloc(struct pktmem *m, enum pktmem_kind kind, size_t len)
{
	void *p;
	int err;

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->socket_id = -1;
	len = (len + SZ_2M - 1) & ~(SZ_2M - 1);
	m->len = len;
	switch (kind) {
	case PKTMEM_4K:
		m->page_sz = SZ_4K;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			goto fail;
		m->map_base = p;
		m->map_len = len;
		m->va = p;
		madvise(p, len, MADV_NOHUGEPAGE);
		touch_scrambled(m->va, len / SZ_4K);
		break;
	case PKTMEM_THP:
		/* 4 KiB entries in the table: a THP may be split later */
		m->page_sz = SZ_4K;
		p = mmap(NULL, len + SZ_2M, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			goto fail;
		m->map_base = p;
		m->map_len = len + SZ_2M;
		m->va = (char *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
		if (madvise(m->va, len, MADV_HUGEPAGE)) {
			err = errno;
			fprintf(stderr, "madvise(MADV_HUGEPAGE): %s\n",
				strerror(err));
			return -err;
		}
		memset(m->va, 0, len);
		break;
	case PKTMEM_HUGETLB:
		m->page_sz = SZ_2M;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
			 -1, 0);
		if (p == MAP_FAILED)
			goto fail;
		m->map_base = p;
		m->map_len = len;
		m->va = p;
		memset(m->va, 0, len);
		break;
	}
	m->n_pages = (unsigned int)(len / m->page_sz);
	m->iovas = calloc(m->n_pages, sizeof(*m->iovas));
	m->truth = calloc(m->n_pages, sizeof(*m->truth));
	if (!m->iovas || !m->truth)
		return -ENOMEM;
	return 0;
fail:
	err = errno;
	fprintf(stderr, "mmap of %zu bytes (%s): %s\n", len,
		pktmem_kind_name(kind), strerror(err));
	return -err;
}

/*
 * Pin the memory (vtop_mem_register: mapped for every device libvtop
 * translates for) and build the IOVA table from the segments libvtop
 * reports for @dev (NULL: the default translation), checked page by page
 * against vtop_vtophys() or, for an attached device, vtop_vtophys_dev().
 */
int pktmem_register(struct pktmem *m, const struct vtop_dev *dev,
		    enum pktmem_iova iova_mode)
{
	struct vtop_segment *segs;
	uint32_t nr = 0, i;
	unsigned int pg;
	int rc;

	m->iova_mode = iova_mode;
	m->dev = dev;
	rc = vtop_mem_register(m->va, m->len);
	if (rc) {
		fprintf(stderr, "vtop_mem_register(%p, %zu): %s\n",
			(void *)m->va, m->len, vtop_last_error());
		return rc;
	}
	m->registered = 1;

	rc = vtop_dev_get_segs(dev, m->va, m->len, NULL, &nr);
	if (rc != -ENOBUFS && rc != 0) {
		fprintf(stderr, "vtop_dev_get_segs: %s\n", vtop_last_error());
		return rc;
	}
	segs = calloc(nr, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	rc = vtop_dev_get_segs(dev, m->va, m->len, segs, &nr);
	if (rc) {
		fprintf(stderr, "vtop_dev_get_segs: %s\n", vtop_last_error());
		free(segs);
		return rc;
	}
	m->nr_segs = nr;
	m->bytes_2m = 0;
	for (i = 0; i < nr; i++) {
		uint64_t off;

		if (segs[i].page_shift == 21)
			m->bytes_2m += segs[i].len;
		if ((segs[i].vaddr - (uintptr_t)m->va) % m->page_sz ||
		    segs[i].len % m->page_sz) {
			fprintf(stderr, "segment %u (0x%" PRIx64 " + %" PRIu64
				") is not made of %zu-byte pages\n", i,
				(uint64_t)segs[i].vaddr, (uint64_t)segs[i].len,
				m->page_sz);
			free(segs);
			return -EPROTO;
		}
		for (off = 0; off < segs[i].len; off += m->page_sz)
			m->truth[((uint64_t)segs[i].vaddr + off - (uintptr_t)m->va) /
				 m->page_sz] = (uint64_t)segs[i].dma_addr + off;
	}
	free(segs);

	for (pg = 0; pg < m->n_pages; pg++) {
		char *va = m->va + (size_t)pg * m->page_sz;
		uint64_t dma = dev ? vtop_vtophys_dev(dev, va, NULL) :
				     vtop_vtophys(va, NULL);

		if (dma != m->truth[pg]) {
			fprintf(stderr, "page %u: %s 0x%" PRIx64
				" but the segments say 0x%" PRIx64 "\n",
				pg, dev ? "vtop_vtophys_dev" : "vtop_vtophys",
				dma, m->truth[pg]);
			return -EPROTO;
		}
		switch (iova_mode) {
		case PKTMEM_IOVA_VTOP:
			m->iovas[pg] = m->truth[pg];
			break;
		case PKTMEM_IOVA_VA:
			m->iovas[pg] = (uintptr_t)va;
			break;
		case PKTMEM_IOVA_PREV_PAGE:
			m->iovas[pg] = m->truth[pg ? pg - 1 : 0];
			break;
		case PKTMEM_IOVA_NIC0:
			m->iovas[pg] = vtop_vtophys(va, NULL);
			break;
		}
	}
	return 0;
}

/* The memory becomes a DPDK malloc heap of its own (a socket id of its own). */
int pktmem_add_heap(struct pktmem *m, const char *heap)
{
	if (strlen(heap) >= sizeof(m->heap))
		return -ENAMETOOLONG;
	if (rte_malloc_heap_create(heap)) {
		fprintf(stderr, "rte_malloc_heap_create(%s): %s\n", heap,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	strcpy(m->heap, heap);
	if (rte_malloc_heap_memory_add(heap, m->va, m->len, m->iovas,
				       m->n_pages, m->page_sz)) {
		fprintf(stderr, "rte_malloc_heap_memory_add(%s): %s\n", heap,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	m->heap_added = 1;
	m->socket_id = rte_malloc_heap_get_socket(heap);
	if (m->socket_id < 0) {
		fprintf(stderr, "rte_malloc_heap_get_socket(%s): %s\n", heap,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

/*
 * Attached mode: how many 4 KiB pages have a DMA address equal to their
 * CPU physical address (/proc/self/pagemap, root), and how many could not
 * be read. Through a translating IOMMU domain the answer is none.
 */
int pktmem_count_phys_equal(const struct pktmem *m, unsigned int *equal,
			    unsigned int *unknown)
{
	size_t off;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*equal = *unknown = 0;
	for (off = 0; off < m->len; off += SZ_4K) {
		uint64_t e, va = (uintptr_t)m->va + off;

		if (pread(fd, &e, sizeof(e), (off_t)(va / SZ_4K * sizeof(e))) != sizeof(e) ||
		    !(e & (1ULL << 63)) || !(e & ((1ULL << 55) - 1))) {
			(*unknown)++;
			continue;
		}
		if ((e & ((1ULL << 55) - 1)) * SZ_4K == pktmem_true_iova(m, m->va + off))
			(*equal)++;
	}
	close(fd);
	return 0;
}

int pktmem_unregister(struct pktmem *m)
{
	int rc;

	if (!m->registered)
		return 0;
	rc = vtop_mem_unregister(m->va, m->len);
	if (rc) {
		fprintf(stderr, "vtop_mem_unregister: %s\n", vtop_last_error());
		return rc;
	}
	m->registered = 0;
	return 0;
}

/* Heap first (DPDK must let go of the memory), then the pins, then the pages. */
void pktmem_free(struct pktmem *m)
{
	if (m->heap_added) {
		if (rte_malloc_heap_memory_remove(m->heap, m->va, m->len))
			fprintf(stderr, "rte_malloc_heap_memory_remove: %s\n",
				rte_strerror(rte_errno));
		else
			m->heap_added = 0;
	}
	if (m->heap[0] && !m->heap_added) {
		if (rte_malloc_heap_destroy(m->heap))
			fprintf(stderr, "rte_malloc_heap_destroy: %s\n",
				rte_strerror(rte_errno));
		m->heap[0] = '\0';
	}
	pktmem_unregister(m);
	if (m->map_base && !m->heap_added)
		munmap(m->map_base, m->map_len);
	free(m->iovas);
	free(m->truth);
	m->iovas = m->truth = NULL;
}
