// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two connected RC queue pairs on one verbs device (see loop.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loop.h"

#define LOOP_CQE	64
#define LOOP_PSN	0x1234

/* The first RoCE v2 GID holding an IPv4 address (::ffff:a.b.c.d). */
static int loop_find_gid(struct loop *l, int tbl_len)
{
	static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct ibv_gid_entry e;
	int i;

	for (i = 0; i < tbl_len; i++) {
		if (ibv_query_gid_ex(l->ctx, l->port, i, &e, 0))
			continue;
		if (e.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    !memcmp(e.gid.raw, v4, sizeof(v4)))
			return i;
	}
	return -1;
}

static int loop_connect(struct loop *l, int me, int peer)
{
	struct ibv_qp_attr a;
	union ibv_gid dgid;
	int ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = l->port;
	a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			    IBV_ACCESS_REMOTE_READ;
	ret = ibv_modify_qp(l->qp[me], &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		return -ret;

	if (ibv_query_gid(l->ctx, l->port, l->gid_index, &dgid))
		return -errno;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = l->qp[peer]->qp_num;
	a.rq_psn = LOOP_PSN;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = dgid;
	a.ah_attr.grh.sgid_index = (uint8_t)l->gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = l->port;
	ret = ibv_modify_qp(l->qp[me], &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return -ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 6;	/* 7 would retry forever */
	a.sq_psn = LOOP_PSN;
	a.max_rd_atomic = 1;
	ret = ibv_modify_qp(l->qp[me], &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			    IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			    IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
	return ret ? -ret : 0;
}

int loop_open(struct loop *l, const char *dev)
{
	struct ibv_device **list;
	struct ibv_port_attr pa;
	struct ibv_qp_init_attr qa;
	int n, i, ret = -ENODEV;

	memset(l, 0, sizeof(*l));
	list = ibv_get_device_list(&n);
	if (!list) {
		ret = -errno;
		fprintf(stderr, "ibv_get_device_list: %s\n", strerror(errno));
		return ret;
	}
	for (i = 0; i < n; i++) {
		if (!dev || !strcmp(ibv_get_device_name(list[i]), dev))
			break;
	}
	if (i == n) {
		fprintf(stderr, "no verbs device %s\n", dev ? dev : "at all");
		ibv_free_device_list(list);
		return -ENODEV;
	}
	snprintf(l->dev_name, sizeof(l->dev_name), "%s",
		 ibv_get_device_name(list[i]));
	l->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!l->ctx) {
		ret = -errno;
		fprintf(stderr, "ibv_open_device %s: %s\n", l->dev_name,
			strerror(errno));
		return ret;
	}
	l->port = 1;
	ret = ibv_query_port(l->ctx, l->port, &pa);
	if (ret) {
		fprintf(stderr, "ibv_query_port: %s\n", strerror(ret));
		ret = -ret;
		goto err;
	}
	l->gid_index = loop_find_gid(l, pa.gid_tbl_len);
	if (l->gid_index < 0) {
		fprintf(stderr, "%s: no RoCE v2 IPv4 GID on port %u\n",
			l->dev_name, l->port);
		ret = -ENOENT;
		goto err;
	}
	l->pd = ibv_alloc_pd(l->ctx);
	l->cq = l->pd ? ibv_create_cq(l->ctx, LOOP_CQE, NULL, NULL, 0) : NULL;
	if (!l->cq) {
		ret = errno ? -errno : -ENOMEM;
		fprintf(stderr, "ibv_alloc_pd/ibv_create_cq: %s\n",
			strerror(-ret));
		goto err;
	}
	memset(&qa, 0, sizeof(qa));
	qa.send_cq = l->cq;
	qa.recv_cq = l->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.sq_sig_all = 1;
	qa.cap.max_send_wr = 8;
	qa.cap.max_recv_wr = 8;
	qa.cap.max_send_sge = LOOP_MAX_SGE;
	qa.cap.max_recv_sge = LOOP_MAX_SGE;
	for (i = 0; i < 2; i++) {
		l->qp[i] = ibv_create_qp(l->pd, &qa);
		if (!l->qp[i]) {
			ret = errno ? -errno : -ENOMEM;
			fprintf(stderr, "ibv_create_qp: %s\n", strerror(-ret));
			goto err;
		}
	}
	ret = loop_connect(l, 0, 1);
	if (!ret)
		ret = loop_connect(l, 1, 0);
	if (ret) {
		fprintf(stderr, "connecting the QPs: %s\n", strerror(-ret));
		goto err;
	}
	return 0;
err:
	loop_close(l);
	return ret;
}

void loop_close(struct loop *l)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (l->qp[i])
			ibv_destroy_qp(l->qp[i]);
		l->qp[i] = NULL;
	}
	if (l->cq)
		ibv_destroy_cq(l->cq);
	if (l->pd)
		ibv_dealloc_pd(l->pd);
	if (l->ctx)
		ibv_close_device(l->ctx);
	l->cq = NULL;
	l->pd = NULL;
	l->ctx = NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @want completions (all must succeed), at most @timeout_ms. */
static int loop_wait(struct loop *l, int want, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	struct ibv_wc wc[4];
	int n, i, ret = 0;

	while (want > 0) {
		n = ibv_poll_cq(l->cq, 4, wc);
		if (n < 0)
			return -EIO;
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, "completion of wr %llu: %s\n",
					(unsigned long long)wc[i].wr_id,
					ibv_wc_status_str(wc[i].status));
				ret = -EIO;
			}
		}
		want -= n;
		if (want <= 0)
			break;
		/* soft-RoCE completes in a kernel thread: let it run. */
		if (!n)
			sched_yield();
		if (now_ms() > end) {
			fprintf(stderr, "no completion within %d ms\n",
				timeout_ms);
			return -ETIMEDOUT;
		}
	}
	return ret;
}

