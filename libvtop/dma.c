// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The DMA allocator: memory that is registered (pinned), DMA-contiguous
 * for its whole size, with its DMA address (vtop_dma_malloc/zmalloc/free).
 *
 * Small objects (up to 4 KiB) come from slabs: a chunk of one size class
 * (a power of two, 64 B to 4 KiB), registered once, cut into objects of
 * that size aligned to it. An object never crosses a 4 KiB boundary, so it
 * is DMA-contiguous whatever pages back the chunk. A chunk is a 2 MiB
 * hugetlb page when the system has one free, else 64 KiB of ordinary
 * pages (the pagemap backend needs hugetlb: there the chunk must be one).
 *
 * Larger objects get their own mapping and registration: a run of 2 MiB
 * hugetlb pages when available, else ordinary pages. Either is then
 * checked with vtop_vtophys(): a mapping that is not DMA-contiguous over
 * the whole size is released and the allocation fails with ENOMEM (one
 * hugetlb page always is; ordinary pages rarely are beyond 4 KiB, and
 * several hugetlb pages only when the kernel happened to hand out
 * neighbours). That is the documented refusal of vtop.h.
 *
 * Every object is found again by its address (a foreign or repeated free
 * is -EINVAL). One mutex serializes the allocator; it is taken before the
 * library's registration lock, never inside a notify callback, and by the
 * atfork prepare handler first, so a fork() child never inherits it held.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define MIN_SHIFT	6			/* 64 B */
#define MAX_SHIFT	VTOP_SHIFT_4K		/* 4 KiB */
#define NR_CLASSES	(MAX_SHIFT - MIN_SHIFT + 1)
#define SMALL_CHUNK	(64 * 1024ULL)
#define MAX_OBJS	(VTOP_SIZE_2M >> MIN_SHIFT)	/* per chunk */
#define MAX_ALIGN	VTOP_SIZE_2M

struct chunk {
	struct chunk *next;
	uint8_t *base;
	size_t len;		/* mapped and registered bytes */
	unsigned int shift;	/* object size class; 0: a large object */
	size_t nr_objs;
	size_t used;
	uint64_t *bitmap;	/* small: one bit per object */
	bool hugetlb;
};

static pthread_mutex_t dma_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *chunks[NR_CLASSES];	/* small, per class */
static struct chunk *large;			/* one per object */

