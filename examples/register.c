// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vtop-example-register: register a buffer with libvtop, watch a consumer
 * map learn about it, translate, and print the buffer's DMA addresses.
 *
 *   vtop-example-register [PAGES]     (default 4; needs root and /dev/vtop)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vtop.h>

/*
 * A consumer (think: RDMA memory-region table) keeps one value per page.
 * It hears REGISTER once per registration, then either UNREGISTER or, when
 * the memory was unmapped without being unregistered, INVALIDATE (since
 * 0.3, because its ops have a size): either way it drops the values.
 */
static int consumer_cb(void *ctx, struct vtop_mem_map *map,
		       enum vtop_mem_map_notify_action action,
		       void *vaddr, size_t len)
{
	uint64_t key = *(uint64_t *)ctx;

	printf("consumer: %s %p + %zu\n",
	       action == VTOP_MEM_MAP_NOTIFY_REGISTER ? "REGISTER" :
	       action == VTOP_MEM_MAP_NOTIFY_INVALIDATE ? "INVALIDATE" :
	       "UNREGISTER", vaddr, len);
	if (action == VTOP_MEM_MAP_NOTIFY_REGISTER)
		return vtop_mem_map_set_translation(map, (uintptr_t)vaddr,
						    len, key);
	return vtop_mem_map_clear_translation(map, (uintptr_t)vaddr, len);
}

int main(int argc, char **argv)
{
	const struct vtop_mem_map_ops ops = { .notify_cb = consumer_cb,
					      .size = sizeof(ops) };
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 4;
	size_t len = pages * 4096, off;
	uint64_t key = 0x1234, size, dma;
	struct vtop_mem_map *map;
	char *buf;
	int rc;

	if (!pages || !(buf = aligned_alloc(4096, len)))
		return 2;
	memset(buf, 0x5a, len);
	printf("libvtop %s\n", vtop_version());

	map = vtop_mem_map_alloc(0, &ops, &key);
	rc = map ? vtop_mem_register(buf, len) : -ENOMEM;
	if (rc) {
		fprintf(stderr, "%s\n", vtop_last_error());
		return 1;
	}
	printf("consumer map: %p -> 0x%" PRIx64 "\n", (void *)buf,
	       vtop_mem_map_translate(map, (uintptr_t)buf, NULL));

	for (off = 0; off < len; off += size) {
		size = len - off;
		dma = vtop_vtophys(buf + off, &size);
		printf("vtop_vtophys(%p) = 0x%" PRIx64 ", %" PRIu64
		       " contiguous bytes\n", (void *)(buf + off), dma, size);
	}

	vtop_mem_unregister(buf, len);
	vtop_mem_map_free(&map);
	free(buf);
	return 0;
}
