// SPDX-License-Identifier: LGPL-2.1-or-later
/* The kmod backend: one VTOP_IOC_PIN per registration on /dev/vtop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * Segments the first ioctl of a pin has room for, and the most one
 * GET_SEGS call asks for. A pin with more gets an array of exactly its
 * segment count (32 bytes a segment, not a page), which the caller frees
 * once the segments are in its maps: nothing grows with the largest
 * registration ever made.
 */
#define CHUNK_SEGS	64U
#define PAGE_SEGS	65536U

struct kmod_backend {
	int fd;
	char path[256];
	/* VTOP_FEATURE_PARTIAL: PIN and GET_SEGS page through short arrays */
	bool partial;
	/* The first segments of every pin (under vtop__lock). */
	struct vtop_segment chunk[CHUNK_SEGS];
	/* VTOP_FEATURE_EVENTS: the event page, or NULL */
	const struct vtop_event_page *page;
};

static int pin_error(struct kmod_backend *kb, int err, uint64_t va,
		     uint64_t len)
{
	switch (err) {
	case EFAULT:
		return vtop__err(-err, "pin 0x%llx+0x%llx: not all of it is mapped, writable, ordinary memory",
				(unsigned long long)va, (unsigned long long)len);
	case ENOMEM:
		return vtop__err(-err, "pin 0x%llx+0x%llx: RLIMIT_MEMLOCK (ulimit -l) or the module's max_pin_bytes would be exceeded, or the kernel is out of memory",
				(unsigned long long)va, (unsigned long long)len);
	case EOVERFLOW:
		return vtop__err(-err, "pin 0x%llx+0x%llx: longer than the module pins at once (VTOP_PIN_MAX_PAGES pages): register it in parts",
				(unsigned long long)va, (unsigned long long)len);
	case ENOSPC:
		return vtop__err(-err, "pin: the module's per-descriptor pin limit (max_pins) is reached");
	case EACCES:
		return vtop__err(-err, "pin: %s was opened by another process (after fork(), call vtop_env_fini() and vtop_env_init() in the child)",
				kb->path);
	case EOPNOTSUPP:
		return vtop__err(-err, "pin 0x%llx+0x%llx: the mapping refuses long-term pins (fsdax?)",
				(unsigned long long)va, (unsigned long long)len);
	default:
		return vtop__err(-err, "VTOP_IOC_PIN 0x%llx+0x%llx failed",
				(unsigned long long)va, (unsigned long long)len);
	}
}

/* Inlined: one call less on every registration's path. */
static inline __attribute__((always_inline))
int pin_ioctl(struct kmod_backend *kb, uint32_t flags, uint64_t va,
	      uint64_t len, struct vtop_segment *segs, uint32_t *nr,
	      uint64_t *handle)
{
	struct vtop_pin p = {
		.size = sizeof(p), .flags = flags, .vaddr = va, .length = len,
		.segs = (uintptr_t)segs, .nr_segs = *nr,
	};
	int err = ioctl(kb->fd, VTOP_IOC_PIN, &p) ? errno : 0;

	if (!err || err == ENOBUFS)
		*nr = p.nr_segs;
	*handle = p.handle;
	return err;
}

/*
 * The segments of pin @handle of [va, va + len) after the first @got
 * ones, into @segs (room for @total), PAGE_SEGS per GET_SEGS call.
 */
static int get_rest(struct kmod_backend *kb, uint64_t handle, uint64_t va,
		    uint64_t len, struct vtop_segment *segs, uint32_t got,
		    uint32_t total)
{
	while (got < total) {
		const struct vtop_segment *last = &segs[got - 1];
		struct vtop_get_segs g = {
			.size = sizeof(g), .flags = VTOP_GET_SEGS_PARTIAL,
			.handle = handle,
			.offset = last->vaddr + last->len - va,
			.segs = (uintptr_t)(segs + got),
			.nr_segs = total - got < PAGE_SEGS ? total - got :
				   PAGE_SEGS,
		};
		uint32_t asked = g.nr_segs;

		if (g.offset >= len || ioctl(kb->fd, VTOP_IOC_GET_SEGS, &g))
			return vtop__err(g.offset >= len ? -EIO : -errno,
					"VTOP_IOC_GET_SEGS of pin 0x%llx+0x%llx at 0x%llx failed",
					(unsigned long long)va,
					(unsigned long long)len,
					(unsigned long long)g.offset);
		/* A live pin's segments never change. */
		if (g.nr_segs != total - got)
			return vtop__err(-EIO, "GET_SEGS of pin 0x%llx+0x%llx: %u segments left, PIN said %u",
					(unsigned long long)va,
					(unsigned long long)len, g.nr_segs,
					total - got);
		got += asked;
	}
	return 0;
}

