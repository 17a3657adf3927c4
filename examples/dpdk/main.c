// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vtop-dpdk: DPDK packet buffers in ordinary (4 KiB, THP or hugetlb) memory
 * pinned by libvtop, at libvtop's DMA addresses, moved by a real PMD.
 *
 *   vtop-dpdk [EAL options] -- [options]
 *
 * The packet memory is mmap()ed, registered with vtop_mem_register(), given
 * to a DPDK malloc heap with the per-page IOVA table libvtop reports, and
 * the mbuf pool is created on that heap. Port 0 transmits numbered frames
 * with distinct payloads, port 1 receives them into mbufs of the same pool;
 * every payload must arrive byte-exact and in order, and every mbuf the PMD
 * used must lie in the vtop-registered memory (not in the EAL's hugepages)
 * with the DMA address libvtop gave for it.
 *
 * Behind an IOMMU each NIC has its own domain, so its own IOVAs. With
 * --attach (NIC 0, the environment's device) and --attach1 (NIC 1,
 * vtop_dev_attach()) one process drives both: each port gets a region of
 * its own, registered once (libvtop maps every registration for both
 * devices), on a heap of its own whose IOVA table is that port's device's
 * translation (vtop_vtophys() for NIC 0, vtop_vtophys_dev() for NIC 1),
 * with the port's pool and descriptor rings on it. One VA range cannot be
 * in two heaps, hence two regions.
 *
 * Options:
 *   --mem KIND[,KIND...]   packet memory: 4k, thp, hugetlb (default 4k);
 *                          several: one run after the other in this process
 *   --size BYTES           packet memory size (default 8 MiB)
 *   --count N              frames to send (default 256)
 *   --iova T[,T...]        the IOVA table: vtop (libvtop's addresses), or a
 *                          deliberately wrong one: va (the virtual
 *                          addresses), prev-page (each page given the
 *                          previous page's address); several: one run each
 *                          (for every --mem)
 *   --attach BDF           libvtop attached to this PCI device (NIC 0,
 *                          struct vtop_env_opts.pci_device): IOVAs of its
 *                          IOMMU domain; the descriptor rings are put in
 *                          the vtop memory too (the EAL's own memory has
 *                          physical addresses the device cannot reach)
 *   --attach1 BDF          with --attach: port 1's device (NIC 1), attached
 *                          with vtop_dev_attach(); each port then has its
 *                          own region, heap, pool and rings, at its own
 *                          device's IOVAs. NIC 1's domain is padded first
 *                          (PAD_BYTES pinned on a descriptor of its own)
 *                          so that no page has the same IOVA for both
 *                          devices (checked)
 *   --rx-table nic1|nic0   with --attach1: port 1's table from NIC 1's
 *                          IOVAs (default) or, the negative control, from
 *                          NIC 0's; the padding is then unpinned, so those
 *                          addresses are a hole in NIC 1's domain
 *   --rings vtop|eal       where the descriptor rings live (default: vtop
 *                          with --attach, eal otherwise)
 *   --rx-timeout SEC       give up after SEC s without a first frame (10);
 *                          SIGINT or SIGTERM ends the wait too (the
 *                          frames missing then count as lost)
 *   --unregister-stopped   stop the ports, vtop_mem_unregister(), then
 *                          tear down (ports, pool, heap, EAL)
 *
 * Each run prints "result: KIND TABLE: PASS" or "...: FAIL (N problem(s))".
 * With --attach (rings in the vtop heap) there is one run only.
 *
 * Exit: 0 all checks passed, 1 a check failed, 2 set-up error, 4 skipped
 * (the module cannot attach).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_mempool.h>

#include <vtop.h>

#include "pktmem.h"

#define ETHER_TYPE	0x88b5	/* IEEE local experimental */
#define MAGIC		"VTOPDPDK"
#define FRAME_MIN	60
#define FRAME_MAX	1514
#define HDR_LEN		(14 + 8 + 4 + 4)
#define BURST		32
#define NB_RXD		512
#define NB_TXD		512
#define NB_MBUFS	1280

static const struct rte_ether_addr dst_mac = {
	.addr_bytes = { 0x02, 0x76, 0x74, 0x6f, 0x70, 0x01 } };

#define MAX_RUNS	8

static struct {
	enum pktmem_kind kind[MAX_RUNS];
	unsigned int nr_kinds;
	size_t size;
	unsigned int count;
	enum pktmem_iova iova[MAX_RUNS];
	unsigned int nr_iovas;
	const char *attach;
	const char *attach1;
	bool rx_table_nic0;
	int rings_vtop;		/* -1: default */
	unsigned int rx_timeout;
	bool unregister_stopped;
} opt = {
	.size = 8UL << 20, .count = 256, .rings_vtop = -1, .rx_timeout = 10,
};

/*
 * The current run's packet memory, table and pool: one, for both ports;
 * with --attach1 one per port, port p's in sides[p], at its device's IOVAs.
 */
struct side {
	struct pktmem mem;
	struct rte_mempool *pool;
	enum pktmem_iova iova;
	const struct vtop_dev *dev;	/* whose IOVAs; NULL: vtop_vtophys() */
	const char *name;
};
static struct side sides[2];
static unsigned int nr_sides = 1;
static struct vtop_dev *dev1;	/* NIC 1, with --attach1 */
static unsigned int problems;	/* of the current run */

static struct side *side_of(uint16_t port)
{
	return nr_sides == 2 && port == 1 ? &sides[1] : &sides[0];
}

#define problem(...) do { problems++; printf("FAIL: " __VA_ARGS__); } while (0)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t frame_len(uint32_t seq)
{
	return FRAME_MIN + (seq * 97u) % (FRAME_MAX - FRAME_MIN + 1);
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31u + i * 7u + (i >> 8) + 0x5a);
}

/* The address the table gave DPDK for @p, which the mbufs must carry. */
static uint64_t table_iova(const struct pktmem *m, const void *p)
{
	size_t off = (size_t)((const char *)p - m->va);

	return m->iovas[off / m->page_sz] + off % m->page_sz;
}

/* libvtop's address of @p for the side's device. */
static uint64_t device_iova(const struct side *s, const void *p)
{
	return s->dev ? vtop_vtophys_dev(s->dev, p, NULL) : vtop_vtophys(p, NULL);
}

/*
 * An mbuf the PMD is handed or hands back: its buffer must be in the vtop
 * memory, in an external memseg list (not the EAL's hugepages), with the
 * address from the table; with the true table that is libvtop's address.
 */
static unsigned int bad_mbufs;
static unsigned int foreign_iova_mbufs;	/* the control: not the device's address */

static void check_mbuf(const struct side *s, const struct rte_mbuf *m, const char *what)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(m->buf_addr);
	const char *why = NULL;

	if (!pktmem_contains(&s->mem, m->buf_addr, m->buf_len))
		why = nr_sides == 2 ? "buffer outside its port's vtop-registered memory" :
		      "buffer outside the vtop-registered memory";
	else if (!msl || !msl->external)
		why = "buffer not in an external memseg list";
	else if (m->buf_iova != table_iova(&s->mem, m->buf_addr))
		why = "buf_iova is not the table's address";
	else if (s->iova == PKTMEM_IOVA_VTOP &&
		 m->buf_iova != device_iova(s, m->buf_addr))
		why = s->dev ? "buf_iova is not vtop_vtophys_dev() of the port's device" :
		      "buf_iova is not vtop_vtophys()";
	if (!why && s->iova == PKTMEM_IOVA_NIC0 &&
	    m->buf_iova != device_iova(s, m->buf_addr))
		foreign_iova_mbufs++;
	if (why && bad_mbufs++ < 5)
		problem("%s mbuf %p (buf %p, iova 0x%" PRIx64 "): %s\n", what,
			(void *)m, m->buf_addr, (uint64_t)m->buf_iova, why);
}

static struct rte_mbuf *make_frame(uint16_t port, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(side_of(port)->pool);
	uint16_t len = frame_len(seq);
	struct rte_ether_hdr *eh;
	uint8_t *p;
	uint32_t i;

	if (!m)
		return NULL;
	check_mbuf(side_of(port), m, "tx");
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	if (!p) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	eh = (struct rte_ether_hdr *)p;
	eh->dst_addr = dst_mac;
	rte_eth_macaddr_get(port, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(ETHER_TYPE);
	memcpy(p + 14, MAGIC, 8);
	memcpy(p + 22, &seq, 4);
	memcpy(p + 26, &len, 2);
	memset(p + 28, 0, 2);
	for (i = HDR_LEN; i < len; i++)
		p[i] = pattern(seq, i);
	return m;
}

struct rx_state {
	uint32_t next;		/* the next sequence number expected */
	unsigned int seen, ok, bad, out_of_order, foreign;
};

static void check_frame(struct rx_state *st, const struct side *s, struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t seq, i, diffs = 0, first = 0;
	uint16_t len;

	st->seen++;
	check_mbuf(s, m, "rx");
	if (m->nb_segs != 1 || m->pkt_len < HDR_LEN ||
	    rte_be_to_cpu_16(((const struct rte_ether_hdr *)p)->ether_type) != ETHER_TYPE ||
	    memcmp(p + 14, MAGIC, 8)) {
		if (st->foreign++ < 5)
			problem("rx: frame of %u bytes is not one of ours (garbled header)\n",
				m->pkt_len);
		return;
	}
	memcpy(&seq, p + 22, 4);
	memcpy(&len, p + 26, 2);
	if (seq != st->next) {
		if (st->out_of_order++ < 5)
			problem("rx: frame %u where %u was expected\n", seq, st->next);
	}
	st->next = seq + 1;
	if (len != frame_len(seq) || m->pkt_len != len) {
		if (st->bad++ < 5)
			problem("rx: frame %u: %u bytes, sent %u\n", seq,
				m->pkt_len, frame_len(seq));
		return;
	}
	for (i = HDR_LEN; i < len; i++) {
		if (p[i] != pattern(seq, i)) {
			if (!diffs++)
				first = i;
		}
	}
	if (diffs) {
		if (st->bad++ < 5)
			problem("rx: frame %u: %u of %u payload bytes differ, first at %u (0x%02x, sent 0x%02x)\n",
				seq, diffs, len - HDR_LEN, first, p[first],
				pattern(seq, first));
		return;
	}
	st->ok++;
}

static int port_configure(uint16_t port)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc)
		fprintf(stderr, "rte_eth_dev_configure(%u): %s\n", port, rte_strerror(-rc));
	return rc;
}

