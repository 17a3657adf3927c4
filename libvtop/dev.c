// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Several devices per process (since 0.5).
 *
 * The environment's descriptor gives the default translation: CPU physical
 * addresses, or the IOVAs of its one PCI device (struct vtop_env_opts
 * pci_device). Every further device gets a descriptor of its own, attached
 * to it with VTOP_IOC_ATTACH (the module attaches one device per
 * descriptor), and a translation map of its own. Every registration is
 * pinned on the environment's descriptor and on every device's, all or
 * nothing; a device attached while memory is registered maps every
 * registration first, all or nothing. Invalidation is driven by the
 * environment's descriptor: all descriptors pin the same pages, so the
 * kernel invalidates them together, and marking a registration clears it
 * from every device's map as well as from the vtophys map.
 *
 * Revocation (since 0.6): the module revokes a device's descriptor when
 * the device is unbound or removed (VTOP_EVENT_REVOKED records, later pins
 * -ENODEV). Each device's records are read -- by the translation fast
 * path when the device's event page seq moved, and whenever events are
 * processed -- and only VTOP_EVENT_REVOKED matters there (the rest is the
 * environment descriptor's business); a lost record (VTOP_EVENT_OVERFLOW)
 * is resolved by INFO's status (VTOP_FEATURE_STATUS) or a probe pin, and a
 * pin failing with -ENODEV says the same. A revoked device's map is
 * emptied at once (marking, vtop__ev_lock), its pins unpinned when events
 * are processed (vtop__lock); registrations go on for the other
 * descriptors and skip it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct vtop_dev *vtop__devs[VTOP_DEV_MAX];
unsigned int vtop__nr_devs;

#ifdef VTOP_TEST_HOOKS
int (*vtop__dev_open_hook)(const char *bdf, const struct vtop_backend_ops **ops,
			   void **ctx);
#endif

/*
 * vtop_last_error() copied without its "libvtop: " prefix and its
 * " (strerror)" suffix for @err: the message that wraps it adds both.
 */
void vtop__last_error_copy(char *buf, size_t size, int err)
{
	const char *e = vtop_last_error();
	char tail[96];
	size_t n, t;

	if (!strncmp(e, "libvtop: ", 9))
		e += 9;
	snprintf(buf, size, "%s", e);
	snprintf(tail, sizeof(tail), " (%s)", strerror(-err));
	n = strlen(buf);
	t = strlen(tail);
	if (n >= t && !strcmp(buf + n - t, tail))
		buf[n - t] = '\0';
}

void vtop__dev_mark_revoked_locked(struct vtop_dev *d)
{
	if (atomic_load_explicit(&d->revoked, memory_order_relaxed))
		return;
	atomic_store(&d->revoked, true);
	vtop__mem_dev_clear_map_locked(d);
}

#define DEV_REC_BATCH	32

int vtop__dev_sync_locked(struct vtop_dev *d, bool kick)
{
	struct vtop_ev_rec rec[DEV_REC_BATCH];
	uint64_t seq;
	int n, i;

	if (!d->evpage || !d->ctx)
		return 0;
	seq = __atomic_load_n(&d->evpage->seq, __ATOMIC_ACQUIRE);
	if (seq == atomic_load_explicit(&d->ev_seen, memory_order_relaxed))
		return 0;
	do {
		n = d->ops->read_events(d->ctx, rec, DEV_REC_BATCH);
		if (n < 0)
			return vtop__err(n, "reading device %s's events failed",
					d->name);
		for (i = 0; i < n; i++) {
			if (rec[i].reason == VTOP_EVENT_REVOKED &&
			    !atomic_load(&d->revoked)) {
				vtop__dev_mark_revoked_locked(d);
				/* Its pins go when events are processed. */
				if (kick)
					vtop__env_kick();
			} else if (rec[i].reason == VTOP_EVENT_OVERFLOW) {
				d->need_probe = true;
				if (kick)
					vtop__env_kick();
			}
		}
	} while (n == DEV_REC_BATCH);
	atomic_store_explicit(&d->ev_seen, seq, memory_order_relaxed);
	return 0;
}

/*
 * With vtop__lock: records of @d were lost. A module with
 * VTOP_FEATURE_STATUS says in INFO whether it revoked the descriptor;
 * otherwise a 4 KiB pin of memory pinned on it fails with -ENODEV if and
 * only if the module revoked it.
 */
static void dev_probe(struct vtop_dev *d)
{
	struct vtop_pin_result res = { 0 };
	struct vtop_info info = { .size = sizeof(info) };
	uint64_t va;
	int rc;

	if (d->ops->info && !d->ops->info(d->ctx, &info) &&
	    (info.features & VTOP_FEATURE_STATUS)) {
		if (info.status & VTOP_STATUS_REVOKED) {
			pthread_mutex_lock(&vtop__ev_lock);
			vtop__dev_mark_revoked_locked(d);
			pthread_mutex_unlock(&vtop__ev_lock);
		}
		return;
	}
	if (vtop__mem_dev_first_reg_locked(d, &va, &res.flags))
		return;
	rc = d->ops->pin(d->ctx, va, VTOP_SIZE_4K, &res);
	if (rc == -ENODEV) {
		pthread_mutex_lock(&vtop__ev_lock);
		vtop__dev_mark_revoked_locked(d);
		pthread_mutex_unlock(&vtop__ev_lock);
	} else if (!rc) {
		if (!res.borrowed)
			free(res.segs);
		d->ops->unpin(d->ctx, res.handle);
	}
}

int vtop__dev_process_locked(void)
{
	unsigned int i;
	int rc, first = 0, newly = 0;
	bool probe;

	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *d = vtop__devs[i];

		if (!d || !d->ctx)
			continue;
		pthread_mutex_lock(&vtop__ev_lock);
		rc = vtop__dev_sync_locked(d, false);
		probe = d->need_probe;
		d->need_probe = false;
		pthread_mutex_unlock(&vtop__ev_lock);
		if (rc && !first)
			first = rc;
		if (probe && !atomic_load(&d->revoked))
			dev_probe(d);
		if (atomic_load(&d->revoked) && !d->revoke_done) {
			/* The module unmapped them: UNPIN only unpins. */
			vtop__mem_dev_unpin_all_locked(d);
			d->revoke_done = true;
			newly++;
		}
	}
	return first ? first : newly;
}