/*
 * Pin with a short array (VTOP_PIN_PARTIAL): the first CHUNK_SEGS
 * segments come with the PIN, the rest, if any, by GET_SEGS into an array
 * of the pin's exact size. Nothing is pinned twice.
 */
static int pin_partial(struct kmod_backend *kb, uint64_t va, uint64_t len,
		       struct vtop_pin_result *res)
{
	uint32_t nr = CHUNK_SEGS, got;
	struct vtop_segment *segs;
	uint64_t handle;
	int err, rc;

	err = pin_ioctl(kb, VTOP_PIN_PARTIAL | res->flags, va, len, kb->chunk, &nr,
			&handle);
	if (err)
		return pin_error(kb, err, va, len);
	res->handle = handle;
	if (nr <= CHUNK_SEGS) {
		res->segs = kb->chunk;
		res->borrowed = true;
		res->nr_segs = nr;
		return 0;
	}
	segs = vtop_calloc(nr, sizeof(*segs));
	if (!segs) {
		rc = vtop__err(-ENOMEM, "out of memory for %u segments", nr);
		goto unpin;
	}
	memcpy(segs, kb->chunk, sizeof(kb->chunk));
	got = CHUNK_SEGS;
	rc = get_rest(kb, handle, va, len, segs, got, nr);
	if (rc) {
		free(segs);
		goto unpin;
	}
	res->segs = segs;
	res->borrowed = false;
	res->nr_segs = nr;
	return 0;
unpin:
	{
		struct vtop_unpin u = { .size = sizeof(u), .handle = handle };

		ioctl(kb->fd, VTOP_IOC_UNPIN, &u);
	}
	return rc;
}

/*
 * A module without VTOP_PIN_PARTIAL: a short array is -ENOBUFS after the
 * whole range was pinned and released again, with the count needed;
 * retry with an array of that size (the count may change in between, as
 * the pages may: allow a few tries).
 */
static int pin_retry(struct kmod_backend *kb, uint64_t va, uint64_t len,
		     struct vtop_pin_result *res)
{
	struct vtop_segment *segs = kb->chunk, *big = NULL;
	uint32_t cap = CHUNK_SEGS, nr;
	uint64_t handle;
	int tries, err;

	for (tries = 1;; tries++) {
		nr = cap;
		err = pin_ioctl(kb, res->flags, va, len, segs, &nr, &handle);
		if (!err)
			break;
		if (err != ENOBUFS || nr <= cap || tries == 4) {
			free(big);
			return pin_error(kb, err, va, len);
		}
		free(big);
		cap = nr;
		segs = big = vtop_calloc(cap, sizeof(*big));
		if (!big)
			return vtop__err(-ENOMEM, "out of memory for %u segments",
					cap);
	}
	res->handle = handle;
	res->segs = segs;
	res->borrowed = !big;
	res->nr_segs = nr;
	return 0;
}

static int kb_pin(void *ctx, uint64_t va, uint64_t len,
		  struct vtop_pin_result *res)
{
	struct kmod_backend *kb = ctx;

	return kb->partial ? pin_partial(kb, va, len, res) :
			     pin_retry(kb, va, len, res);
}

static int kb_unpin(void *ctx, uint64_t handle)
{
	struct kmod_backend *kb = ctx;
	struct vtop_unpin u = { .size = sizeof(u), .handle = handle };

	if (ioctl(kb->fd, VTOP_IOC_UNPIN, &u))
		return vtop__err(-errno, "VTOP_IOC_UNPIN %llu failed",
				(unsigned long long)handle);
	return 0;
}

static int kb_info(void *ctx, struct vtop_info *info)
{
	struct kmod_backend *kb = ctx;

	if (ioctl(kb->fd, VTOP_IOC_INFO, info))
		return vtop__err(-errno, "VTOP_IOC_INFO on %s failed", kb->path);
	return 0;
}

/* ---- invalidation events ---------------------------------------------- */