static int loop_post(struct loop *l, enum ibv_wr_opcode op,
		     const struct ibv_sge *sge, int nsge, uint64_t raddr,
		     uint32_t rkey)
{
	struct ibv_sge s[LOOP_MAX_SGE];
	struct ibv_send_wr wr, *bad;
	int ret;

	if (nsge > LOOP_MAX_SGE)
		return -E2BIG;
	memcpy(s, sge, sizeof(*sge) * (size_t)nsge);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = (uint64_t)op + 1;
	wr.sg_list = s;
	wr.num_sge = nsge;
	wr.opcode = op;
	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	ret = ibv_post_send(l->qp[0], &wr, &bad);
	return ret ? -ret : 0;
}

int loop_write(struct loop *l, const struct ibv_sge *sge, int nsge,
	       uint64_t raddr, uint32_t rkey, int timeout_ms)
{
	int ret = loop_post(l, IBV_WR_RDMA_WRITE, sge, nsge, raddr, rkey);

	return ret ? ret : loop_wait(l, 1, timeout_ms);
}

int loop_read(struct loop *l, const struct ibv_sge *sge, int nsge,
	      uint64_t raddr, uint32_t rkey, int timeout_ms)
{
	int ret = loop_post(l, IBV_WR_RDMA_READ, sge, nsge, raddr, rkey);

	return ret ? ret : loop_wait(l, 1, timeout_ms);
}

int loop_send(struct loop *l, const struct ibv_sge *sge, int nsge,
	      int timeout_ms)
{
	int ret = loop_post(l, IBV_WR_SEND, sge, nsge, 0, 0);

	/* The send's and the receive's completions. */
	return ret ? ret : loop_wait(l, 2, timeout_ms);
}

int loop_post_recv(struct loop *l, const struct ibv_sge *sge, int nsge)
{
	struct ibv_sge s[LOOP_MAX_SGE];
	struct ibv_recv_wr wr, *bad;
	int ret;

	if (nsge > LOOP_MAX_SGE)
		return -E2BIG;
	memcpy(s, sge, sizeof(*sge) * (size_t)nsge);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 100;
	wr.sg_list = s;
	wr.num_sge = nsge;
	ret = ibv_post_recv(l->qp[1], &wr, &bad);
	return ret ? -ret : 0;
}