int vtop__dev_pin_all(uint64_t va, uint64_t len, uint32_t flags,
		      struct vtop_dev_pins *p)
{
	char why[256];
	unsigned int i;
	int rc;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *d = vtop__devs[i];

		if (!d || atomic_load(&d->revoked))
			continue;
		p->res[i].flags = flags;
		rc = d->ops->pin(d->ctx, va, len, &p->res[i]);
		if (rc == -ENODEV) {
			/* Revoked: the others go on without it. */
			pthread_mutex_lock(&vtop__ev_lock);
			vtop__dev_mark_revoked_locked(d);
			pthread_mutex_unlock(&vtop__ev_lock);
			continue;
		}
		if (!rc) {
			p->pinned[i] = true;
			rc = vtop__check_segments(&p->res[i], va, len,
						  d->ops->name);
		}
		if (rc) {
			vtop__last_error_copy(why, sizeof(why), rc);
			vtop__dev_unpin_pins(p);
			return vtop__err(rc, "register 0x%llx+0x%llx: device %s: %s; nothing was registered",
					(unsigned long long)va,
					(unsigned long long)len, d->name, why);
		}
	}
	return 0;
}

int vtop__dev_fill_all(const struct vtop_dev_pins *p, uint64_t va,
		       uint64_t len)
{
	unsigned int i, k;
	int rc;

	for (i = 0; i < VTOP_DEV_MAX; i++) {
		/* Revoked since it pinned: its map stays empty. */
		if (!p->pinned[i] || atomic_load(&vtop__devs[i]->revoked))
			continue;
		rc = vtop__map_fill_segs(vtop__devs[i]->map, p->res[i].segs,
					 p->res[i].nr_segs, NULL, NULL);
		if (rc) {
			for (k = 0; k < i; k++)
				if (p->pinned[k])
					vtop__map_clear_range(vtop__devs[k]->map,
							      va, len);
			return rc;
		}
	}
	return 0;
}

