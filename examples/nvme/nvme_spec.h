/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The small part of the NVMe base specification (revision 1.4) that the
 * example driver uses: controller registers, the 64-byte submission and
 * 16-byte completion queue entries, and the Identify data fields it prints.
 */
#ifndef VTOP_NVME_SPEC_H
#define VTOP_NVME_SPEC_H

#include <stdint.h>

/* Controller registers (BAR0). */
#define NVME_REG_CAP		0x00	/* 64 bits: capabilities */
#define NVME_REG_VS		0x08	/* version */
#define NVME_REG_INTMS		0x0c	/* interrupt mask set */
#define NVME_REG_INTMC		0x10	/* interrupt mask clear */
#define NVME_REG_CC		0x14	/* controller configuration */
#define NVME_REG_CSTS		0x1c	/* controller status */
#define NVME_REG_AQA		0x24	/* admin queue attributes */
#define NVME_REG_ASQ		0x28	/* 64 bits: admin SQ base */
#define NVME_REG_ACQ		0x30	/* 64 bits: admin CQ base */
#define NVME_REG_DBS		0x1000	/* first doorbell */

/* CAP fields. */
#define NVME_CAP_MQES(cap)	((uint32_t)((cap) & 0xffff))	/* 0's based */
#define NVME_CAP_CQR(cap)	((uint32_t)(((cap) >> 16) & 0x1))
#define NVME_CAP_TO(cap)	((uint32_t)(((cap) >> 24) & 0xff)) /* 500 ms */
#define NVME_CAP_DSTRD(cap)	((uint32_t)(((cap) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(cap)	((uint32_t)(((cap) >> 37) & 0x1))
#define NVME_CAP_MPSMIN(cap)	((uint32_t)(((cap) >> 48) & 0xf))
#define NVME_CAP_MPSMAX(cap)	((uint32_t)(((cap) >> 52) & 0xf))

/* CC fields. */
#define NVME_CC_EN		(1U << 0)
#define NVME_CC_CSS_NVM		(0U << 4)
#define NVME_CC_MPS(shift)	((uint32_t)((shift) - 12) << 7)
#define NVME_CC_AMS_RR		(0U << 11)
#define NVME_CC_SHN_NORMAL	(1U << 14)
#define NVME_CC_SHN_MASK	(3U << 14)
#define NVME_CC_IOSQES(shift)	((uint32_t)(shift) << 16)
#define NVME_CC_IOCQES(shift)	((uint32_t)(shift) << 20)

/* CSTS fields. */
#define NVME_CSTS_RDY		(1U << 0)
#define NVME_CSTS_CFS		(1U << 1)
#define NVME_CSTS_SHST_MASK	(3U << 2)
#define NVME_CSTS_SHST_DONE	(2U << 2)

/* Admin command opcodes. */
#define NVME_ADMIN_DELETE_SQ	0x00
#define NVME_ADMIN_CREATE_SQ	0x01
#define NVME_ADMIN_DELETE_CQ	0x04
#define NVME_ADMIN_CREATE_CQ	0x05
#define NVME_ADMIN_IDENTIFY	0x06

/* NVM command set opcodes. */
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02

/* Identify CNS values. */
#define NVME_ID_CNS_NS		0x00
#define NVME_ID_CNS_CTRL	0x01

/* Create I/O queue flags (CDW11). */
#define NVME_QUEUE_PHYS_CONTIG	(1U << 0)
#define NVME_CQ_IRQ_ENABLED	(1U << 1)

/* A submission queue entry: 64 bytes. */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;		/* FUSE, PSDT (0: PRPs) */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};

/* A completion queue entry: 16 bytes. */
struct nvme_cqe {
	uint32_t result;	/* DW0, command specific */
	uint32_t rsvd;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* bit 0: phase tag, bits 15..1: status */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

#define NVME_SQES_SHIFT		6	/* log2(sizeof(struct nvme_sqe)) */
#define NVME_CQES_SHIFT		4	/* log2(sizeof(struct nvme_cqe)) */

/* Status field of a CQE without the phase bit. */
#define NVME_STATUS_SC(st)	(((st) >> 1) & 0xff)	/* status code */
#define NVME_STATUS_SCT(st)	(((st) >> 9) & 0x7)	/* status code type */
#define NVME_STATUS_DNR(st)	(((st) >> 15) & 0x1)	/* do not retry */

/* Identify Controller data: byte offsets of the fields printed. */
#define NVME_IDC_VID		0	/* 2 bytes */
#define NVME_IDC_SN		4	/* 20 bytes ASCII */
#define NVME_IDC_MN		24	/* 40 bytes ASCII */
#define NVME_IDC_FR		64	/* 8 bytes ASCII */
#define NVME_IDC_MDTS		77	/* 1 byte: 2^n min pages, 0: no limit */
#define NVME_IDC_SQES		512
#define NVME_IDC_CQES		513
#define NVME_IDC_NN		516	/* 4 bytes */

/* Identify Namespace data. */
#define NVME_IDNS_NSZE		0	/* 8 bytes: size in blocks */
#define NVME_IDNS_NCAP		8	/* 8 bytes */
#define NVME_IDNS_NLBAF		25
#define NVME_IDNS_FLBAS		26
#define NVME_IDNS_LBAF		128	/* 16 formats of 4 bytes */
#define NVME_LBAF_LBADS(f)	(((f) >> 16) & 0xff)	/* log2(block size) */
#define NVME_LBAF_MS(f)		((f) & 0xffff)		/* metadata bytes */

#define NVME_IDENTIFY_SIZE	4096

#endif /* VTOP_NVME_SPEC_H */
