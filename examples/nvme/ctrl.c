// SPDX-License-Identifier: GPL-2.0-only
/*
 * Polled NVMe controller: reset, admin queue, Identify, one I/O queue pair,
 * PRP-described reads and writes. Every wait on the device is bounded and
 * every failure says which register, command or status caused it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <vtop.h>

#include "ctrl.h"
#include "util.h"


static inline uint32_t rd32(const struct nvme_ctrl *c, uint32_t off)
{
	return *(volatile uint32_t *)(c->bar + off);
}

static inline void wr32(struct nvme_ctrl *c, uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)(c->bar + off) = val;
}

/* 64-bit registers are accessed as two dwords, low first. */
static inline uint64_t rd64(const struct nvme_ctrl *c, uint32_t off)
{
	uint64_t lo = rd32(c, off);

	return lo | (uint64_t)rd32(c, off + 4) << 32;
}

static inline void wr64(struct nvme_ctrl *c, uint32_t off, uint64_t val)
{
	wr32(c, off, (uint32_t)val);
	wr32(c, off + 4, (uint32_t)(val >> 32));
}

/* Record the first fault (later ones are consequences) and report it. */
static void set_fault(struct nvme_ctrl *c, enum nvme_fault f,
		      const char *fmt, ...)
{
	char msg[sizeof(c->fault_msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s\n", msg);
	if (c->fault == NVME_FAULT_NONE) {
		c->fault = f;
		snprintf(c->fault_msg, sizeof(c->fault_msg), "%s", msg);
	}
}

const char *nvme_fault_name(enum nvme_fault f)
{
	switch (f) {
	case NVME_FAULT_NONE:
		return "none";
	case NVME_FAULT_CFS:
		return "controller fatal status (CSTS.CFS)";
	case NVME_FAULT_GONE:
		return "controller registers read all-ones";
	case NVME_FAULT_TIMEOUT:
		return "command time-out";
	case NVME_FAULT_STATUS:
		return "command completed with an error status";
	case NVME_FAULT_MISMATCH:
		return "data read back differs from data written";
	}
	return "unknown";
}

/*
 * Check CSTS for a fatal condition. Return 0, or -EIO after recording the
 * fault, where @what names the operation that was waiting.
 */
static int check_csts(struct nvme_ctrl *c, const char *what)
{
	uint32_t csts = rd32(c, NVME_REG_CSTS);

	if (csts == UINT32_MAX) {
		set_fault(c, NVME_FAULT_GONE,
			  "%s: CSTS reads 0xffffffff: the controller is gone",
			  what);
		return -EIO;
	}
	if (csts & NVME_CSTS_CFS) {
		set_fault(c, NVME_FAULT_CFS,
			  "%s: controller fatal status (CSTS=0x%08x, CFS set): the controller stopped, typically after a DMA it could not perform",
			  what, csts);
		return -EIO;
	}
	return 0;
}

/*
 * Wait until (CSTS & @mask) == @want for at most @timeout_ms.
 * A fatal status ends the wait early unless @ignore_cfs.
 */
static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want,
		     uint32_t timeout_ms, bool ignore_cfs, const char *what)
{
	uint64_t deadline = now_ms() + timeout_ms;
	uint32_t csts;

	for (;;) {
		csts = rd32(c, NVME_REG_CSTS);
		if (csts == UINT32_MAX) {
			set_fault(c, NVME_FAULT_GONE,
				  "waiting for %s: CSTS reads 0xffffffff: the controller is gone",
				  what);
			return -EIO;
		}
		if ((csts & mask) == want)
			return 0;
		if (!ignore_cfs && (csts & NVME_CSTS_CFS)) {
			set_fault(c, NVME_FAULT_CFS,
				  "waiting for %s: controller fatal status (CSTS=0x%08x)",
				  what, csts);
			return -EIO;
		}
		if (now_ms() > deadline) {
			log_err("waiting for %s: timed out after %u ms (CSTS=0x%08x)\n",
				what, timeout_ms, csts);
			return -ETIMEDOUT;
		}
		pause_us(1000);
	}
}

/*
 * One page of control memory from libvtop's DMA allocator: registered,
 * zeroed, 4 KiB-aligned (so it never crosses a page: one PRP entry).
 */
static int ctl_alloc(struct nvme_ctrl *c, unsigned int page, void **va,
		     uint64_t *dma)
{
	void *p = vtop_dma_zmalloc(NVME_PAGE_SIZE, NVME_PAGE_SIZE, dma);

	if (!p) {
		log_err("vtop_dma_zmalloc(control page %u): %s (%s)\n", page,
			strerror(errno), vtop_last_error());
		return -errno;
	}
	c->ctl[page] = p;
	/* Another device than the default: its own IOVA of the page. */
	if (c->dev) {
		*dma = vtop_vtophys_dev(c->dev, p, NULL);
		if (*dma == VTOP_VTOPHYS_ERROR) {
			log_err("vtop_vtophys_dev(control page %u): not mapped for the device\n",
				page);
			c->ctl[page] = NULL;
			vtop_dma_free(p);
			return -EFAULT;
		}
	}
	*va = p;
	return 0;
}

static void queue_setup(struct nvme_ctrl *c, struct nvme_queue *q,
			uint16_t qid, uint16_t depth)
{
	q->qid = qid;
	q->depth = depth;
	q->sq_tail = 0;
	q->cq_head = 0;
	q->phase = 1;
	q->next_cid = 0;
	q->sq_db = (volatile uint32_t *)(c->bar + NVME_REG_DBS +
					 (2u * qid) * c->db_stride);
	q->cq_db = (volatile uint32_t *)(c->bar + NVME_REG_DBS +
					 (2u * qid + 1) * c->db_stride);
	memset(q->sq, 0, NVME_PAGE_SIZE);
	memset((void *)q->cq, 0, NVME_PAGE_SIZE);
}

int nvme_ctrl_init(struct nvme_ctrl *c, volatile void *bar, size_t bar_len,
		   uint32_t cmd_timeout_ms)
{
	return nvme_ctrl_init_dev(c, NULL, bar, bar_len, cmd_timeout_ms);
}

int nvme_ctrl_init_dev(struct nvme_ctrl *c, const struct vtop_dev *dev,
		       volatile void *bar, size_t bar_len,
		       uint32_t cmd_timeout_ms)
{
	void *va;
	int ret;

	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->bar = bar;
	c->bar_len = bar_len;
	c->cmd_timeout_ms = cmd_timeout_ms;
	c->cap = rd64(c, NVME_REG_CAP);
	c->vs = rd32(c, NVME_REG_VS);
	if (c->cap == UINT64_MAX) {
		log_err("CAP reads all-ones: BAR0 does not answer (memory decoding off?)\n");
		return -EIO;
	}
	c->ready_timeout_ms = NVME_CAP_TO(c->cap) * 500;
	if (c->ready_timeout_ms < 500)
		c->ready_timeout_ms = 500;
	c->db_stride = 4u << NVME_CAP_DSTRD(c->cap);
	if (NVME_REG_DBS + 4 * c->db_stride > bar_len) {
		log_err("BAR0 (%zu bytes) too small for the doorbells (stride %u)\n",
			bar_len, c->db_stride);
		return -ENXIO;
	}
	if (NVME_CAP_MPSMIN(c->cap) != 0) {
		log_err("controller does not support 4 KiB memory pages (CAP.MPSMIN=%u)\n",
			NVME_CAP_MPSMIN(c->cap));
		return -EOPNOTSUPP;
	}
	if (!NVME_CAP_CSS_NVM(c->cap)) {
		log_err("controller does not support the NVM command set\n");
		return -EOPNOTSUPP;
	}

	ret = ctl_alloc(c, 0, &va, &c->admin.sq_dma);
	if (ret)
		goto out_free;
	c->admin.sq = va;
	ret = ctl_alloc(c, 1, &va, &c->admin.cq_dma);
	if (ret)
		goto out_free;
	c->admin.cq = va;
	ret = ctl_alloc(c, 2, &va, &c->io.sq_dma);
	if (ret)
		goto out_free;
	c->io.sq = va;
	ret = ctl_alloc(c, 3, &va, &c->io.cq_dma);
	if (ret)
		goto out_free;
	c->io.cq = va;
	ret = ctl_alloc(c, 4, &c->identify, &c->identify_dma);
	if (ret)
		goto out_free;
	ret = ctl_alloc(c, 5, &va, &c->prp_list_dma);
	if (ret)
		goto out_free;
	c->prp_list = va;
	return 0;

out_free:
	nvme_ctrl_fini(c);
	return ret;
}

int nvme_ctrl_disable(struct nvme_ctrl *c)
{
	uint32_t cc = rd32(c, NVME_REG_CC);
	int ret;

	if (cc == UINT32_MAX) {
		set_fault(c, NVME_FAULT_GONE,
			  "CC reads 0xffffffff: the controller is gone");
		return -EIO;
	}
	if (cc & NVME_CC_EN)
		wr32(c, NVME_REG_CC, cc & ~NVME_CC_EN);
	/* A controller in fatal status still completes the reset. */
	ret = wait_csts(c, NVME_CSTS_RDY, 0, c->ready_timeout_ms, true,
			"CSTS.RDY=0 after CC.EN=0");
	if (!ret)
		c->enabled = false;
	c->io_created = false;
	return ret;
}

int nvme_ctrl_enable(struct nvme_ctrl *c)
{
	uint32_t cc;
	int ret;

	ret = nvme_ctrl_disable(c);
	if (ret)
		return ret;
	queue_setup(c, &c->admin, 0, NVME_ADMIN_DEPTH);
	wr32(c, NVME_REG_AQA, (NVME_ADMIN_DEPTH - 1) << 16 |
			      (NVME_ADMIN_DEPTH - 1));
	wr64(c, NVME_REG_ASQ, c->admin.sq_dma);
	wr64(c, NVME_REG_ACQ, c->admin.cq_dma);
	/* Keep the controller quiet on INTx: this driver polls. */
	wr32(c, NVME_REG_INTMS, UINT32_MAX);
	cc = NVME_CC_EN | NVME_CC_CSS_NVM | NVME_CC_MPS(12) | NVME_CC_AMS_RR |
	     NVME_CC_IOSQES(NVME_SQES_SHIFT) | NVME_CC_IOCQES(NVME_CQES_SHIFT);
	atomic_thread_fence(memory_order_seq_cst);
	wr32(c, NVME_REG_CC, cc);
	ret = wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, c->ready_timeout_ms,
			false, "CSTS.RDY=1 after CC.EN=1");
	if (ret)
		return ret;
	c->enabled = true;
	return 0;
}

