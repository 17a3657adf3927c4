// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop's several devices per process (since 0.5) through the real
 * module: vtop_dev_attach() opens and attaches a descriptor of its own
 * (errors of VTOP_IOC_ATTACH come back with nothing left open), maps the
 * memory registered already, every later registration is pinned on it
 * too, and detach closes it. Without an IOMMU (the stock guests) a
 * device's addresses are the physical ones, which pagemap confirms. The
 * DMA proof with two controllers behind an IOMMU is NVMe scenario 10.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG	4096UL
#define PARAMS	"/sys/module/vtop/parameters"

#define NEED_MODULE() do { \
	if (access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
} while (0)

static int nr_fds(void)
{
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir("/proc/self/fd");

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The first PCI device without a driver (skipping @not), or NULL. */
static const char *driverless_device(char *buf, size_t len, const char *not)
{
	char path[512];
	struct dirent *d;
	DIR *dir;

	dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		return NULL;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || (not && !strcmp(not, d->d_name)))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
			 d->d_name);
		if (access(path, F_OK)) {
			snprintf(buf, len, "%.*s", (int)len - 1, d->d_name);
			closedir(dir);
			return buf;
		}
	}
	closedir(dir);
	return NULL;
}

static bool any_driver(void)
{
	char buf[8] = "";

	return vt_read_file(PARAMS "/attach_any_driver", buf, sizeof(buf)) > 0 &&
	       (buf[0] == 'Y' || buf[0] == '1');
}

/* Each page's physical address (pagemap) plus @off's offset in it. */
static uint64_t phys_of(const char *p)
{
	uint64_t pfn;

	if (vt_pagemap_pfn((uintptr_t)p & ~(PG - 1), &pfn))
		return VTOP_VTOPHYS_ERROR;
	return (pfn << 12) | ((uintptr_t)p & (PG - 1));
}

TEST(attach_errors_leave_nothing)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_dev *d = (struct vtop_dev *)&d;
	char dev[64];
	void *buf;
	int fds;

	NEED_MODULE();
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, &buf));
	ASSERT_EQ(0, vtop_env_init(NULL)) TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vtop_mem_register(buf, 4 * PG));
	fds = nr_fds();

	EXPECT_EQ(-EINVAL, vtop_dev_attach("00:00.9", &d));
	EXPECT_EQ(NULL, d);
	EXPECT_EQ(-EINVAL, vtop_dev_attach("0000:00:00.0", NULL));
	ASSERT_NE(0, access("/sys/bus/pci/devices/00ff:00:00.0", F_OK));
	EXPECT_EQ(-ENODEV, vtop_dev_attach("00ff:00:00.0", &d));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "no PCI device"));
	if (driverless_device(dev, sizeof(dev), NULL) && !any_driver()) {
		EXPECT_EQ(-EPERM, vtop_dev_attach(dev, &d));
		EXPECT_NE(NULL, strstr(vtop_last_error(), "uio_pci_generic"));
	}
	EXPECT_EQ(-EINVAL, vtop_dev_detach(NULL));
	/* no descriptor left open, the registration untouched */
	EXPECT_EQ(fds, nr_fds());
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(1, info.nr_pins);
	EXPECT_EQ(phys_of((char *)buf + 5), vtop_vtophys((char *)buf + 5, NULL));
	EXPECT_EQ(0, vtop_mem_unregister(buf, 4 * PG));
	vtop_env_fini();
	vt_buf_free(buf, 4 * PG);
}

/*
 * Physical environment, one attached device: memory registered before and
 * after the attach is mapped for it; without an IOMMU its addresses are
 * the physical ones. The environment's descriptor keeps its own pins.
 */