static void *map_pages(size_t len, bool *hugetlb)
{
	void *p;

	p = mmap(NULL, (len + VTOP_SIZE_2M - 1) & ~(VTOP_SIZE_2M - 1),
		 PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		 -1, 0);
	if (p != MAP_FAILED) {
		*hugetlb = true;
		return p;
	}
	*hugetlb = false;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t mapped_len(const struct chunk *c)
{
	return c->hugetlb ? (c->len + VTOP_SIZE_2M - 1) & ~(VTOP_SIZE_2M - 1) :
			    c->len;
}

static void chunk_destroy(struct chunk *c)
{
	vtop_mem_unregister(c->base, mapped_len(c));
	munmap(c->base, mapped_len(c));
	free(c->bitmap);
	free(c);
}

/*
 * Map and register @len bytes (hugetlb first). With @contig, the whole
 * length must be DMA-contiguous. Returns the chunk or NULL (errno set).
 */
static struct chunk *chunk_create(size_t len, size_t align, bool contig,
				  int *err)
{
	struct chunk *c = vtop_calloc(1, sizeof(*c));
	bool huge;
	uint64_t size;
	int rc;

	if (!c) {
		*err = vtop__err(-ENOMEM, "out of memory for a DMA chunk");
		return NULL;
	}
	c->hugetlb = true;
	c->len = len;
	c->base = map_pages(len, &c->hugetlb);
	if (!c->base) {
		*err = vtop__err(-ENOMEM, "mmap of %zu bytes for DMA memory failed",
				len);
		free(c);
		return NULL;
	}
	rc = (uintptr_t)c->base & (align - 1) ?
	     vtop__err(-EINVAL, "alignment %zu needs hugetlb pages, and none is free",
		       align) :
	     vtop_mem_register(c->base, mapped_len(c));
	if (rc) {
		munmap(c->base, mapped_len(c));
		free(c);
		*err = rc;
		return NULL;
	}
	size = len;
	huge = c->hugetlb;
	if (contig && (vtop_vtophys(c->base, &size) == VTOP_VTOPHYS_ERROR ||
		       size < len)) {
		chunk_destroy(c);
		*err = vtop__err(-ENOMEM, "no DMA-contiguous %zu bytes: %s",
				len, huge ?
				"the hugetlb pages are not neighbours" :
				"no free hugetlb page (vm.nr_hugepages), and ordinary pages are contiguous only by chance");
		return NULL;
	}
	return c;
}

static unsigned int class_of(size_t size, size_t align)
{
	unsigned int s = MIN_SHIFT;

	if (align > size)
		size = align;
	while ((1ULL << s) < size)
		s++;
	return s;
}

/* Is the memory of @c still registered (not after fini or an unmap)? */
static int chunk_check(struct chunk *c)
{
	if (vtop_vtophys(c->base, NULL) != VTOP_VTOPHYS_ERROR)
		return 0;
	/* Registered again after vtop_env_fini() (or an invalidation). */
	return vtop_mem_register(c->base, mapped_len(c));
}

static void *small_alloc(unsigned int shift, int *err)
{
	struct chunk **head = &chunks[shift - MIN_SHIFT], *c;
	size_t i, w;

	for (c = *head; c && c->used == c->nr_objs; c = c->next)
		;
	if (!c) {
		c = chunk_create(SMALL_CHUNK, 1, false, err);
		if (!c)
			return NULL;
		/* all of a hugetlb page, else SMALL_CHUNK */
		c->len = mapped_len(c);
		c->shift = shift;
		c->nr_objs = c->len >> shift;
		c->bitmap = vtop_calloc((c->nr_objs + 63) / 64,
					sizeof(uint64_t));
		if (!c->bitmap) {
			chunk_destroy(c);
			*err = vtop__err(-ENOMEM, "out of memory for a DMA slab");
			return NULL;
		}
		c->next = *head;
		*head = c;
	} else {
		*err = chunk_check(c);
		if (*err)
			return NULL;
	}
	for (w = 0; ~c->bitmap[w] == 0; w++)
		;
	i = w * 64 + (size_t)__builtin_ctzll(~c->bitmap[w]);
	c->bitmap[w] |= 1ULL << (i % 64);
	c->used++;
	return c->base + (i << shift);
}

static void *dma_alloc(size_t size, size_t align, uint64_t *dma_addr,
		       bool zero)
{
	struct chunk *c;
	void *p = NULL;
	int err = 0;

	if (!size || (align & (align - 1)) || align > MAX_ALIGN) {
		vtop__err(-EINVAL, "DMA allocation: size %zu, align %zu (0 or a power of two up to 2 MiB)",
			  size, align);
		errno = EINVAL;
		return NULL;
	}
	if (size > (1ULL << 40)) {
		vtop__err(-ENOMEM, "DMA allocation of %zu bytes", size);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&dma_lock);
	if (size <= VTOP_SIZE_4K && align <= VTOP_SIZE_4K) {
		p = small_alloc(class_of(size, align), &err);
	} else {
		c = chunk_create((size + VTOP_SIZE_4K - 1) &
				 ~(VTOP_SIZE_4K - 1), align ? align : 1, true,
				 &err);
		if (c) {
			c->next = large;
			large = c;
			p = c->base;
		}
	}
	pthread_mutex_unlock(&dma_lock);
	if (!p) {
		errno = -err;
		return NULL;
	}
	if (zero)
		memset(p, 0, size);
	if (dma_addr)
		*dma_addr = vtop_vtophys(p, NULL);
	return p;
}

/* The atfork handlers: the allocator's lock comes before vtop__lock. */
void vtop__dma_lock(void)
{
	pthread_mutex_lock(&dma_lock);
}

void vtop__dma_unlock(void)
{
	pthread_mutex_unlock(&dma_lock);
}

VTOP_EXPORT
void *vtop_dma_malloc(size_t size, size_t align, uint64_t *dma_addr)
{
	return dma_alloc(size, align, dma_addr, false);
}

VTOP_EXPORT
void *vtop_dma_zmalloc(size_t size, size_t align, uint64_t *dma_addr)
{
	return dma_alloc(size, align, dma_addr, true);
}

static bool unlink_chunk(struct chunk **head, struct chunk *c)
{
	for (; *head; head = &(*head)->next) {
		if (*head == c) {
			*head = c->next;
			return true;
		}
	}
	return false;
}

VTOP_EXPORT
int vtop_dma_free(void *buf)
{
	uint8_t *p = buf;
	struct chunk *c;
	unsigned int k;
	size_t i;
	int rc = 0;

	if (!buf)
		return 0;
	pthread_mutex_lock(&dma_lock);
	for (c = large; c; c = c->next) {
		if (c->base == p) {
			unlink_chunk(&large, c);
			chunk_destroy(c);
			goto out;
		}
	}
	for (k = 0; k < NR_CLASSES; k++) {
		for (c = chunks[k]; c; c = c->next) {
			if (p < c->base || p >= c->base + c->len)
				continue;
			i = (size_t)(p - c->base) >> c->shift;
			if ((size_t)(p - c->base) & ((1ULL << c->shift) - 1) ||
			    !(c->bitmap[i / 64] & (1ULL << (i % 64))))
				goto bad;
			c->bitmap[i / 64] &= ~(1ULL << (i % 64));
			/* An empty chunk goes unless it is the class's last. */
			if (!--c->used && (chunks[k] != c || c->next)) {
				unlink_chunk(&chunks[k], c);
				chunk_destroy(c);
			}
			goto out;
		}
	}
bad:
	rc = vtop__err(-EINVAL, "vtop_dma_free(%p): not memory from vtop_dma_malloc(), or freed already",
		       buf);
out:
	pthread_mutex_unlock(&dma_lock);
	return rc;
}