int nvme_ctrl_shutdown(struct nvme_ctrl *c)
{
	uint32_t cc;
	int ret;

	if (!c->bar)
		return 0;
	cc = rd32(c, NVME_REG_CC);
	if (c->enabled && c->fault == NVME_FAULT_NONE && cc != UINT32_MAX) {
		wr32(c, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) |
				     NVME_CC_SHN_NORMAL);
		ret = wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE,
				c->ready_timeout_ms, false,
				"shutdown complete (CSTS.SHST=2)");
		if (ret)
			log_err("shutdown did not complete; disabling anyway\n");
	}
	return nvme_ctrl_disable(c);
}

void nvme_ctrl_fini(struct nvme_ctrl *c)
{
	unsigned int k;

	for (k = 0; k < NVME_CTL_PAGES; k++) {
		vtop_dma_free(c->ctl[k]);
		c->ctl[k] = NULL;
	}
}

/* Submit @cmd on @q and poll for its completion. */
static int submit_sync(struct nvme_ctrl *c, struct nvme_queue *q,
		       struct nvme_sqe *cmd, const char *what,
		       struct nvme_cqe *out)
{
	volatile struct nvme_cqe *cqe;
	uint64_t deadline;
	uint16_t status, cid;
	unsigned int spins = 0;

	if (c->fault != NVME_FAULT_NONE) {
		log_err("%s: not submitted, the controller already failed\n",
			what);
		return -EIO;
	}
	cid = q->next_cid++;
	cmd->cid = cid;
	memcpy(&q->sq[q->sq_tail], cmd, sizeof(*cmd));
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->depth);
	/* The entry must be in memory before the device sees the doorbell. */
	atomic_thread_fence(memory_order_seq_cst);
	*q->sq_db = q->sq_tail;

	cqe = &q->cq[q->cq_head];
	deadline = now_ms() + c->cmd_timeout_ms;
	for (;;) {
		status = cqe->status;
		if ((status & 1) == q->phase)
			break;
		if (++spins % 64 == 0) {
			if (check_csts(c, what))
				return -EIO;
			if (now_ms() > deadline) {
				set_fault(c, NVME_FAULT_TIMEOUT,
					  "%s: no completion on queue %u within %u ms (CSTS=0x%08x)",
					  what, q->qid, c->cmd_timeout_ms,
					  rd32(c, NVME_REG_CSTS));
				return -ETIMEDOUT;
			}
			pause_us(50);
		}
	}
	atomic_thread_fence(memory_order_acquire);
	out->result = cqe->result;
	out->sq_head = cqe->sq_head;
	out->sq_id = cqe->sq_id;
	out->cid = cqe->cid;
	out->status = status;

	q->cq_head = (uint16_t)(q->cq_head + 1);
	if (q->cq_head == q->depth) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	*q->cq_db = q->cq_head;

	if (out->cid != cid || out->sq_id != q->qid) {
		set_fault(c, NVME_FAULT_STATUS,
			  "%s: completion for cid %u on SQ %u, expected cid %u on SQ %u",
			  what, out->cid, out->sq_id, cid, q->qid);
		return -EIO;
	}
	if (status >> 1) {
		set_fault(c, NVME_FAULT_STATUS,
			  "%s: completed with status type 0x%x code 0x%02x%s",
			  what, NVME_STATUS_SCT(status), NVME_STATUS_SC(status),
			  NVME_STATUS_SCT(status) == 0 &&
			  NVME_STATUS_SC(status) == 0x04 ?
			  " (data transfer error)" : "");
		return -EIO;
	}
	return 0;
}

