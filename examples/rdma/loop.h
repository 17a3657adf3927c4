/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Two RC queue pairs on one verbs device, connected to each other (soft-RoCE
 * delivers frames to the device's own address internally), and blocking,
 * bounded work-request helpers on them.
 */
#ifndef VTOP_RDMA_LOOP_H
#define VTOP_RDMA_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define LOOP_MAX_SGE	4

struct loop {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];	/* qp[0] initiates, qp[1] is the peer */
	uint8_t port;
	int gid_index;
	char dev_name[64];
};

/* Open @dev (NULL: the first device), connect two QPs. 0 or -errno. */
int loop_open(struct loop *l, const char *dev);
void loop_close(struct loop *l);

/*
 * One work request from qp[0] and its completion, waited for at most
 * @timeout_ms: RDMA WRITE of @sge to (@raddr, @rkey), RDMA READ of
 * (@raddr, @rkey) into @sge, or SEND of @sge to qp[1], which must have a
 * receive posted (loop_post_recv()). 0, or -errno (-ETIMEDOUT; -EIO for a
 * completion with an error status, which is printed).
 */
int loop_write(struct loop *l, const struct ibv_sge *sge, int nsge,
	       uint64_t raddr, uint32_t rkey, int timeout_ms);
int loop_read(struct loop *l, const struct ibv_sge *sge, int nsge,
	      uint64_t raddr, uint32_t rkey, int timeout_ms);
int loop_send(struct loop *l, const struct ibv_sge *sge, int nsge,
	      int timeout_ms);
/* A receive on qp[1] into @sge; loop_send() waits for its completion. */
int loop_post_recv(struct loop *l, const struct ibv_sge *sge, int nsge);

#endif /* VTOP_RDMA_LOOP_H */
