/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A polled NVMe controller with one admin queue pair and one I/O queue pair
 * whose rings, Identify buffer and PRP list live in memory registered with
 * libvtop. One command is in flight at a time.
 */
#ifndef VTOP_NVME_CTRL_H
#define VTOP_NVME_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme_spec.h"

struct vtop_mem_map;
struct vtop_dev;

#define NVME_PAGE_SIZE		4096u
#define NVME_ADMIN_DEPTH	32u
#define NVME_IO_DEPTH		64u
/* One PRP list page and no chaining: at most this much per command. */
#define NVME_MAX_XFER		(512u * NVME_PAGE_SIZE)

struct nvme_queue {
	uint16_t qid;
	uint16_t depth;
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint64_t sq_dma;
	uint64_t cq_dma;
	uint16_t sq_tail;
	uint16_t cq_head;
	uint16_t phase;
	uint16_t next_cid;
	volatile uint32_t *sq_db;
	volatile uint32_t *cq_db;
};

/* Why the controller stopped: kept for the report and for --expect-fail. */
enum nvme_fault {
	NVME_FAULT_NONE,
	NVME_FAULT_CFS,		/* CSTS.CFS: controller fatal status */
	NVME_FAULT_GONE,	/* registers read all-ones */
	NVME_FAULT_TIMEOUT,	/* a command did not complete in time */
	NVME_FAULT_STATUS,	/* a completion had a non-zero status */
	NVME_FAULT_MISMATCH,	/* data read back differs from data written */
};

struct nvme_ctrl {
	volatile uint8_t *bar;
	size_t bar_len;
	uint64_t cap;
	uint32_t vs;
	uint32_t ready_timeout_ms;	/* from CAP.TO */
	uint32_t cmd_timeout_ms;
	uint32_t db_stride;		/* bytes between doorbells */

	/*
	 * The control memory: rings, Identify data, the PRP list, one 4 KiB
	 * page each from libvtop's DMA allocator (vtop_dma_zmalloc()).
	 */
#define NVME_CTL_PAGES	6	/* ASQ, ACQ, IOSQ, IOCQ, Identify, PRP list */
	void *ctl[NVME_CTL_PAGES];
	void *identify;
	uint64_t identify_dma;
	uint64_t *prp_list;
	uint64_t prp_list_dma;

	struct nvme_queue admin;
	struct nvme_queue io;
	bool io_created;
	bool enabled;

	/* From Identify. */
	char model[41];
	char serial[21];
	char firmware[9];
	uint16_t vid;
	uint32_t max_xfer;		/* bytes per command */
	uint32_t nn;
	uint64_t ns_blocks;
	uint32_t lba_shift;

	/*
	 * NULL: data addresses come from vtop_vtophys(). Otherwise from
	 * vtop_vtophys_lookup() on this map (what vtop_vtophys_map()
	 * returned), which does not check for invalidation events: only
	 * vtop-nvme's test-only --remap-no-events sets it.
	 */
	const struct vtop_mem_map *lookup_map;

	/*
	 * The device whose addresses this controller gets (libvtop 0.5,
	 * vtop_vtophys_dev()): NULL for libvtop's default translation.
	 * data_dev_set: data addresses come from data_dev instead (only
	 * vtop-nvme --multi's negative control sets it: another device's
	 * IOVAs).
	 */
	const struct vtop_dev *dev;
	const struct vtop_dev *data_dev;
	bool data_dev_set;

	enum nvme_fault fault;
	char fault_msg[160];
};

/* Map the control memory, read CAP and VS. Return 0 or -errno. */
int nvme_ctrl_init(struct nvme_ctrl *c, volatile void *bar, size_t bar_len,
		   uint32_t cmd_timeout_ms);
/* The same for a controller attached with vtop_dev_attach() (@dev). */
int nvme_ctrl_init_dev(struct nvme_ctrl *c, const struct vtop_dev *dev,
		       volatile void *bar, size_t bar_len,
		       uint32_t cmd_timeout_ms);
/*
 * Unregister and free the control memory. Call only once the controller
 * can no longer DMA (disabled, or bus mastering off).
 */
void nvme_ctrl_fini(struct nvme_ctrl *c);

/* CC.EN=0 and wait for CSTS.RDY=0. */
int nvme_ctrl_disable(struct nvme_ctrl *c);
/* Program the admin queue, CC.EN=1 and wait for CSTS.RDY=1. */
int nvme_ctrl_enable(struct nvme_ctrl *c);
/* Normal shutdown (CC.SHN) then disable; the controller stops all DMA. */
int nvme_ctrl_shutdown(struct nvme_ctrl *c);

int nvme_identify(struct nvme_ctrl *c);
int nvme_create_io_queues(struct nvme_ctrl *c);
int nvme_delete_io_queues(struct nvme_ctrl *c);

/*
 * Read or write @nblocks blocks at @lba to/from @buf, which must be
 * registered with libvtop; split into commands of at most max_xfer bytes.
 */
int nvme_rw(struct nvme_ctrl *c, uint8_t opcode, uint64_t lba,
	    uint64_t nblocks, void *buf);

const char *nvme_fault_name(enum nvme_fault f);

#endif /* VTOP_NVME_CTRL_H */