static const struct vtop_event_page *kb_event_page(void *ctx)
{
	return ((struct kmod_backend *)ctx)->page;
}

static int kb_event_fd(void *ctx)
{
	return ((struct kmod_backend *)ctx)->fd;
}

/* The first published struct vtop_event ends after seq. */
#define EVENT_MIN_SIZE	(offsetof(struct vtop_event, seq) + sizeof(__u64))

static int kb_read_events(void *ctx, struct vtop_ev_rec *rec, size_t max)
{
	struct kmod_backend *kb = ctx;
	struct vtop_event buf[32];
	const unsigned char *p = (const unsigned char *)buf;
	size_t n = 0, off = 0;
	struct vtop_event ev;
	ssize_t got;

	if (max > VTOP_ARRAY_SIZE(buf))
		max = VTOP_ARRAY_SIZE(buf);
	/* The descriptor is O_NONBLOCK: an empty queue is -EAGAIN. */
	got = read(kb->fd, buf, max * sizeof(buf[0]));
	if (got < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return vtop__err(-errno, "reading invalidation events from %s failed",
				kb->path);
	}
	/* Records only grow at the end: step by the size the kernel says. */
	while (off < (size_t)got && n < max) {
		memcpy(&ev, p + off, (size_t)got - off < sizeof(ev) ?
		       (size_t)got - off : sizeof(ev));
		if (ev.size < EVENT_MIN_SIZE || ev.size > (size_t)got - off)
			return vtop__err(-EPROTO, "%s returned an event record of size %u",
					kb->path, ev.size);
		rec[n++] = (struct vtop_ev_rec){
			.reason = ev.reason, .handle = ev.handle,
			.vaddr = ev.vaddr, .length = ev.length, .seq = ev.seq,
		};
		off += ev.size;
	}
	return (int)n;
}

static int kb_get_invalidated(void *ctx, uint64_t **handles, uint32_t *nr,
			      uint64_t *seq)
{
	struct kmod_backend *kb = ctx;
	uint32_t cap = 64;
	uint64_t *h;
	int tries, err;

	for (tries = 0;; tries++) {
		struct vtop_get_invalidated g = { .size = sizeof(g) };

		h = vtop_calloc(cap, sizeof(*h));
		if (!h)
			return vtop__err(-ENOMEM, "out of memory for %u invalidated handles",
					cap);
		g.handles = (uintptr_t)h;
		g.nr_handles = cap;
		if (!ioctl(kb->fd, VTOP_IOC_GET_INVALIDATED, &g)) {
			*handles = h;
			*nr = g.nr_handles;
			*seq = g.seq;
			return 0;
		}
		err = errno;
		free(h);
		if (err != ENOBUFS || tries == 4)
			return vtop__err(-err, "VTOP_IOC_GET_INVALIDATED on %s failed",
					kb->path);
		/* More were invalidated since: leave some room. */
		cap = g.nr_handles + 64;
	}
}

static void kb_close(void *ctx)
{
	struct kmod_backend *kb = ctx;

	if (kb->page)
		munmap((void *)kb->page, VTOP_SIZE_4K);
	close(kb->fd);
	free(kb);
}

static const struct vtop_backend_ops kmod_ops = {
	.name = "kmod",
	.pin = kb_pin,
	.unpin = kb_unpin,
	.info = kb_info,
	.close = kb_close,
	.event_page = kb_event_page,
	.event_fd = kb_event_fd,
	.read_events = kb_read_events,
	.get_invalidated = kb_get_invalidated,
};

static int open_device(const char *path, bool may_load, const char *module)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int fd, rc, i;

	/* O_NONBLOCK: the library reads events without waiting for them. */
	fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	rc = -errno;
	if (rc == -ENOENT && may_load) {
		rc = vtop__load_module(module);
		if (rc)
			return rc;
		/* devtmpfs or udev creates the node; give it 2 s. */
		for (i = 0; i < 40; i++) {
			fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0)
				return fd;
			rc = -errno;
			if (rc != -ENOENT)
				break;
			nanosleep(&ts, NULL);
		}
	}
	if (rc == -ENOENT)
		return vtop__err(rc, "%s does not exist: the vtop module is not loaded. Load it as root (modprobe vtop, or insmod vtop.ko), or let libvtop load it: VTOP_ENV_LOAD_MODULE in struct vtop_env_opts",
				path);
	if (rc == -EPERM || rc == -EACCES)
		return vtop__err(rc, "cannot open %s: it needs CAP_SYS_RAWIO or CAP_SYS_ADMIN (run as root)",
				path);
	return vtop__err(rc, "cannot open %s", path);
}

