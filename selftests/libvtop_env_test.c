// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvtop's environment in a guest: defaults, device errors, attaching to
 * a PCI device (IOVA mode), the pagemap backend on hugetlb memory, and
 * loading the module with libkmod (the module is unloaded and loaded back
 * with its parameters restored).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"
#include <vtop.h>

#define PG	4096UL
#define HP	(2UL << 20)
#define PARAMS	"/sys/module/vtop/parameters"

#define NEED_MODULE() do { \
	if (access("/sys/module/vtop", F_OK)) \
		SKIP(return, "vtop module not loaded"); \
} while (0)

/* Every page's vtop_vtophys() equals pagemap's address. */
static int same_as_pagemap(const char *buf, size_t len)
{
	uint64_t pfn;
	size_t off;
	int rc;

	for (off = 0; off < len; off += PG) {
		rc = vt_pagemap_pfn((uintptr_t)buf + off, &pfn);
		if (rc)
			return rc;
		if (vtop_vtophys(buf + off + 5, NULL) != (pfn << 12) + 5)
			return -EINVAL;
	}
	return 0;
}

TEST(defaults)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;

	NEED_MODULE();
	ASSERT_EQ(0, vtop_env_init(NULL)) TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(-EALREADY, vtop_env_init(NULL));
	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(VTOP_ABI_VERSION, info.abi_version);
	EXPECT_EQ(VTOP_MODE_PHYS, info.mode);
	EXPECT_TRUE(info.features & VTOP_FEATURE_PIN);
	EXPECT_EQ(0, info.nr_pins);
	ASSERT_EQ(0, vtop_mem_get_stats(&st));
	EXPECT_EQ(1, st.initialized);
	EXPECT_EQ(VTOP_BACKEND_KMOD, st.backend);
	EXPECT_EQ(VTOP_MODE_PHYS, st.mode);
	vtop_env_fini();
	ASSERT_EQ(0, vtop_mem_get_stats(&st));
	EXPECT_EQ(0, st.initialized);
	/* may load: the module is live, nothing to do */
	o.flags = VTOP_ENV_LOAD_MODULE;
	EXPECT_EQ(0, vtop_env_init(&o)) TH_LOG("%s", vtop_last_error());
	vtop_env_fini();
}

TEST(missing_device_says_how)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;

	o.device_path = "/dev/vtop-missing";
	EXPECT_EQ(-ENOENT, vtop_env_init(&o));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "modprobe vtop"));
}

/* A PCI device without a driver, or NULL. */
static const char *driverless_device(char *buf, size_t len)
{
	char path[512];
	struct dirent *d;
	DIR *dir;

	dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		return NULL;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
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

TEST(attach_no_such_device)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;

	NEED_MODULE();
	ASSERT_NE(0, access("/sys/bus/pci/devices/00ff:00:00.0", F_OK));
	o.pci_device = "00ff:00:00.0";
	EXPECT_EQ(-ENODEV, vtop_env_init(&o));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "no PCI device"));
	o.pci_device = "00:00.9";
	EXPECT_EQ(-EINVAL, vtop_env_init(&o));
}

static int read_param(const char *name, char *buf, size_t len)
{
	char path[512];
	long n;

	snprintf(path, sizeof(path), PARAMS "/%s", name);
	n = vt_read_file(path, buf, len);
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_param(const char *name, const char *val)
{
	char path[512];

	snprintf(path, sizeof(path), PARAMS "/%s", name);
	return vt_write_file(path, val);
}

TEST(attach_refused_without_user_space_driver)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	char dev[64], any[8];

	NEED_MODULE();
	if (!driverless_device(dev, sizeof(dev)))
		SKIP(return, "no PCI device without a driver");
	ASSERT_EQ(0, read_param("attach_any_driver", any, sizeof(any)));
	if (any[0] == 'Y' || any[0] == '1')
		SKIP(return, "attach_any_driver is set");
	o.pci_device = dev;
	EXPECT_EQ(-EPERM, vtop_env_init(&o));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "uio_pci_generic"));
}

