// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI plumbing through sysfs. Everything here is what a root shell could do
 * with echo and setpci; the driver does it itself so that the walkthrough is
 * one command.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pci.h"
#include "util.h"

#define SYSFS_PCI	"/sys/bus/pci"
#define UIO_DRIVER	"uio_pci_generic"
#define NVME_CLASS	0x010802	/* mass storage, NVM, NVMe I/O */
#define PCI_CMD_OFF	0x04

int pci_addr_parse(const char *s, struct pci_addr *addr)
{
	unsigned int dom = 0, bus, slot, func;
	int n = -1;

	if (sscanf(s, "%x:%x:%x.%x%n", &dom, &bus, &slot, &func, &n) != 4 ||
	    (size_t)n != strlen(s)) {
		dom = 0;
		n = -1;
		if (sscanf(s, "%x:%x.%x%n", &bus, &slot, &func, &n) != 3 ||
		    (size_t)n != strlen(s))
			return -EINVAL;
	}
	if (dom > 0xffff || bus > 0xff || slot > 0x1f || func > 7)
		return -EINVAL;
	addr->domain = dom;
	addr->bus = (uint8_t)bus;
	addr->slot = (uint8_t)slot;
	addr->func = (uint8_t)func;
	snprintf(addr->name, sizeof(addr->name), "%04x:%02x:%02x.%x",
		 dom, bus, slot, func);
	return 0;
}

/* Write @val to the sysfs file @path. Return 0 or -errno. */
static int sysfs_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Read the first line of @path into @buf without the newline. */
static int sysfs_read(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Name of the driver bound to @bdf into @drv ("" if none). */
static int pci_driver_of(const char *bdf, char *drv, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		drv[0] = '\0';
		return 0;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	memcpy(drv, base, strlen(base) + 1);
	return 0;
}

static int pci_class_of(const char *bdf, unsigned long *class)
{
	char path[PATH_MAX], buf[32], *end;
	int ret;

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/class", bdf);
	ret = sysfs_read(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*class = strtoul(buf, &end, 16);
	if (errno || end == buf)
		return -EIO;
	return 0;
}

int pci_find_nvme(struct pci_addr *addr)
{
	char drv[64];
	struct dirent *de;
	unsigned long class;
	int found = -ENODEV;
	DIR *dir;

	dir = opendir(SYSFS_PCI "/devices");
	if (!dir) {
		int ret = -errno;

		log_err("cannot list " SYSFS_PCI "/devices: %s\n",
			strerror(-ret));
		return ret;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (pci_class_of(de->d_name, &class) || class != NVME_CLASS)
			continue;
		if (pci_driver_of(de->d_name, drv, sizeof(drv)))
			continue;
		if (drv[0] && strcmp(drv, UIO_DRIVER)) {
			log_info("skipping NVMe controller %s: driven by %s (name it with --pci and add --unbind to take it)\n",
				 de->d_name, drv);
			continue;
		}
		if (pci_addr_parse(de->d_name, addr))
			continue;
		found = 0;
		break;
	}
	closedir(dir);
	if (found)
		log_err("no free NVMe controller (PCI class %06x) in " SYSFS_PCI "/devices\n",
			NVME_CLASS);
	return found;
}

static int cmp_addr(const void *a, const void *b)
{
	return strcmp(((const struct pci_addr *)a)->name,
		      ((const struct pci_addr *)b)->name);
}

int pci_find_nvmes(struct pci_addr *addrs, int max)
{
	char drv[64];
	struct dirent *de;
	unsigned long class;
	int n = 0;
	DIR *dir;

	dir = opendir(SYSFS_PCI "/devices");
	if (!dir) {
		int ret = -errno;

		log_err("cannot list " SYSFS_PCI "/devices: %s\n",
			strerror(-ret));
		return ret;
	}
	while ((de = readdir(dir)) != NULL && n < max) {
		if (de->d_name[0] == '.')
			continue;
		if (pci_class_of(de->d_name, &class) || class != NVME_CLASS)
			continue;
		if (pci_driver_of(de->d_name, drv, sizeof(drv)))
			continue;
		if (drv[0] && strcmp(drv, UIO_DRIVER))
			continue;
		if (!pci_addr_parse(de->d_name, &addrs[n]))
			n++;
	}
	closedir(dir);
	qsort(addrs, n, sizeof(*addrs), cmp_addr);
	return n;
}

/* Run "modprobe @mod" and wait for it. Return 0 or -errno. */
static int run_modprobe(const char *mod)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("modprobe", "modprobe", mod, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ENOENT;
	return 0;
}

int pci_bind_uio(const struct pci_addr *addr, bool unbind)
{
	const char *bdf = addr->name;
	char path[PATH_MAX], drv[64];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s", bdf);
	if (stat(path, &st)) {
		log_err("no PCI device %s (%s)\n", bdf, path);
		return -ENODEV;
	}
	ret = pci_driver_of(bdf, drv, sizeof(drv));
	if (ret) {
		log_err("%s: cannot read its driver link: %s\n", bdf,
			strerror(-ret));
		return ret;
	}
	if (!strcmp(drv, UIO_DRIVER))
		return 0;

	if (stat(SYSFS_PCI "/drivers/" UIO_DRIVER, &st)) {
		ret = run_modprobe(UIO_DRIVER);
		if (ret || stat(SYSFS_PCI "/drivers/" UIO_DRIVER, &st)) {
			log_err("cannot load " UIO_DRIVER " (modprobe " UIO_DRIVER " failed)\n");
			return -ENOENT;
		}
	}

	if (drv[0]) {
		if (!unbind) {
			log_err("%s is driven by the kernel driver '%s'; refusing to take it without --unbind (any file system on it must be unmounted first)\n",
				bdf, drv);
			return -EBUSY;
		}
		snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver/unbind",
			 bdf);
		ret = sysfs_write(path, bdf);
		if (ret) {
			log_err("%s: unbinding from %s failed: %s\n", bdf, drv,
				strerror(-ret));
			return ret;
		}
		log_info("unbound %s from %s\n", bdf, drv);
	}

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver_override",
		 bdf);
	ret = sysfs_write(path, UIO_DRIVER);
	if (ret) {
		log_err("%s: writing driver_override failed: %s\n", bdf,
			strerror(-ret));
		return ret;
	}
	ret = sysfs_write(SYSFS_PCI "/drivers_probe", bdf);
	if (ret && ret != -ENODEV) {
		log_err("%s: drivers_probe failed: %s\n", bdf, strerror(-ret));
		return ret;
	}
	ret = pci_driver_of(bdf, drv, sizeof(drv));
	if (ret || strcmp(drv, UIO_DRIVER)) {
		log_err("%s: " UIO_DRIVER " did not take the device (see dmesg; it needs INTx masking support)\n",
			bdf);
		return ret ? ret : -ENODEV;
	}
	log_info("bound %s to " UIO_DRIVER "\n", bdf);
	return 0;
}