void vtop__dev_pins_done(struct vtop_dev_pins *p)
{
	unsigned int i;

	for (i = 0; i < VTOP_DEV_MAX; i++) {
		if (p->pinned[i] && !p->res[i].borrowed)
			free(p->res[i].segs);
		p->res[i].segs = NULL;
	}
}

void vtop__dev_unpin_pins(struct vtop_dev_pins *p)
{
	unsigned int i;

	vtop__dev_pins_done(p);
	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *d = vtop__devs[i];

		if (!p->pinned[i])
			continue;
		/* An undo: the error of the call that failed is the one told. */
		d->ops->unpin(d->ctx, p->res[i].handle);
		p->pinned[i] = false;
	}
}

void vtop__dev_clear_all(uint64_t va, uint64_t len)
{
	unsigned int i;

	if (!vtop__nr_devs)
		return;
	for (i = 0; i < VTOP_DEV_MAX; i++)
		if (vtop__devs[i])
			vtop__map_clear_range(vtop__devs[i]->map, va, len);
}

int vtop__dev_unpin_handles(const uint64_t *handles, uint32_t mask,
			    uint64_t va, uint64_t len)
{
	unsigned int i;
	int rc, first = 0;

	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *d = vtop__devs[i];

		if (!(mask & (1U << i)) || !d || !d->ctx)
			continue;
		rc = d->ops->unpin(d->ctx, handles[i]);
		if (rc && !first)
			first = vtop__err(rc, "unpinning 0x%llx+0x%llx on device %s failed (the registration is gone anyway)",
					 (unsigned long long)va,
					 (unsigned long long)len, d->name);
	}
	return first;
}

static void dev_free(struct vtop_dev *d)
{
	if (d->ctx)
		d->ops->close(d->ctx);
	vtop__map_destroy(d->map);
	free(d);
}

void vtop__dev_detach_all_locked(void)
{
	unsigned int i;

	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *d = vtop__devs[i];

		if (!d)
			continue;
		/* In a fork child the descriptors are closed already. */
		vtop__mem_detach_dev_locked(d, d->ctx != NULL);
		if (d->evpage)
			vtop__env_watch_dev(d, false);
		dev_free(d);
	}
}

void vtop__dev_fork_child(void)
{
	unsigned int i;

	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *d = vtop__devs[i];

		if (d && d->ctx) {
			/* Its event page is unmapped with the descriptor. */
			d->evpage = NULL;
			d->ops->close(d->ctx);
			d->ctx = NULL;
		}
	}
}

/* Open @name's descriptor, attached to it. */
static int dev_open(struct vtop_dev *d)
{
	struct vtop_env_opts o = { .size = sizeof(o) };
	uint32_t mode = VTOP_MODE_PHYS;
	int rc;

#ifdef VTOP_TEST_HOOKS
	if (vtop__dev_open_hook)
		return vtop__dev_open_hook(d->name, &d->ops, &d->ctx);
#endif
	if (vtop__env.backend != VTOP_BACKEND_KMOD)
		return vtop__err(-EOPNOTSUPP, "vtop_dev_attach: the %s backend cannot attach a device (only the kmod backend maps memory for a device)",
				vtop__env.ops->name);
	o.device_path = vtop__env_device_path();
	o.pci_device = d->name;
	rc = vtop__backend_kmod_open(&o, &d->ops, &d->ctx, &mode);
	if (rc)
		return rc;
	if (mode != VTOP_MODE_IOVA) {
		d->ops->close(d->ctx);
		d->ctx = NULL;
		return vtop__err(-EPROTO, "vtop_dev_attach %s: the descriptor is not in IOVA mode",
				d->name);
	}
	return 0;
}

static bool same_device(const char *a, uint32_t domain, uint32_t bdf)
{
	uint32_t d, b;

	return a && !vtop__parse_pci(a, &d, &b) && d == domain && b == bdf;
}