/*
 * ATTACH through libvtop. attach_any_driver is load-time only (0444):
 * when it is not set, the driverless device is bound to uio_pci_generic
 * for the test.
 */
TEST(attach_iova_mode)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	unsigned int dom, bus, sl, fn;
	char dev[64], any[8];
	bool bound = false;
	void *buf;
	int rc;

	NEED_MODULE();
	if (!driverless_device(dev, sizeof(dev)))
		SKIP(return, "no PCI device without a driver");
	ASSERT_EQ(4, sscanf(dev, "%x:%x:%x.%x", &dom, &bus, &sl, &fn));
	ASSERT_EQ(0, read_param("attach_any_driver", any, sizeof(any)));
	if (any[0] != 'Y' && any[0] != '1') {
		bound = vt_bind_uio(dev);
		if (!bound)
			SKIP(return, "cannot bind %s to uio_pci_generic", dev);
	}
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 8 * PG, &buf));
	o.pci_device = dev;
	rc = vtop_env_init(&o);
	if (rc && bound)
		vt_unbind_uio(dev);
	ASSERT_EQ(0, rc) TH_LOG("attach %s: %s", dev, vtop_last_error());

	ASSERT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(VTOP_MODE_IOVA, info.mode);
	EXPECT_EQ(dom, info.attached_domain);
	EXPECT_EQ(bus << 8 | sl << 3 | fn, info.attached_bdf);
	ASSERT_EQ(0, vtop_mem_get_stats(&st));
	EXPECT_EQ(VTOP_MODE_IOVA, st.mode);
	ASSERT_EQ(0, vtop_mem_register(buf, 8 * PG)) TH_LOG("%s",
							    vtop_last_error());
	EXPECT_NE(VTOP_VTOPHYS_ERROR, vtop_vtophys(buf, NULL));
	/* without an IOMMU the IOVAs are the physical addresses */
	if (!vt_iommu_present())
		EXPECT_EQ(0, same_as_pagemap(buf, 8 * PG));
	EXPECT_EQ(0, vtop_mem_unregister(buf, 8 * PG));
	vtop_env_fini();
	vt_buf_free(buf, 8 * PG);
	if (bound)
		vt_unbind_uio(dev);
}

TEST(pagemap_backend_hugetlb_only)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	struct vtop_mem_stats st = { .size = sizeof(st) };
	struct vtop_info info = { .size = sizeof(info) };
	void *huge = NULL, *small = NULL;
	int rc;

	rc = vt_buf_alloc(VT_KIND_HUGETLB, 2 * HP, &huge);
	if (rc == -EOPNOTSUPP)
		SKIP(return, "no hugetlb pages");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, vt_buf_alloc(VT_KIND_4K, 4 * PG, &small));
	o.backend = VTOP_BACKEND_PAGEMAP;
	ASSERT_EQ(0, vtop_env_init(&o)) TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(-EOPNOTSUPP, vtop_env_get_info(&info));

	EXPECT_EQ(-EOPNOTSUPP, vtop_mem_register(small, 4 * PG));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "hugetlb"));
	ASSERT_EQ(0, vtop_mem_register(huge, 2 * HP)) TH_LOG("%s",
							    vtop_last_error());
	EXPECT_EQ(0, same_as_pagemap(huge, 2 * HP));
	ASSERT_EQ(0, vtop_mem_get_stats(&st));
	EXPECT_EQ(VTOP_BACKEND_PAGEMAP, st.backend);
	EXPECT_EQ(2, st.entries_2m);
	/* a part of a hugepage is fine, too */
	EXPECT_EQ(0, vtop_mem_unregister(huge, 2 * HP));
	EXPECT_EQ(0, vtop_mem_register((char *)huge + PG, HP));
	EXPECT_EQ(0, same_as_pagemap((char *)huge + PG, HP));
	EXPECT_EQ(0, vtop_mem_unregister((char *)huge + PG, HP));
	vtop_env_fini();
	vt_buf_free(small, 4 * PG);
	vt_buf_free(huge, 2 * HP);
}

