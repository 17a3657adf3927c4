// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: pin user memory and report the DMA address of every byte.
 *
 * This file holds the misc device, open/release, the ioctl dispatch, the
 * argument copy-in rule and the INFO command. Pinning lives in vtop_pin.c,
 * invalidation events (read, poll, mmap, GET_INVALIDATED) in
 * vtop_events.c, the debugfs counters in vtop_stats.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "vtop.h"

#define VTOP_MODULE_VERSION \
	((VTOP_VERSION_MAJOR << 16) | (VTOP_VERSION_MINOR << 8) | \
	 VTOP_VERSION_PATCH)

unsigned int vtop_max_pins_per_fd = 65535;
module_param_named(max_pins_per_fd, vtop_max_pins_per_fd, uint, 0644);
MODULE_PARM_DESC(max_pins_per_fd,
		 "Live pins allowed on one open file (default 65535); PIN beyond it fails with ENOSPC");

unsigned long vtop_max_pin_bytes_per_fd;
module_param_named(max_pin_bytes_per_fd, vtop_max_pin_bytes_per_fd, ulong,
		   0644);
MODULE_PARM_DESC(max_pin_bytes_per_fd,
		 "Bytes allowed pinned through one open file, 0 for no cap but RLIMIT_MEMLOCK (default 0); PIN beyond it fails with ENOMEM");

bool vtop_attach_any_driver;
module_param_named(attach_any_driver, vtop_attach_any_driver, bool, 0444);
MODULE_PARM_DESC(attach_any_driver,
		 "Let ATTACH take a PCI device with no driver or any kernel driver, not only uio_pci_generic (default N; set at load time only)");

static atomic_t vtop_file_ids = ATOMIC_INIT(0);

/**
 * vtop_copy_args() - copy in an ioctl argument under the size/flags rule
 * @karg:	kernel copy, @ksize bytes; zeroed and then filled
 * @ksize:	size of the struct this module knows
 * @uarg:	user pointer
 *
 * The struct starts with "__u32 size; __u32 flags;". A @size below @ksize
 * (the first published version of every struct is the current one) is
 * -EINVAL; a larger one needs a zero tail (-E2BIG otherwise), as
 * copy_struct_from_user() checks. The flags are checked by the caller.
 *
 * Return: 0 or a negative errno.
 */
int vtop_copy_args(void *karg, size_t ksize, const void __user *uarg)
{
	u32 usize;
	int ret;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < ksize)
		return -EINVAL;
	ret = copy_struct_from_user(karg, ksize, uarg, usize);
	if (ret)
		return ret;
	/* The caller writes back min(size, ksize) == ksize bytes. */
	*(u32 *)karg = ksize;
	return 0;
}

static bool vtop_reserved_zero(const u64 *res, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i])
			return false;
	return true;
}

static long vtop_ioctl_info(struct vtop_file *vf, void __user *uarg)
{
	struct vtop_info info;
	bool ipc_lock;
	unsigned long memlock;
	int ret;

	ret = vtop_copy_args(&info, sizeof(info), uarg);
	if (ret)
		return ret;
	if (info.flags ||
	    !vtop_reserved_zero(info.__reserved, ARRAY_SIZE(info.__reserved)))
		return -EINVAL;

	ipc_lock = ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK);
	memlock = rlimit(RLIMIT_MEMLOCK);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = VTOP_ABI_VERSION;
	info.module_version = VTOP_MODULE_VERSION;
	info.features = VTOP_FEATURE_PIN | VTOP_FEATURE_GET_SEGS |
			VTOP_FEATURE_READONLY | VTOP_FEATURE_ATTACH |
			VTOP_FEATURE_EVENTS | VTOP_FEATURE_PARTIAL |
			VTOP_FEATURE_PIN_MAX | VTOP_FEATURE_STATUS;
	info.caps = VTOP_CAP_PHYS_ADDRS;
	if (ipc_lock)
		info.caps |= VTOP_CAP_IPC_LOCK;
	info.page_size = PAGE_SIZE;
	info.max_pins = READ_ONCE(vtop_max_pins_per_fd);
	info.max_pin_bytes = READ_ONCE(vtop_max_pin_bytes_per_fd);
	if (ipc_lock || memlock == RLIM_INFINITY)
		info.memlock_limit = ~0ULL;
	else
		info.memlock_limit = memlock;
	info.mm_pinned_bytes =
		(u64)atomic64_read(&vf->mm->pinned_vm) << PAGE_SHIFT;

	mutex_lock(&vf->lock);
	info.nr_pins = vf->nr_pins;
	info.pinned_bytes = vf->pinned_bytes;
	if (vf->pdev) {
		info.mode = VTOP_MODE_IOVA;
		/* Set under other locks: a snapshot, as every counter here. */
		if (READ_ONCE(vf->revoked))
			info.status |= VTOP_STATUS_REVOKED;
		info.attached_domain = pci_domain_nr(vf->pdev->bus);
		info.attached_bdf = pci_dev_id(vf->pdev);
	} else {
		info.mode = VTOP_MODE_PHYS;
	}
	vtop_events_info(vf, &info);
	mutex_unlock(&vf->lock);

	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int vtop_open(struct inode *inode, struct file *file)
{
	struct vtop_file *vf;

	/*
	 * file->f_cred are the opener's credentials: checking them (not the
	 * credentials of whoever calls ioctl later) keeps a passed descriptor
	 * from becoming a confused deputy.
	 */
	if (!file_ns_capable(file, &init_user_ns, CAP_SYS_RAWIO) &&
	    !file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN)) {
		vtop_stats_fail(VTOP_FAIL_EPERM);
		return -EPERM;
	}
	if (!current->mm)
		return -EINVAL;

	vf = kzalloc(sizeof(*vf), GFP_KERNEL_ACCOUNT);
	if (!vf)
		return -ENOMEM;
	if (vtop_events_open(vf)) {
		kfree(vf);
		return -ENOMEM;
	}

	mutex_init(&vf->lock);
	vtop_dma_open(vf);
	vf->pins = RB_ROOT;
	vf->id = (u32)atomic_inc_return(&vtop_file_ids);
	mmgrab(current->mm);
	vf->mm = current->mm;
	file->private_data = vf;
	return nonseekable_open(inode, file);
}