int pci_command_update(const struct pci_addr *addr, uint16_t set,
		       uint16_t clear, uint16_t *old)
{
	char path[PATH_MAX];
	uint16_t cmd, val;
	int fd, ret = 0;

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/config",
		 addr->name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: cannot open config space: %s\n", addr->name,
			strerror(-ret));
		return ret;
	}
	if (pread(fd, &cmd, sizeof(cmd), PCI_CMD_OFF) != sizeof(cmd)) {
		ret = -EIO;
		log_err("%s: cannot read the PCI command register\n",
			addr->name);
		goto out;
	}
	cmd = le16toh(cmd);
	if (old)
		*old = cmd;
	val = htole16((uint16_t)((cmd | set) & ~clear));
	if (val != htole16(cmd) &&
	    pwrite(fd, &val, sizeof(val), PCI_CMD_OFF) != sizeof(val)) {
		ret = -EIO;
		log_err("%s: cannot write the PCI command register\n",
			addr->name);
	}
out:
	close(fd);
	return ret;
}

int pci_map_bar0(const struct pci_addr *addr, volatile void **bar,
		 size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	void *p;
	int fd, ret;

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/resource0",
		 addr->name);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: cannot open BAR0 (%s): %s\n", addr->name, path,
			strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || st.st_size < 0x2000) {
		close(fd);
		log_err("%s: BAR0 is missing or too small for NVMe registers\n",
			addr->name);
		return -ENXIO;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	ret = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret) {
		log_err("%s: cannot map BAR0: %s\n", addr->name, strerror(-ret));
		return ret;
	}
	*bar = p;
	*len = (size_t)st.st_size;
	return 0;
}

void pci_unmap_bar0(volatile void *bar, size_t len)
{
	munmap((void *)(uintptr_t)bar, len);
}