/* ---- module loading ------------------------------------------------------ */

struct saved_params {
	char name[8][64];
	char val[8][64];
	int n;
};

/* The parameters that can change at run time (not the 0444 ones). */
static void save_params(struct saved_params *p)
{
	char path[512];
	struct dirent *d;
	struct stat sb;
	DIR *dir;

	p->n = 0;
	dir = opendir(PARAMS);
	if (!dir)
		return;
	while ((d = readdir(dir)) && p->n < 8) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PARAMS "/%s", d->d_name);
		if (stat(path, &sb) || !(sb.st_mode & 0222))
			continue;
		snprintf(p->name[p->n], sizeof(p->name[0]), "%.63s",
			 d->d_name);
		if (!read_param(d->d_name, p->val[p->n], sizeof(p->val[0])))
			p->n++;
	}
	closedir(dir);
}

static int restore_params(const struct saved_params *p)
{
	int i, rc = 0;

	for (i = 0; i < p->n; i++)
		if (write_param(p->name[i], p->val[i]))
			rc = -EIO;
	return rc;
}

static int unload_vtop(void)
{
	int i;

	if (syscall(SYS_delete_module, "vtop", O_NONBLOCK))
		return -errno;
	for (i = 0; i < 50 && !access(VTOP_DEVICE_PATH, F_OK); i++)
		usleep(20000);
	return access(VTOP_DEVICE_PATH, F_OK) ? 0 : -EEXIST;
}

static int load_with_libvtop(const char *module_path)
{
	struct vtop_env_opts o = VTOP_ENV_OPTS_INIT;
	int rc;

	o.flags = VTOP_ENV_LOAD_MODULE;
	o.module_path = module_path;
	rc = vtop_env_init(&o);
	if (!rc)
		vtop_env_fini();
	return rc;
}

TEST(libkmod_loads_the_module)
{
	struct vtop_info info = { .size = sizeof(info) };
	struct saved_params params;
	char refcnt[16];
	int rc;

	NEED_MODULE();
	if (vt_read_file("/sys/module/vtop/refcnt", refcnt, sizeof(refcnt)) < 0 ||
	    atoi(refcnt) != 0)
		SKIP(return, "vtop is in use");
	save_params(&params);
	rc = unload_vtop();
	if (rc == -EBUSY || rc == -EPERM)
		SKIP(return, "cannot unload vtop: %s", strerror(-rc));
	ASSERT_EQ(0, rc);

	/* not allowed to load: a clear error */
	EXPECT_EQ(-ENOENT, vtop_env_init(NULL));
	EXPECT_NE(NULL, strstr(vtop_last_error(), "VTOP_ENV_LOAD_MODULE"));
	/* allowed: found by name in the module index */
	rc = load_with_libvtop(NULL);
	EXPECT_EQ(0, rc) TH_LOG("by name: %s", vtop_last_error());
	EXPECT_EQ(0, access("/sys/module/vtop", F_OK));

	/* and from a file */
	if (!access("/vtop/vtop.ko", F_OK) && !unload_vtop()) {
		rc = load_with_libvtop("/vtop/vtop.ko");
		EXPECT_EQ(0, rc) TH_LOG("from a file: %s", vtop_last_error());
	}
	/* never leave the guest without the module */
	if (access("/sys/module/vtop", F_OK))
		load_with_libvtop(access("/vtop/vtop.ko", F_OK) ?
				  NULL : "/vtop/vtop.ko");
	ASSERT_EQ(0, access("/sys/module/vtop", F_OK));
	EXPECT_EQ(0, restore_params(&params));
	ASSERT_EQ(0, vtop_env_init(NULL)) TH_LOG("%s", vtop_last_error());
	EXPECT_EQ(0, vtop_env_get_info(&info));
	EXPECT_EQ(VTOP_ABI_VERSION, info.abi_version);
	vtop_env_fini();
}

TEST_HARNESS_MAIN