TEST(attach_register_detach)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_segment seg[8];
	struct vtop_dev *d = NULL, *e = NULL;
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	uint32_t n = 8;
	char dev[64];
	bool bound = false;
	char *a, *b;
	uint64_t sz;
	int fds, fds0, rc;

	NEED_MODULE();
	if (!driverless_device(dev, sizeof(dev), NULL))
		SKIP(return, "no PCI device without a driver");
	if (!any_driver()) {
		bound = vt_bind_uio(dev);
		if (!bound)
			SKIP(return, "cannot bind %s to uio_pci_generic", dev);
	}
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&a));
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&b));
	fds0 = nr_fds();
	ASSERT_EQ(0, vtop_env_init(&o)) TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vtop_mem_register(a, 4 * PG));
	fds = nr_fds();
	rc = vtop_dev_attach(dev, &d);
	if (rc && bound)
		vt_unbind_uio(dev);
	ASSERT_EQ(0, rc) TH_LOG("attach %s: %s", dev, vtop_last_error());
	EXPECT_EQ(fds + 1, nr_fds());
	EXPECT_EQ(0, strcmp(dev, vtop_dev_name(d)));
	EXPECT_EQ(-EEXIST, vtop_dev_attach(dev, &e));
	EXPECT_EQ(NULL, e);
	ASSERT_EQ(0, vtop_mem_register(b, 4 * PG));
	/* the environment's descriptor holds its two pins, no more */
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(2, info.nr_pins);
	EXPECT_EQ(VTOP_MODE_PHYS, info.mode);
	EXPECT_EQ(phys_of(a + 7), vtop_vtophys(a + 7, NULL));
	EXPECT_NE(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, a + 7, NULL));
	EXPECT_NE(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, b + PG, NULL));
	EXPECT_EQ(vtop_vtophys_dev(d, b + PG, NULL),
		  vtop_vtophys_lookup(vtop_dev_vtophys_map(d), b + PG));
	sz = 4 * PG;
	EXPECT_NE(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, b, &sz));
	EXPECT_LE(PG, sz);
	EXPECT_EQ(0, vtop_dev_get_segs(d, b, 4 * PG, seg, &n));
	EXPECT_LE(1, n);
	if (!vt_iommu_present()) {
		EXPECT_EQ(phys_of(a + 7), vtop_vtophys_dev(d, a + 7, NULL));
		EXPECT_EQ(phys_of(b + PG), vtop_vtophys_dev(d, b + PG, NULL));
		EXPECT_EQ(phys_of(b), seg[0].dma_addr);
	}
	/* unregistering ends it for the device too */
	EXPECT_EQ(0, vtop_mem_unregister(a, 4 * PG));
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, a, NULL));
	/* detach with memory registered: the descriptor closes */
	EXPECT_EQ(0, vtop_dev_detach(d));
	EXPECT_EQ(fds, nr_fds());
	EXPECT_EQ(phys_of(b), vtop_vtophys(b, NULL));
	EXPECT_EQ(0, vtop_mem_unregister(b, 4 * PG));
	/* fini detaches: attach again, then fini closes it */
	ASSERT_EQ(0, vtop_dev_attach(dev, &d)) TH_LOG("%s", vtop_last_error());
	/* every descriptor of the environment (since 0.6 its event fd too) */
	vtop_env_fini();
	EXPECT_EQ(fds0, nr_fds());
	EXPECT_EQ(-EINVAL, vtop_dev_detach(d));
	vt_buf_free(a, 4 * PG);
	vt_buf_free(b, 4 * PG);
	if (bound)
		vt_unbind_uio(dev);
}

/*
 * Revocation (libvtop 0.6): the attached device is unbound from
 * uio_pci_generic with its pins live; the module revokes its descriptor.
 * B's translation goes at the first lookup, processing the events releases
 * its pins (the system's outstanding FOLL_PIN pages are back to what the
 * environment alone holds), a new registration succeeds without it, detach
 * works, and the environment's pins and addresses are untouched.
 */
TEST(revoked_by_unbind)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_segment seg[8];
	struct vtop_dev *d = NULL;
	struct vt_snap env_only, now;
	uint32_t n = 8;
	char dev[64];
	char *a, *b;
	int fds0, rc;

	NEED_MODULE();
	if (!driverless_device(dev, sizeof(dev), NULL))
		SKIP(return, "no PCI device without a driver");
	if (!vt_bind_uio(dev))
		SKIP(return, "cannot bind %s to uio_pci_generic", dev);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&a));
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&b));
	fds0 = nr_fds();
	ASSERT_EQ(0, vtop_env_init(&o)) TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vtop_env_get_info(&info));
	if (!(info.features & VTOP_FEATURE_EVENTS)) {
		vtop_env_fini();
		vt_unbind_uio(dev);
		SKIP(return, "module without invalidation events");
	}
	ASSERT_EQ(0, vtop_mem_register(a, 4 * PG));
	ASSERT_EQ(0, vt_snap(&env_only));
	rc = vtop_dev_attach(dev, &d);
	if (rc)
		vt_unbind_uio(dev);
	ASSERT_EQ(0, rc) TH_LOG("attach %s: %s", dev, vtop_last_error());
	EXPECT_NE(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, a, NULL));
	EXPECT_EQ(0, vtop_dev_is_revoked(d));

	vt_unbind_uio(dev);
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, a + 5, NULL));
	EXPECT_EQ(1, vtop_dev_is_revoked(d));
	EXPECT_EQ(-ENODEV, vtop_dev_get_segs(d, a, 4 * PG, seg, &n));
	EXPECT_LE(0, vtop_mem_process_events()) TH_LOG("%s", vtop_last_error());
	ASSERT_EQ(0, vt_snap(&now));
	EXPECT_EQ(env_only.foll_pins, now.foll_pins);
	/* the environment is untouched; a registration skips the device */
	EXPECT_EQ(0, vtop_dev_is_revoked(NULL));
	EXPECT_EQ(phys_of(a + 5), vtop_vtophys(a + 5, NULL));
	EXPECT_EQ(0, vtop_mem_register(b, 4 * PG)) TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(phys_of(b + PG), vtop_vtophys(b + PG, NULL));
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys_dev(d, b + PG, NULL));
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(2, info.nr_pins);
	EXPECT_EQ(0, vtop_dev_detach(d));
	EXPECT_EQ(0, vtop_mem_unregister(a, 4 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(b, 4 * PG));
	vtop_env_fini();
	EXPECT_EQ(fds0, nr_fds());
	vt_buf_free(a, 4 * PG);
	vt_buf_free(b, 4 * PG);
}