static int attach(struct kmod_backend *kb, const struct vtop_info *info,
		  const char *pci)
{
	struct vtop_attach a = { .size = sizeof(a) };
	int rc;

	if (!(info->features & VTOP_FEATURE_ATTACH))
		return vtop__err(-EOPNOTSUPP, "the loaded vtop module cannot attach to a PCI device (no VTOP_FEATURE_ATTACH): upgrade it, or leave pci_device NULL for physical addresses");
	rc = vtop__parse_pci(pci, &a.pci_domain, &a.pci_bdf);
	if (rc)
		return vtop__err(rc, "bad PCI address \"%s\"", pci);
	if (!ioctl(kb->fd, VTOP_IOC_ATTACH, &a))
		return 0;
	rc = -errno;
	switch (rc) {
	case -ENODEV:
		return vtop__err(rc, "attach: no PCI device %s", pci);
	case -EPERM:
		return vtop__err(rc, "attach: %s must be bound to uio_pci_generic (or load vtop with attach_any_driver=1)",
				pci);
	case -EBUSY:
		return vtop__err(rc, "attach: the descriptor is busy (attached already, or has pins)");
	case -EOPNOTSUPP:
		return vtop__err(rc, "attach: %s has a lazy (DMA-FQ) IOMMU domain or is not DMA-coherent: boot with iommu.strict=1, or set its iommu_group type to DMA",
				pci);
	default:
		return vtop__err(rc, "VTOP_IOC_ATTACH %s failed", pci);
	}
}

int vtop__backend_kmod_open(const struct vtop_env_opts *opts,
			   const struct vtop_backend_ops **ops, void **ctx,
			   uint32_t *mode)
{
	const char *path = opts->device_path ? opts->device_path :
			   VTOP_DEVICE_PATH;
	struct vtop_info info = { .size = sizeof(info) };
	struct kmod_backend *kb;
	int rc;

	kb = vtop_calloc(1, sizeof(*kb));
	if (!kb)
		return vtop__err(-ENOMEM, "out of memory");
	snprintf(kb->path, sizeof(kb->path), "%s", path);
	kb->fd = open_device(path, opts->flags & VTOP_ENV_LOAD_MODULE,
			     opts->module_path);
	if (kb->fd < 0) {
		rc = kb->fd;
		free(kb);
		return rc;
	}
	rc = kb_info(kb, &info);
	if (rc)
		goto err;
	if (info.abi_version != VTOP_ABI_VERSION) {
		rc = vtop__err(-EPROTO, "the vtop module speaks ABI %u, this libvtop ABI %u",
			      info.abi_version, VTOP_ABI_VERSION);
		goto err;
	}
	if (!(info.features & VTOP_FEATURE_PIN) ||
	    info.page_size != VTOP_SIZE_4K) {
		rc = vtop__err(-EOPNOTSUPP, "the vtop module lacks PIN or its page size %u is not 4 KiB",
			      info.page_size);
		goto err;
	}
	kb->partial = info.features & VTOP_FEATURE_PARTIAL;
	if (info.features & VTOP_FEATURE_EVENTS) {
		void *pg = mmap(NULL, VTOP_SIZE_4K, PROT_READ, MAP_SHARED,
				kb->fd, 0);

		if (pg == MAP_FAILED) {
			rc = vtop__err(-errno, "mapping the event page of %s failed",
				      path);
			goto err;
		}
		kb->page = pg;
		if (kb->page->version < 1 ||
		    kb->page->size < offsetof(struct vtop_event_page, overflows)) {
			rc = vtop__err(-EPROTO, "%s: event page version %u size %u",
				      path, kb->page->version, kb->page->size);
			goto err;
		}
	}
	if (opts->pci_device) {
		rc = attach(kb, &info, opts->pci_device);
		if (rc)
			goto err;
		*mode = VTOP_MODE_IOVA;
	} else {
		*mode = VTOP_MODE_PHYS;
	}
	*ops = &kmod_ops;
	*ctx = kb;
	return 0;
err:
	kb_close(kb);
	return rc;
}