/* Queues on @pool, then start (the port is stopped). */
static int port_start(uint16_t port, int ring_socket, struct rte_mempool *pool,
		      uint16_t nb_rxd)
{
	int rc;

	/* The PMD allocates the descriptor rings on ring_socket. */
	rc = rte_eth_rx_queue_setup(port, 0, nb_rxd, ring_socket, NULL, pool);
	if (rc) {
		fprintf(stderr, "rte_eth_rx_queue_setup(%u, socket %d): %s\n",
			port, ring_socket, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_tx_queue_setup(port, 0, NB_TXD, ring_socket, NULL);
	if (rc) {
		fprintf(stderr, "rte_eth_tx_queue_setup(%u, socket %d): %s\n",
			port, ring_socket, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_start(port);
	if (rc) {
		fprintf(stderr, "rte_eth_dev_start(%u): %s\n", port, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_promiscuous_enable(port);
	if (rc)
		fprintf(stderr, "rte_eth_promiscuous_enable(%u): %s\n", port,
			rte_strerror(-rc));
	return rc;
}

static int wait_link(uint16_t port)
{
	struct rte_eth_link link;
	double t0 = now();

	do {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status) {
			printf("port %u: link up, %u Mbps, after %.1f s\n", port,
			       link.link_speed, now() - t0);
			return 0;
		}
		usleep(50000);
	} while (now() - t0 < 15);
	fprintf(stderr, "port %u: no link after 15 s\n", port);
	return -ETIMEDOUT;
}

/* Where the PMD put the descriptor rings: print them, check them. */
static bool rings_must_be_vtop;
static unsigned int rings_seen;

static void ring_cb(const struct rte_memzone *mz, void *arg)
{
	unsigned int port;
	const struct side *s;
	bool in_vtop;

	(void)arg;
	if (sscanf(mz->name, "eth_p%u_", &port) != 1 || !strstr(mz->name, "ring"))
		return;
	s = side_of((uint16_t)port);
	in_vtop = pktmem_contains(&s->mem, mz->addr, mz->len);
	rings_seen++;
	printf("ring %s: %p + %zu, iova 0x%" PRIx64 ", socket %d, %s%s\n",
	       mz->name, mz->addr, mz->len, (uint64_t)mz->iova, mz->socket_id,
	       in_vtop ? "in the vtop memory" : "in the EAL's hugepage memory",
	       in_vtop && nr_sides == 2 ? (port ? " of port 1 (NIC 1)" : " of port 0 (NIC 0)") : "");
	if (rings_must_be_vtop) {
		if (!in_vtop)
			problem("ring %s is not in its port's vtop memory\n", mz->name);
		else if (mz->iova != table_iova(&s->mem, mz->addr))
			problem("ring %s: iova 0x%" PRIx64 " is not the table's 0x%" PRIx64 "\n",
				mz->name, (uint64_t)mz->iova,
				table_iova(&s->mem, mz->addr));
		else if (s->iova == PKTMEM_IOVA_VTOP &&
			 mz->iova != device_iova(s, mz->addr))
			problem("ring %s: iova 0x%" PRIx64 " is not libvtop's 0x%" PRIx64 "\n",
				mz->name, (uint64_t)mz->iova, device_iova(s, mz->addr));
	}
}

static unsigned int pool_chunks;
static size_t pool_bytes;

static void chunk_cb(struct rte_mempool *mp, void *arg, struct rte_mempool_memhdr *hdr,
		     unsigned int idx)
{
	const struct side *s = arg;

	(void)mp;
	(void)idx;
	pool_chunks++;
	pool_bytes += hdr->len;
	if (!pktmem_contains(&s->mem, hdr->addr, hdr->len))
		problem("pool chunk %p + %zu is outside the vtop memory\n",
			hdr->addr, hdr->len);
	else if (hdr->iova != table_iova(&s->mem, hdr->addr))
		problem("pool chunk %p: iova 0x%" PRIx64 ", the table says 0x%" PRIx64 "\n",
			hdr->addr, (uint64_t)hdr->iova, table_iova(&s->mem, hdr->addr));
}

static void obj_cb(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	(void)mp;
	(void)idx;
	check_mbuf(arg, obj, "pool");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vtop-dpdk [EAL options] -- [--mem 4k|thp|hugetlb[,...]] [--size BYTES]\n"
		"       [--count N] [--iova vtop|va|prev-page[,...]] [--attach BDF [--attach1 BDF\n"
		"       [--rx-table nic1|nic0]]] [--rings vtop|eal] [--rx-timeout SEC]\n"
		"       [--unregister-stopped]\n");
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "iova", required_argument, NULL, 'i' },
		{ "attach", required_argument, NULL, 'a' },
		{ "attach1", required_argument, NULL, 'A' },
		{ "rx-table", required_argument, NULL, 'T' },
		{ "rings", required_argument, NULL, 'r' },
		{ "rx-timeout", required_argument, NULL, 't' },
		{ "unregister-stopped", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *tok;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			opt.nr_kinds = 0;
			for (tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (opt.nr_kinds == MAX_RUNS)
					return -1;
				if (!strcmp(tok, "4k"))
					opt.kind[opt.nr_kinds++] = PKTMEM_4K;
				else if (!strcmp(tok, "thp"))
					opt.kind[opt.nr_kinds++] = PKTMEM_THP;
				else if (!strcmp(tok, "hugetlb"))
					opt.kind[opt.nr_kinds++] = PKTMEM_HUGETLB;
				else
					return -1;
			}
			break;
		case 's': opt.size = strtoull(optarg, NULL, 0); break;
		case 'c': opt.count = strtoul(optarg, NULL, 0); break;
		case 'i':
			opt.nr_iovas = 0;
			for (tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (opt.nr_iovas == MAX_RUNS)
					return -1;
				if (!strcmp(tok, "vtop"))
					opt.iova[opt.nr_iovas++] = PKTMEM_IOVA_VTOP;
				else if (!strcmp(tok, "va"))
					opt.iova[opt.nr_iovas++] = PKTMEM_IOVA_VA;
				else if (!strcmp(tok, "prev-page"))
					opt.iova[opt.nr_iovas++] = PKTMEM_IOVA_PREV_PAGE;
				else
					return -1;
			}
			break;
		case 'a': opt.attach = optarg; break;
		case 'A': opt.attach1 = optarg; break;
		case 'T':
			if (!strcmp(optarg, "nic0"))
				opt.rx_table_nic0 = true;
			else if (strcmp(optarg, "nic1"))
				return -1;
			break;
		case 'r':
			if (!strcmp(optarg, "vtop"))
				opt.rings_vtop = 1;
			else if (!strcmp(optarg, "eal"))
				opt.rings_vtop = 0;
			else
				return -1;
			break;
		case 't': opt.rx_timeout = strtoul(optarg, NULL, 0); break;
		case 'u': opt.unregister_stopped = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || !opt.count || opt.count > 100000 || !opt.size)
		return -1;
	if (!opt.nr_kinds)
		opt.kind[opt.nr_kinds++] = PKTMEM_4K;
	if (!opt.nr_iovas)
		opt.iova[opt.nr_iovas++] = PKTMEM_IOVA_VTOP;
	if (opt.rings_vtop < 0)
		opt.rings_vtop = opt.attach != NULL;
	/* two devices: each port's rings at its own device's IOVAs, 4 KiB pages */
	if (opt.attach1 && (!opt.attach || !opt.rings_vtop || opt.nr_iovas > 1 ||
			    opt.iova[0] != PKTMEM_IOVA_VTOP))
		return -1;
	if (opt.rx_table_nic0 && !opt.attach1)
		return -1;
	/* rings in the vtop heap live until the ports are closed */
	if (opt.rings_vtop && opt.nr_kinds * opt.nr_iovas > 1)
		return -1;
	return 0;
}

static const char *iova_name(enum pktmem_iova i)
{
	return i == PKTMEM_IOVA_VTOP ? "libvtop's addresses" :
	       i == PKTMEM_IOVA_VA ? "WRONG: the virtual addresses" :
	       i == PKTMEM_IOVA_NIC0 ? "WRONG: NIC 0's IOVAs for NIC 1's port" :
	       "WRONG: each page given the previous page's address";
}

static const char *iova_tag(enum pktmem_iova i)
{
	return i == PKTMEM_IOVA_VTOP ? "vtop" : i == PKTMEM_IOVA_VA ? "va" :
	       i == PKTMEM_IOVA_NIC0 ? "nic0" : "prev-page";
}

/* Send all frames on @tx while receiving on @rx. */
static void traffic(uint16_t tx, uint16_t rx, struct rx_state *st)
{
	struct rte_mbuf *pkts[BURST];
	uint32_t sent = 0;
	double last = now(), t0 = last;
	uint16_t n, i;

	while (1) {
		if (sent < opt.count) {
			uint16_t want = (uint16_t)RTE_MIN((uint32_t)BURST, opt.count - sent), done;

			for (n = 0; n < want; n++) {
				pkts[n] = make_frame(tx, sent + n);
				if (!pkts[n])
					break;
			}
			done = n ? rte_eth_tx_burst(tx, 0, pkts, n) : 0;
			for (i = done; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
			sent += done;
			if (done)
				last = now();
			if (!n && now() - last > 5) {
				problem("tx: no mbuf for 5 s after %u frames\n", sent);
				break;
			}
		}
		n = rte_eth_rx_burst(rx, 0, pkts, BURST);
		for (i = 0; i < n; i++) {
			check_frame(st, side_of(rx), pkts[i]);
			rte_pktmbuf_free(pkts[i]);
		}
		if (n)
			last = now();
		/* every frame came, intact or not */
		if (st->seen >= opt.count && sent == opt.count)
			break;
		/* nothing for a while (before the first frame: --rx-timeout) */
		if (now() - last > (st->seen ? 3.0 : opt.rx_timeout) || stop_requested)
			break;
	}
	/* let the device finish the last descriptors */
	usleep(200000);
	printf("tx: %u frames sent on port %u; traffic %.2f s\n", sent, tx, now() - t0);
}

static uint16_t nports;
static const uint16_t tx_port = 0, rx_port = 1;

static void stop_ports(void)
{
	uint16_t port;

	RTE_ETH_FOREACH_DEV(port) {
		int r = rte_eth_dev_stop(port);

		if (r)
			problem("rte_eth_dev_stop(%u): %s\n", port, rte_strerror(-r));
	}
}

/* Unregister from libvtop now, with the ports stopped and DPDK still holding the memory. */
static void unregister_stopped(void)
{
	struct vtop_info info = { .size = sizeof(info) };
	unsigned int i;
	int r;

	for (i = 0; i < nr_sides; i++) {
		r = pktmem_unregister(&sides[i].mem);
		if (r)
			problem("vtop_mem_unregister with the ports stopped: %d\n", r);
		else
			printf("teardown: vtop_mem_unregister() with the ports stopped: 0\n");
		if (vtop_vtophys(sides[i].mem.va, NULL) != VTOP_VTOPHYS_ERROR)
			problem("vtop_vtophys() still answers after the unregister\n");
	}
	if (vtop_env_get_info(&info) == 0) {
		printf("teardown: module reports %u pins, %" PRIu64 " bytes pinned\n",
		       info.nr_pins, (uint64_t)info.pinned_bytes);
		if (info.nr_pins || info.pinned_bytes)
			problem("pins left after the unregister\n");
	}
}

/* The pools, then the heaps (pktmem_free: heap, pins, pages). */
static void free_run_memory(void)
{
	unsigned int i;

	for (i = 0; i < nr_sides; i++) {
		rte_mempool_free(sides[i].pool);
		sides[i].pool = NULL;
		pktmem_free(&sides[i].mem);
		if (sides[i].mem.heap_added)
			problem("the heap kept the vtop memory after the pool was freed\n");
	}
}

/*
 * NIC 1's IOMMU domain padded by a pin on a descriptor of this program's
 * own, attached to NIC 1, before any registration: an IOMMU domain hands
 * out IOVAs in the order of its mappings, and both NICs' domains see the
 * same registrations in the same order, so without it a page would have
 * the same IOVA for both and a port given the other device's table would
 * work by accident. libvtop has no way to map memory for one device only,
 * hence the raw ioctls (the uapi header, which <vtop.h> includes).
 */
#define PAD_BYTES	(32UL << 20)
static struct {
	int fd;
	void *mem;
	uint64_t handle;
	uint64_t iova;
	bool pinned;
} pad = { .fd = -1 };

static int pad_domain(const char *bdf)
{
	struct vtop_attach a = { .size = sizeof(a) };
	struct vtop_pin p = { .size = sizeof(p) };
	struct vtop_segment seg;
	unsigned int dom = 0, bus, slot, fn;
	int err;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 &&
	    (dom = 0, sscanf(bdf, "%x:%x.%x", &bus, &slot, &fn) != 3))
		return -EINVAL;
	pad.fd = open(VTOP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (pad.fd < 0)
		return -errno;
	a.pci_domain = dom;
	a.pci_bdf = bus << 8 | slot << 3 | fn;
	if (ioctl(pad.fd, VTOP_IOC_ATTACH, &a))
		return -errno;
	pad.mem = mmap(NULL, PAD_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pad.mem == MAP_FAILED) {
		err = -errno;
		pad.mem = NULL;
		return err;
	}
	p.flags = VTOP_PIN_PARTIAL;
	p.vaddr = (uintptr_t)pad.mem;
	p.length = PAD_BYTES;
	p.segs = (uintptr_t)&seg;
	p.nr_segs = 1;
	if (ioctl(pad.fd, VTOP_IOC_PIN, &p))
		return -errno;
	pad.handle = p.handle;
	pad.pinned = true;
	pad.iova = seg.dma_addr;
	printf("padding: %lu MiB pinned in %s's IOMMU domain on a descriptor of its own, IOVA 0x%" PRIx64 "\n",
	       PAD_BYTES >> 20, bdf, pad.iova);
	return 0;
}

static void pad_release(void)
{
	struct vtop_unpin u = { .size = sizeof(u), .handle = pad.handle };

	if (pad.pinned && !ioctl(pad.fd, VTOP_IOC_UNPIN, &u))
		pad.pinned = false;
	if (pad.fd >= 0 && !pad.pinned) {
		close(pad.fd);
		pad.fd = -1;
	}
	if (pad.mem && !pad.pinned) {
		munmap(pad.mem, PAD_BYTES);
		pad.mem = NULL;
	}
}

/*
 * Two devices: each page of both regions must have an IOVA for NIC 0 and
 * one for NIC 1, and never the same (else a table from the wrong device
 * would go unnoticed).
 */
static void check_two_devices(void)
{
	unsigned int i, same = 0, missing = 0, pages = 0;
	size_t off;

	for (i = 0; i < 2; i++) {
		for (off = 0; off < sides[i].mem.len; off += 4096) {
			const char *va = sides[i].mem.va + off;
			uint64_t a = vtop_vtophys(va, NULL);
			uint64_t b = vtop_vtophys_dev(dev1, va, NULL);

			pages++;
			if (a == VTOP_VTOPHYS_ERROR || b == VTOP_VTOPHYS_ERROR)
				missing++;
			else if (a == b)
				same++;
		}
	}
	printf("device IOVAs: %u pages in both regions, NIC 0's IOVA equals NIC 1's on %u, missing on %u\n",
	       pages, same, missing);
	if (same || missing)
		problem("the two devices' IOVAs are not distinct\n");
}

/*
 * The control (port 1's table from NIC 0's IOVAs): none of those may be an
 * address NIC 1's domain maps for this program's registrations, or the
 * control would move frames through other packet memory instead of
 * failing. Returns how many are.
 */
static unsigned int control_overlap(void)
{
	struct vtop_segment segs[2][64];
	uint32_t nr[2] = { 64, 64 }, j, k;
	unsigned int i, hit = 0;
	const struct pktmem *m = &sides[1].mem;

	for (k = 0; k < 2; k++) {
		if (vtop_dev_get_segs(dev1, sides[k].mem.va, sides[k].mem.len,
				      segs[k], &nr[k])) {
			problem("vtop_dev_get_segs(NIC 1): %s\n", vtop_last_error());
			return m->n_pages;
		}
	}
	for (i = 0; i < m->n_pages; i++) {
		for (k = 0; k < 2; k++) {
			for (j = 0; j < nr[k]; j++) {
				if (m->iovas[i] >= segs[k][j].dma_addr &&
				    m->iovas[i] - segs[k][j].dma_addr < segs[k][j].len)
					break;
			}
			if (j < nr[k]) {
				hit++;
				break;
			}
		}
	}
	return hit;
}

/* A side's memory of @kind, registered, its table, heap and pool. */
static int side_setup(unsigned int n, struct side *s, enum pktmem_kind kind)
{
	char heap[24], pname[24];
	unsigned int eq, unk;

	snprintf(heap, sizeof(heap), "vtop%u%s", n, s == &sides[1] ? "_p1" : "");
	snprintf(pname, sizeof(pname), "vtop_pool%u%s", n, s == &sides[1] ? "_p1" : "");
	if (pktmem_alloc(&s->mem, kind, opt.size) ||
	    pktmem_register(&s->mem, s->dev, s->iova) ||
	    pktmem_add_heap(&s->mem, heap))
		return 2;
	printf("packet memory%s: %s, %zu bytes at %p (%" PRIu64 " in 2 MiB pages), "
	       "%u pages of %zu in the table, %u DMA segment(s) from libvtop, "
	       "heap socket %d; table: %s\n", s->name,
	       pktmem_kind_name(kind), s->mem.len, (void *)s->mem.va, s->mem.bytes_2m,
	       s->mem.n_pages, s->mem.page_sz, s->mem.nr_segs, s->mem.socket_id,
	       iova_name(s->iova));
	if (nr_sides == 2)
		printf("IOVA table%s: built from %s, first page 0x%" PRIx64 " (NIC 0's 0x%" PRIx64
		       ", NIC 1's 0x%" PRIx64 ")\n", s->name,
		       s->iova == PKTMEM_IOVA_NIC0 || !s->dev ? "vtop_vtophys() (NIC 0)" :
		       "vtop_vtophys_dev() (NIC 1)", s->mem.iovas[0],
		       vtop_vtophys(s->mem.va, NULL), vtop_vtophys_dev(dev1, s->mem.va, NULL));

	/* libvtop's addresses against pagemap: all equal in physical mode, none attached */
	if (pktmem_count_phys_equal(&s->mem, &eq, &unk))
		problem("cannot read /proc/self/pagemap\n");
	else
		printf("IOVA check%s: %zu pages, DMA address equals the physical address on %u, unknown on %u\n",
		       s->name, s->mem.len / 4096, eq, unk);

	s->pool = rte_pktmbuf_pool_create(pname, NB_MBUFS, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, s->mem.socket_id);
	if (!s->pool) {
		fprintf(stderr, "rte_pktmbuf_pool_create on socket %d: %s\n",
			s->mem.socket_id, rte_strerror(rte_errno));
		return 2;
	}
	pool_chunks = 0;
	pool_bytes = 0;
	bad_mbufs = 0;
	rte_mempool_mem_iter(s->pool, chunk_cb, s);
	rte_mempool_obj_iter(s->pool, obj_cb, s);
	printf("pool%s: %u mbufs of %u bytes in %u chunk(s), %zu KiB of the vtop memory%s\n",
	       s->name, s->pool->size,
	       s->pool->elt_size + s->pool->header_size + s->pool->trailer_size,
	       pool_chunks, pool_bytes >> 10,
	       bad_mbufs ? "" : ", every buf_iova from the table");
	return 0;
}

/*
 * One run: packet memory of @kind with an IOVA table of @iova, a heap and
 * a pool on it (with --attach1: one each per port), the queues set up on
 * that pool, traffic, stop. Returns 0 (the checks counted in problems) or
 * 2 for a set-up error.
 */
static int run(unsigned int n, enum pktmem_kind kind, enum pktmem_iova iova)
{
	struct rx_state st = { 0 };
	int started = 0;
	unsigned int lost, i, total_bad = 0;
	uint16_t port;
	int rc = 2;

	problems = bad_mbufs = pool_chunks = rings_seen = foreign_iova_mbufs = 0;
	pool_bytes = 0;
	printf("=== run %u: %s memory, table: %s ===\n", n, pktmem_kind_name(kind),
	       iova_name(opt.rx_table_nic0 ? PKTMEM_IOVA_NIC0 : iova));
	sides[0].iova = iova;
	sides[0].name = nr_sides == 2 ? " of port 0 (NIC 0)" : "";
	sides[1].iova = opt.rx_table_nic0 ? PKTMEM_IOVA_NIC0 : iova;
	sides[1].dev = dev1;
	sides[1].name = " of port 1 (NIC 1)";
	for (i = 0; i < nr_sides; i++) {
		if (side_setup(n, &sides[i], kind))
			goto out;
		total_bad += bad_mbufs;
	}
	bad_mbufs = total_bad;
	if (nr_sides == 2) {
		check_two_devices();
		if (opt.rx_table_nic0) {
			unsigned int hit = control_overlap();

			printf("control: port 1's table has NIC 0's IOVAs; %u of %u pages are addresses NIC 1 maps for this process\n",
			       hit, sides[1].mem.n_pages);
			if (hit)
				problem("the control's addresses reach this process's memory through NIC 1\n");
			/* a hole in NIC 1's domain where NIC 0's IOVAs lie */
			pad_release();
			printf("control: padding unpinned (%s)\n",
			       pad.pinned ? "FAILED" : "NIC 0's IOVAs are a hole in NIC 1's domain");
		}
	}

	rings_must_be_vtop = opt.rings_vtop;
	RTE_ETH_FOREACH_DEV(port) {
		struct side *s = side_of(port);
		int ring_socket = opt.rings_vtop ? s->mem.socket_id : (int)rte_socket_id();

		/* a port that only sends needs few receive buffers */
		if (port_start(port, ring_socket, s->pool, port == rx_port ? NB_RXD : 64))
			goto out;
		started = 1;
	}
	rte_memzone_walk(ring_cb, NULL);
	if (rings_must_be_vtop && rings_seen < 2u * nports)
		problem("%u descriptor rings found, %u expected\n", rings_seen, 2 * nports);
	RTE_ETH_FOREACH_DEV(port) {
		if (wait_link(port))
			goto out;
	}

	traffic(tx_port, rx_port, &st);
	{
		unsigned int got = st.ok + st.bad + st.foreign;

		lost = got < opt.count ? opt.count - got : 0;
		printf("rx: %u frames intact, %u corrupted, %u not ours, %u out of order, %u lost (port %u)\n",
		       st.ok, st.bad, st.foreign, st.out_of_order, lost, rx_port);
		if (lost)
			problem("rx: %u of %u frames lost\n", lost, opt.count);
		if (st.ok == opt.count && !st.out_of_order)
			printf("rx: all %u frames arrived byte-exact and in order\n", opt.count);
	}
	if (bad_mbufs)
		problem("%u mbufs outside the vtop memory or with another address\n", bad_mbufs);
	else if (nr_sides == 2)
		printf("mbufs: every one the PMD used is in its port's vtop memory with its device's address from the table\n");
	else
		printf("mbufs: every one the PMD used is in the vtop memory with the table's address\n");
	if (sides[nr_sides - 1].iova == PKTMEM_IOVA_NIC0)
		printf("control: %u of port 1's pool's mbufs carry an address other than vtop_vtophys_dev() of NIC 1\n",
		       foreign_iova_mbufs);
	rc = 0;
out:
	if (started)
		stop_ports();
	if (!rc && opt.unregister_stopped)
		unregister_stopped();
	/* rings in the vtop heap: freed after the ports are closed */
	if (!opt.rings_vtop)
		free_run_memory();
	if (rc)
		printf("result: %s %s: ERROR (set-up failed)\n", pktmem_kind_name(kind),
		       iova_tag(sides[nr_sides - 1].iova));
	else
		printf("result: %s %s: %s%.0u%s\n", pktmem_kind_name(kind),
		       iova_tag(sides[nr_sides - 1].iova),
		       problems ? "FAIL (" : "PASS", problems, problems ? " problem(s))" : "");
	return rc;
}

int main(int argc, char **argv)
{
	struct vtop_env_opts vo = VTOP_ENV_OPTS_INIT;
	struct vtop_info info = { .size = sizeof(info) };
	unsigned int k, i, n = 0, failed = 0;
	uint16_t port;
	double t[4];
	int rc;

	t[0] = now();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argv[rc] = argv[0];
	if (parse(argc - rc, argv + rc)) {
		usage(stderr);
		rte_eal_cleanup();
		return 2;
	}
	printf("EAL: IOVA mode %s\n", rte_eal_iova_mode() == RTE_IOVA_PA ? "PA" : "VA");
	t[1] = now();

	vo.pci_device = opt.attach;
	rc = vtop_env_init(&vo);
	if (rc) {
		fprintf(stderr, "vtop_env_init: %s\n", vtop_last_error());
		rte_eal_cleanup();
		return rc == -EOPNOTSUPP ? 4 : 2;
	}
	if (vtop_env_get_info(&info) == 0)
		printf("libvtop %s: %s mode%s%s\n", vtop_version(),
		       info.mode == VTOP_MODE_IOVA ? "IOVA (attached)" : "physical",
		       opt.attach ? ", device " : "", opt.attach ? opt.attach : "");
	if (opt.attach1) {
		rc = pad_domain(opt.attach1);
		if (rc) {
			fprintf(stderr, "padding %s's IOMMU domain: %s\n", opt.attach1,
				strerror(-rc));
			rc = 2;
			goto out;
		}
		rc = vtop_dev_attach(opt.attach1, &dev1);
		if (rc) {
			fprintf(stderr, "vtop_dev_attach(%s): %s\n", opt.attach1,
				vtop_last_error());
			rc = rc == -EOPNOTSUPP ? 4 : 2;
			goto out;
		}
		nr_sides = 2;
		printf("libvtop: device %s attached (vtop_dev_attach), port 1's\n",
		       vtop_dev_name(dev1));
	}

	nports = rte_eth_dev_count_avail();
	if (nports != 2) {
		fprintf(stderr, "%u ports, need 2\n", nports);
		rc = 2;
		goto out;
	}
	RTE_ETH_FOREACH_DEV(port) {
		if (port_configure(port)) {
			rc = 2;
			goto out;
		}
	}
	for (k = 0; k < opt.nr_kinds && !rc; k++) {
		for (i = 0; i < opt.nr_iovas && !rc; i++) {
			rc = run(++n, opt.kind[k], opt.iova[i]);
			if (problems)
				failed++;
		}
	}
out:
	t[2] = now();
	problems = 0;
	RTE_ETH_FOREACH_DEV(port) {
		int r = rte_eth_dev_close(port);

		if (r)
			problem("rte_eth_dev_close(%u): %s\n", port, rte_strerror(-r));
	}
	if (opt.rings_vtop)
		free_run_memory();
	if (problems)
		failed++;
	rte_eal_cleanup();
	pad_release();
	vtop_env_fini();
	t[3] = now();
	printf("time: EAL %.1f s, %u run(s) %.1f s, teardown %.1f s\n",
	       t[1] - t[0], n, t[2] - t[1], t[3] - t[2]);
	if (rc)
		return rc;
	if (failed) {
		printf("FAIL: %u of %u run(s) failed\n", failed, n);
		return 1;
	}
	printf("PASS: %u run(s)\n", n);
	return 0;
}