static int env_notes;

static int count_invalidate(void *ctx, struct vtop_mem_map *map,
			    enum vtop_mem_map_notify_action action, void *va,
			    size_t len)
{
	(void)ctx;
	(void)map;
	(void)va;
	(void)len;
	if (action == VTOP_MEM_MAP_NOTIFY_INVALIDATE)
		env_notes++;
	return 0;
}

/*
 * The environment's own device (struct vtop_env_opts pci_device) unbound
 * with memory registered: the registration ends as an invalidation (the
 * consumer map is told), vtop_vtophys() stops answering,
 * vtop_dev_is_revoked(NULL) says so, and a later registration fails with
 * ENODEV and a message naming the revocation; every pin is released.
 */
TEST(env_device_revoked_by_unbind)
{
	struct vtop_mem_map_ops ops = { .notify_cb = count_invalidate,
					.size = sizeof(ops) };
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_mem_map *m;
	struct vt_snap snap;
	char dev[64];
	char *a;
	int rc;

	NEED_MODULE();
	if (!driverless_device(dev, sizeof(dev), NULL))
		SKIP(return, "no PCI device without a driver");
	if (!vt_bind_uio(dev))
		SKIP(return, "cannot bind %s to uio_pci_generic", dev);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, (void **)&a));
	ASSERT_EQ(0, vt_snap(&snap));
	o.pci_device = dev;
	rc = vtop_env_init(&o);
	if (!rc)
		rc = vtop_env_get_info(&info);
	if (rc || !(info.features & VTOP_FEATURE_EVENTS)) {
		vtop_env_fini();
		vt_unbind_uio(dev);
		ASSERT_EQ(0, rc) TH_LOG("%s", vtop_last_error());
		SKIP(return, "module without invalidation events");
	}
	m = vtop_mem_map_alloc(0, &ops, NULL);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, vtop_mem_register(a, 4 * PG));
	EXPECT_NE(VTOP_VTOPHYS_ERROR, vtop_vtophys(a, NULL));
	EXPECT_EQ(0, vtop_dev_is_revoked(NULL));

	vt_unbind_uio(dev);
	EXPECT_EQ(VTOP_VTOPHYS_ERROR, vtop_vtophys(a, NULL));
	EXPECT_EQ(1, vtop_dev_is_revoked(NULL));
	EXPECT_EQ(1, env_notes);
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(0, info.nr_pins);
	EXPECT_EQ(-ENODEV, vtop_mem_register(a, 4 * PG));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "revoked"))
		TH_LOG("%s", vtop_last_error());
	vtop_mem_map_free(&m);
	vtop_env_fini();
	VT_EXPECT_NO_LEAK(snap);
	vt_buf_free(a, 4 * PG);
}

/* The environment's own device is not attached twice. */
TEST(env_device_is_not_attached_again)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_dev *d = (struct vtop_dev *)&d;
	char dev[64], alias[64];
	bool bound = false;
	int rc;

	NEED_MODULE();
	if (!driverless_device(dev, sizeof(dev), NULL))
		SKIP(return, "no PCI device without a driver");
	if (!any_driver()) {
		bound = vt_bind_uio(dev);
		if (!bound)
			SKIP(return, "cannot bind %s to uio_pci_generic", dev);
	}
	o.pci_device = dev;
	rc = vtop_env_init(&o);
	if (rc && bound)
		vt_unbind_uio(dev);
	ASSERT_EQ(0, rc) TH_LOG("%s", vtop_last_error());
	/* the same device under its short name (domain 0) */
	snprintf(alias, sizeof(alias), "%s", dev + 5);
	EXPECT_EQ(-EEXIST, vtop_dev_attach(strncmp(dev, "0000:", 5) ? dev : alias, &d));
	EXPECT_EQ(NULL, d);
	EXPECT_NE(NULL, strstr(vtop_last_error(), "environment's own device"));
	vtop_env_fini();
	if (bound)
		vt_unbind_uio(dev);
}

TEST_HARNESS_MAIN
