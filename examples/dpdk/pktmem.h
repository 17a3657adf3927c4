/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Packet memory for DPDK from plain mmap()ed pages, pinned and translated
 * by libvtop, handed to a DPDK malloc heap with a per-page IOVA table.
 */
#ifndef VTOP_DPDK_PKTMEM_H
#define VTOP_DPDK_PKTMEM_H

#include <stddef.h>
#include <stdint.h>

enum pktmem_kind { PKTMEM_4K, PKTMEM_THP, PKTMEM_HUGETLB };

/* What goes into the IOVA table: the truth, or a deliberate lie. */
enum pktmem_iova {
	PKTMEM_IOVA_VTOP,	/* libvtop's addresses */
	PKTMEM_IOVA_VA,		/* the virtual addresses (wrong) */
	PKTMEM_IOVA_PREV_PAGE,	/* each page given the previous page's (wrong) */
	PKTMEM_IOVA_NIC0,	/* the environment's device's addresses, for
				 * memory of another device (wrong) */
};

struct vtop_dev;

struct pktmem {
	enum pktmem_kind kind;
	enum pktmem_iova iova_mode;
	char *va;		/* start, aligned to page_sz */
	size_t len;
	size_t page_sz;		/* the heap's page size: 4 KiB, or 2 MiB for hugetlb */
	unsigned int n_pages;
	uint64_t *iovas;	/* the table given to DPDK, n_pages entries */
	uint64_t *truth;	/* libvtop's address of each page, for dev */
	const struct vtop_dev *dev;	/* whose addresses: NULL, the default
					 * translation (vtop_vtophys()) */
	uint32_t nr_segs;	/* DMA-contiguous segments libvtop reported */
	uint64_t bytes_2m;	/* of them in 2 MiB pages (THP, hugetlb) */
	void *map_base;		/* what mmap() returned, and its length */
	size_t map_len;
	int registered;
	int heap_added;
	int socket_id;		/* the heap's socket id, for pools and rings */
	char heap[32];		/* the heap's name (a copy: it outlives the
				 * caller's buffer), "" for none */
};

int pktmem_alloc(struct pktmem *m, enum pktmem_kind kind, size_t len);
int pktmem_register(struct pktmem *m, const struct vtop_dev *dev,
		    enum pktmem_iova iova_mode);
int pktmem_add_heap(struct pktmem *m, const char *heap);
int pktmem_unregister(struct pktmem *m);
int pktmem_count_phys_equal(const struct pktmem *m, unsigned int *equal,
			    unsigned int *unknown);
void pktmem_free(struct pktmem *m);

static inline int pktmem_contains(const struct pktmem *m, const void *p, size_t n)
{
	const char *c = p;

	return c >= m->va && n <= m->len && c - m->va <= (ptrdiff_t)(m->len - n);
}

/* The true DMA address of @p (in the memory), from the table. */
static inline uint64_t pktmem_true_iova(const struct pktmem *m, const void *p)
{
	size_t off = (size_t)((const char *)p - m->va);

	return m->truth[off / m->page_sz] + off % m->page_sz;
}

const char *pktmem_kind_name(enum pktmem_kind kind);

#endif