static int vtop_release(struct inode *inode, struct file *file)
{
	struct vtop_file *vf = file->private_data;

	/* No current->mm here: release may run in any task, or after exit. */
	vtop_dma_release_quiesce(vf);
	vtop_release_all(vf);
	vtop_detach_release(vf);
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&vf->pins));
	vtop_events_release(vf);
	mmdrop(vf->mm);
	mutex_destroy(&vf->lock);
	kfree(vf);
	return 0;
}

static long vtop_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vtop_file *vf = file->private_data;
	void __user *uarg = (void __user *)arg;
	long (*handler)(struct vtop_file *vf, void __user *uarg);
	long ret;

	switch (cmd) {
	case VTOP_IOC_INFO:
		handler = vtop_ioctl_info;
		break;
	case VTOP_IOC_PIN:
		handler = vtop_ioctl_pin;
		break;
	case VTOP_IOC_UNPIN:
		handler = vtop_ioctl_unpin;
		break;
	case VTOP_IOC_GET_SEGS:
		handler = vtop_ioctl_get_segs;
		break;
	case VTOP_IOC_ATTACH:
		handler = vtop_ioctl_attach;
		break;
	case VTOP_IOC_DETACH:
		handler = vtop_ioctl_detach;
		break;
	case VTOP_IOC_GET_INVALIDATED:
		handler = vtop_ioctl_get_invalidated;
		break;
	default:
		return -ENOTTY;
	}

	/* An fd serves the address space that opened it, and no other. */
	if (current->mm != vf->mm) {
		vtop_stats_fail(VTOP_FAIL_EACCES);
		return -EACCES;
	}

	ret = handler(vf, uarg);
	/* PIN counts its own failures: it knows which limit was hit. */
	if (ret < 0 && cmd != VTOP_IOC_PIN)
		vtop_stats_fail_errno(ret);
	return ret;
}

static const struct file_operations vtop_fops = {
	.owner		= THIS_MODULE,
	.open		= vtop_open,
	.release	= vtop_release,
	.unlocked_ioctl	= vtop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.read		= vtop_read,
	.poll		= vtop_poll,
	.mmap		= vtop_mmap,
};

/* Is @file an open /dev/vtop (its private_data a struct vtop_file)? */
bool vtop_is_vtop_file(const struct file *file)
{
	return file->f_op == &vtop_fops;
}

static struct miscdevice vtop_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VTOP_DEVICE_NAME,
	.fops	= &vtop_fops,
	.mode	= 0600,
};

static int __init vtop_init(void)
{
	int ret;

	vtop_stats_init();
	ret = vtop_dma_init();
	if (ret)
		goto err_remove_stats;
	ret = misc_register(&vtop_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", VTOP_DEVICE_NAME, ret);
		goto err_dma_exit;
	}
	pr_info("version %s loaded\n", VTOP_VERSION);
	return 0;

err_dma_exit:
	vtop_dma_exit();
err_remove_stats:
	vtop_stats_exit();
	return ret;
}

static void __exit vtop_exit(void)
{
	misc_deregister(&vtop_misc);
	vtop_dma_exit();
	vtop_stats_exit();
}

module_init(vtop_init);
module_exit(vtop_exit);

MODULE_DESCRIPTION("Pin user memory and report its DMA addresses");
MODULE_AUTHOR("The vtop authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(VTOP_VERSION);
