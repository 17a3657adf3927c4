// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: global counters, shown in /sys/kernel/debug/vtop/stats.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/errno.h>
#include <linux/seq_file.h>

#include "vtop.h"

struct vtop_stats vtop_stats;

static struct dentry *vtop_debugfs_dir;

static const char * const vtop_fail_names[VTOP_FAIL_NR] = {
	[VTOP_FAIL_EINVAL]		= "einval",
	[VTOP_FAIL_EFAULT]		= "efault",
	[VTOP_FAIL_ENOMEM_RLIMIT]	= "enomem_rlimit",
	[VTOP_FAIL_ENOMEM_LIMIT]	= "enomem_limit",
	[VTOP_FAIL_ENOSPC]		= "enospc",
	[VTOP_FAIL_ENOBUFS]		= "enobufs",
	[VTOP_FAIL_EACCES]		= "eacces",
	[VTOP_FAIL_EPERM]		= "eperm",
	[VTOP_FAIL_OTHER]		= "other",
};

void vtop_stats_fail(enum vtop_fail cause)
{
	if (cause >= VTOP_FAIL_NR)
		cause = VTOP_FAIL_OTHER;
	atomic64_inc(&vtop_stats.fail[cause]);
}

/* Count a failure whose cause its errno tells. */
void vtop_stats_fail_errno(long err)
{
	switch (err) {
	case -EINVAL:
		vtop_stats_fail(VTOP_FAIL_EINVAL);
		break;
	case -EFAULT:
		vtop_stats_fail(VTOP_FAIL_EFAULT);
		break;
	case -ENOSPC:
		vtop_stats_fail(VTOP_FAIL_ENOSPC);
		break;
	case -ENOBUFS:
		vtop_stats_fail(VTOP_FAIL_ENOBUFS);
		break;
	case -EACCES:
		vtop_stats_fail(VTOP_FAIL_EACCES);
		break;
	case -EPERM:
		vtop_stats_fail(VTOP_FAIL_EPERM);
		break;
	default:
		vtop_stats_fail(VTOP_FAIL_OTHER);
		break;
	}
}

static int vtop_stats_show(struct seq_file *m, void *unused)
{
	int i;

	seq_printf(m, "live_pins %lld\n",
		   (long long)atomic64_read(&vtop_stats.live_pins));
	seq_printf(m, "pinned_bytes %lld\n",
		   (long long)atomic64_read(&vtop_stats.pinned_bytes));
	seq_printf(m, "pins_total %lld\n",
		   (long long)atomic64_read(&vtop_stats.pins_total));
	seq_printf(m, "unpins_total %lld\n",
		   (long long)atomic64_read(&vtop_stats.unpins_total));
	seq_printf(m, "events_total %lld\n",
		   (long long)atomic64_read(&vtop_stats.events_total));
	seq_printf(m, "overflows_total %lld\n",
		   (long long)atomic64_read(&vtop_stats.overflows_total));
	seq_printf(m, "invalidated_pins %lld\n",
		   (long long)atomic64_read(&vtop_stats.invalidated_pins));
	seq_printf(m, "invalidated_bytes %lld\n",
		   (long long)atomic64_read(&vtop_stats.invalidated_bytes));
	for (i = 0; i < VTOP_FAIL_NR; i++)
		seq_printf(m, "fail_%s %lld\n", vtop_fail_names[i],
			   (long long)atomic64_read(&vtop_stats.fail[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtop_stats);

void vtop_stats_init(void)
{
	/* debugfs is optional: failures here only lose the counters file. */
	vtop_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, vtop_debugfs_dir, NULL,
			    &vtop_stats_fops);
}

void vtop_stats_exit(void)
{
	debugfs_remove_recursive(vtop_debugfs_dir);
}