VTOP_EXPORT
int vtop_dev_attach(const char *pci_device, struct vtop_dev **out)
{
	struct vtop_dev *d = NULL;
	uint32_t domain, bdf;
	unsigned int i, slot = VTOP_DEV_MAX;
	int rc;

	if (!out)
		return vtop__err(-EINVAL, "vtop_dev_attach: out is NULL");
	*out = NULL;
	if (vtop__parse_pci(pci_device, &domain, &bdf))
		return vtop__err(-EINVAL, "vtop_dev_attach: bad PCI address \"%s\" (want DDDD:BB:SS.F or BB:SS.F)",
				pci_device ? pci_device : "(null)");
	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_dev_attach called from a notify callback");

	pthread_mutex_lock(&vtop__lock);
	rc = vtop__env_check_child("vtop_dev_attach");
	if (!rc)
		rc = vtop__env_ensure_locked();
	if (rc)
		goto unlock;
	if (same_device(vtop__env_pci_device(), domain, bdf)) {
		rc = vtop__err(-EEXIST, "vtop_dev_attach: %s is the environment's own device (struct vtop_env_opts pci_device): vtop_vtophys() translates for it",
			      pci_device);
		goto unlock;
	}
	for (i = 0; i < VTOP_DEV_MAX; i++) {
		struct vtop_dev *o = vtop__devs[i];

		if (!o) {
			if (slot == VTOP_DEV_MAX)
				slot = i;
			continue;
		}
		if (o->pci_domain == domain && o->pci_bdf == bdf) {
			rc = vtop__err(-EEXIST, "vtop_dev_attach: %s is attached already",
				      o->name);
			goto unlock;
		}
	}
	if (slot == VTOP_DEV_MAX) {
		rc = vtop__err(-ENOSPC, "vtop_dev_attach: %u devices are attached already, the most libvtop attaches",
			      VTOP_DEV_MAX);
		goto unlock;
	}
	/* Memory unmapped while registered must not be mapped again. */
	rc = vtop__mem_process_locked();
	if (rc < 0)
		goto unlock;
	rc = 0;
	d = vtop_calloc(1, sizeof(*d));
	if (d)
		d->map = vtop__dma_map_create();
	if (!d || !d->map) {
		rc = vtop__err(-ENOMEM, "vtop_dev_attach: out of memory");
		goto unlock;
	}
	d->slot = slot;
	d->pci_domain = domain;
	d->pci_bdf = bdf;
	snprintf(d->name, sizeof(d->name), "%04x:%02x:%02x.%x",
		 domain & 0xffff, (bdf >> 8) & 0xff, (bdf >> 3) & 0x1f, bdf & 7);
	rc = dev_open(d);
	if (rc)
		goto unlock;
	/* Its own records tell its revocation (since 0.6). */
	if (d->ops->event_page && d->ops->event_fd && d->ops->read_events)
		d->evpage = d->ops->event_page(d->ctx);
	if (d->evpage)
		atomic_store(&d->ev_seen,
			     __atomic_load_n(&d->evpage->seq, __ATOMIC_ACQUIRE));
	rc = vtop__mem_attach_dev_locked(d);
	if (rc) {
		d->evpage = NULL;
		goto unlock;
	}
	if (d->evpage)
		vtop__env_watch_dev(d, true);
	*out = d;
	d = NULL;
unlock:
	pthread_mutex_unlock(&vtop__lock);
	if (d) {
		if (d->map)
			dev_free(d);
		else
			free(d);
	}
	return rc;
}

VTOP_EXPORT
int vtop_dev_detach(struct vtop_dev *dev)
{
	unsigned int i;
	bool child;

	if (!dev)
		return vtop__err(-EINVAL, "vtop_dev_detach: dev is NULL");
	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_dev_detach called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	for (i = 0; i < VTOP_DEV_MAX && vtop__devs[i] != dev; i++)
		;
	if (i == VTOP_DEV_MAX) {
		pthread_mutex_unlock(&vtop__lock);
		return vtop__err(-EINVAL, "vtop_dev_detach: not an attached device (detached already, or vtop_env_fini() detached it)");
	}
	/* A fork child's descriptor is closed: nothing to unpin. */
	child = dev->ctx == NULL;
	vtop__mem_detach_dev_locked(dev, !child);
	if (dev->evpage)
		vtop__env_watch_dev(dev, false);
	pthread_mutex_unlock(&vtop__lock);
	dev_free(dev);
	return 0;
}