/* Copy an ASCII Identify field, dropping the trailing space padding. */
static void id_string(char *dst, const uint8_t *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
	while (len && (dst[len - 1] == ' ' || dst[len - 1] == '\0'))
		dst[--len] = '\0';
}

static uint64_t le_bytes(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

int nvme_identify(struct nvme_ctrl *c)
{
	const uint8_t *id = c->identify;
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	uint32_t lbaf, mdts;
	unsigned int fmt;
	int ret;

	memset(c->identify, 0, NVME_IDENTIFY_SIZE);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADMIN_IDENTIFY;
	cmd.prp1 = c->identify_dma;
	cmd.cdw10 = NVME_ID_CNS_CTRL;
	ret = submit_sync(c, &c->admin, &cmd, "Identify Controller", &cqe);
	if (ret)
		return ret;
	c->vid = (uint16_t)le_bytes(id + NVME_IDC_VID, 2);
	id_string(c->serial, id + NVME_IDC_SN, 20);
	id_string(c->model, id + NVME_IDC_MN, 40);
	id_string(c->firmware, id + NVME_IDC_FR, 8);
	c->nn = (uint32_t)le_bytes(id + NVME_IDC_NN, 4);
	mdts = id[NVME_IDC_MDTS];
	c->max_xfer = NVME_MAX_XFER;
	if (mdts && mdts < 20 && (NVME_PAGE_SIZE << mdts) < c->max_xfer)
		c->max_xfer = NVME_PAGE_SIZE << mdts;
	if (c->vid == 0 || !c->model[0]) {
		set_fault(c, NVME_FAULT_STATUS,
			  "Identify Controller completed but its data is empty: the controller's DMA did not reach the buffer at 0x%llx",
			  (unsigned long long)c->identify_dma);
		return -EIO;
	}
	if ((id[NVME_IDC_SQES] & 0xf) > NVME_SQES_SHIFT ||
	    (id[NVME_IDC_CQES] & 0xf) > NVME_CQES_SHIFT) {
		log_err("controller needs larger queue entries than 64/16 bytes\n");
		return -EOPNOTSUPP;
	}
	if (c->nn < 1) {
		log_err("controller has no namespaces\n");
		return -ENODEV;
	}

	memset(c->identify, 0, NVME_IDENTIFY_SIZE);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADMIN_IDENTIFY;
	cmd.nsid = 1;
	cmd.prp1 = c->identify_dma;
	cmd.cdw10 = NVME_ID_CNS_NS;
	ret = submit_sync(c, &c->admin, &cmd, "Identify Namespace 1", &cqe);
	if (ret)
		return ret;
	c->ns_blocks = le_bytes(id + NVME_IDNS_NSZE, 8);
	fmt = id[NVME_IDNS_FLBAS] & 0xf;
	lbaf = (uint32_t)le_bytes(id + NVME_IDNS_LBAF + 4 * fmt, 4);
	c->lba_shift = NVME_LBAF_LBADS(lbaf);
	if (!c->ns_blocks) {
		log_err("namespace 1 is not active (size 0)\n");
		return -ENODEV;
	}
	if (c->lba_shift < 9 || c->lba_shift > 12) {
		log_err("namespace 1 block size 2^%u is not supported (512..4096)\n",
			c->lba_shift);
		return -EOPNOTSUPP;
	}
	if (NVME_LBAF_MS(lbaf)) {
		log_err("namespace 1 uses %u metadata bytes per block; not supported\n",
			NVME_LBAF_MS(lbaf));
		return -EOPNOTSUPP;
	}
	return 0;
}

int nvme_create_io_queues(struct nvme_ctrl *c)
{
	uint16_t depth = NVME_IO_DEPTH;
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	int ret;

	if (NVME_CAP_MQES(c->cap) + 1 < depth)
		depth = (uint16_t)(NVME_CAP_MQES(c->cap) + 1);
	queue_setup(c, &c->io, 1, depth);

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADMIN_CREATE_CQ;
	cmd.prp1 = c->io.cq_dma;
	cmd.cdw10 = (uint32_t)(depth - 1) << 16 | c->io.qid;
	cmd.cdw11 = NVME_QUEUE_PHYS_CONTIG;	/* polled: no interrupts */
	ret = submit_sync(c, &c->admin, &cmd, "Create I/O Completion Queue 1",
			  &cqe);
	if (ret)
		return ret;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADMIN_CREATE_SQ;
	cmd.prp1 = c->io.sq_dma;
	cmd.cdw10 = (uint32_t)(depth - 1) << 16 | c->io.qid;
	cmd.cdw11 = (uint32_t)c->io.qid << 16 | NVME_QUEUE_PHYS_CONTIG;
	ret = submit_sync(c, &c->admin, &cmd, "Create I/O Submission Queue 1",
			  &cqe);
	if (ret)
		return ret;
	c->io_created = true;
	return 0;
}

int nvme_delete_io_queues(struct nvme_ctrl *c)
{
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	int ret;

	if (!c->io_created)
		return 0;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADMIN_DELETE_SQ;
	cmd.cdw10 = c->io.qid;
	ret = submit_sync(c, &c->admin, &cmd, "Delete I/O Submission Queue 1",
			  &cqe);
	if (ret)
		return ret;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADMIN_DELETE_CQ;
	cmd.cdw10 = c->io.qid;
	ret = submit_sync(c, &c->admin, &cmd, "Delete I/O Completion Queue 1",
			  &cqe);
	if (ret)
		return ret;
	c->io_created = false;
	return 0;
}

/*
 * vtop_vtophys() for a data page (or the inline lookup, see lookup_map),
 * with a message when it is unregistered.
 */
static int data_addr(const struct nvme_ctrl *c, const uint8_t *p,
		     uint64_t *dma)
{
	if (c->lookup_map)
		*dma = vtop_vtophys_lookup(c->lookup_map, p);
	else
		*dma = vtop_vtophys_dev(c->data_dev_set ? c->data_dev : c->dev,
					p, NULL);
	if (*dma == VTOP_VTOPHYS_ERROR) {
		log_err("vtop_vtophys(%p): buffer is not registered\n",
			(const void *)p);
		return -EFAULT;
	}
	return 0;
}

/*
 * Describe [buf, buf + len) with PRP1/PRP2, using the PRP list page when
 * more than two memory pages are touched. len <= max_xfer.
 */
static int build_prps(struct nvme_ctrl *c, uint8_t *buf, size_t len,
		      struct nvme_sqe *cmd)
{
	size_t first, off;
	unsigned int n = 0;
	uint64_t dma;
	int ret;

	ret = data_addr(c, buf, &dma);
	if (ret)
		return ret;
	cmd->prp1 = dma;
	first = NVME_PAGE_SIZE - (dma & (NVME_PAGE_SIZE - 1));
	if (len <= first) {
		cmd->prp2 = 0;
		return 0;
	}
	if (len <= first + NVME_PAGE_SIZE) {
		ret = data_addr(c, buf + first, &dma);
		if (ret)
			return ret;
		cmd->prp2 = dma;
		return 0;
	}
	for (off = first; off < len; off += NVME_PAGE_SIZE) {
		if (n == NVME_PAGE_SIZE / sizeof(uint64_t)) {
			log_err("transfer of %zu bytes needs a chained PRP list\n",
				len);
			return -E2BIG;
		}
		ret = data_addr(c, buf + off, &dma);
		if (ret)
			return ret;
		c->prp_list[n++] = dma;
	}
	cmd->prp2 = c->prp_list_dma;
	return 0;
}

int nvme_rw(struct nvme_ctrl *c, uint8_t opcode, uint64_t lba,
	    uint64_t nblocks, void *buf)
{
	uint64_t max_blocks = c->max_xfer >> c->lba_shift;
	uint8_t *p = buf;
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	char what[96];
	int ret;

	if (!c->io_created)
		return -ENXIO;
	if (lba + nblocks > c->ns_blocks || lba + nblocks < lba) {
		log_err("blocks %llu..%llu are beyond the namespace (%llu blocks)\n",
			(unsigned long long)lba,
			(unsigned long long)(lba + nblocks - 1),
			(unsigned long long)c->ns_blocks);
		return -ERANGE;
	}
	while (nblocks) {
		uint64_t n = nblocks < max_blocks ? nblocks : max_blocks;
		size_t len = (size_t)(n << c->lba_shift);

		memset(&cmd, 0, sizeof(cmd));
		cmd.opcode = opcode;
		cmd.nsid = 1;
		ret = build_prps(c, p, len, &cmd);
		if (ret)
			return ret;
		cmd.cdw10 = (uint32_t)lba;
		cmd.cdw11 = (uint32_t)(lba >> 32);
		cmd.cdw12 = (uint32_t)(n - 1);
		snprintf(what, sizeof(what), "%s of %zu bytes at block %llu",
			 opcode == NVME_CMD_WRITE ? "Write" : "Read", len,
			 (unsigned long long)lba);
		ret = submit_sync(c, &c->io, &cmd, what, &cqe);
		if (ret)
			return ret;
		lba += n;
		nblocks -= n;
		p += len;
	}
	return 0;
}