/* Did @dev's event page seq move since its records were last read? */
static inline bool dev_ev_pending(const struct vtop_dev *dev)
{
	const struct vtop_event_page *pg = dev->evpage;

	return pg && __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE) !=
		     atomic_load_explicit(&dev->ev_seen, memory_order_relaxed);
}

/* Read @dev's records (a REVOKED one empties its map): 0 or -errno. */
static int dev_sync(const struct vtop_dev *dev)
{
	int rc = 0;

	pthread_mutex_lock(&vtop__ev_lock);
	/* Still attached (the writable object is the published one). */
	if (dev->slot < VTOP_DEV_MAX && vtop__devs[dev->slot] == dev)
		rc = vtop__dev_sync_locked(vtop__devs[dev->slot], true);
	pthread_mutex_unlock(&vtop__ev_lock);
	return rc;
}

VTOP_EXPORT
uint64_t vtop_vtophys_dev(const struct vtop_dev *dev, const void *buf,
			  uint64_t *size)
{
	uint64_t va = (uintptr_t)buf, e;

	if (!dev)
		return vtop_vtophys(buf, size);
	if (__builtin_expect(vtop_ev_pending(), 0) && vtop__ev_sync())
		return VTOP_VTOPHYS_ERROR;
	if (__builtin_expect(dev_ev_pending(dev), 0) && dev_sync(dev))
		return VTOP_VTOPHYS_ERROR;
	if (atomic_load_explicit(&dev->revoked, memory_order_relaxed))
		return VTOP_VTOPHYS_ERROR;
	if (!size)
		return vtop_vtophys_lookup(dev->map, buf);
	e = vtop_mem_map_translate(dev->map, va, size);
	if (e == VTOP_VTOPHYS_ERROR)
		return VTOP_VTOPHYS_ERROR;
	return va + e;
}

VTOP_EXPORT
int vtop_dev_get_segs(const struct vtop_dev *dev, const void *vaddr,
		      size_t len, struct vtop_segment *segs,
		      uint32_t *nr_segs)
{
	int rc;

	if (!dev)
		return vtop_mem_get_segs(vaddr, len, segs, nr_segs);
	if (__builtin_expect(dev_ev_pending(dev), 0)) {
		rc = dev_sync(dev);
		if (rc)
			return rc;
	}
	if (atomic_load(&dev->revoked))
		return vtop__err(-ENODEV, "vtop_dev_get_segs: device %s was unbound or removed (revoked): vtop_dev_detach() it",
				dev->name);
	return vtop__get_segs(dev->map, vaddr, len, segs, nr_segs);
}

VTOP_EXPORT
int vtop_dev_is_revoked(const struct vtop_dev *dev)
{
	int rc = 0;

	if (!dev) {
		/* The environment's device: what processing the events says. */
		if (vtop__in_callback)
			return atomic_load(&vtop__env_revoked);
		pthread_mutex_lock(&vtop__lock);
		rc = vtop__env_check_child("vtop_dev_is_revoked");
		if (!rc && vtop__env.ready) {
			rc = vtop__mem_process_locked();
			if (rc > 0)
				rc = 0;
		}
		pthread_mutex_unlock(&vtop__lock);
		return rc < 0 ? rc : atomic_load(&vtop__env_revoked);
	}
	pthread_mutex_lock(&vtop__ev_lock);
	if (dev->slot >= VTOP_DEV_MAX || vtop__devs[dev->slot] != dev)
		rc = vtop__err(-EINVAL, "vtop_dev_is_revoked: not an attached device");
	else
		rc = vtop__dev_sync_locked(vtop__devs[dev->slot], true);
	pthread_mutex_unlock(&vtop__ev_lock);
	return rc < 0 ? rc : atomic_load(&dev->revoked);
}

VTOP_EXPORT
const struct vtop_mem_map *vtop_dev_vtophys_map(const struct vtop_dev *dev)
{
	if (!dev)
		return vtop_vtophys_map();
	return dev->map;
}

VTOP_EXPORT
const char *vtop_dev_name(const struct vtop_dev *dev)
{
	return dev ? dev->name : NULL;
}
