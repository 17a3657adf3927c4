// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: global counters, shown in /sys/kernel/debug/vtop/stats, and the
 * live pins of every open file, in /sys/kernel/debug/vtop/pins.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/errno.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>

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

/*
 * /sys/kernel/debug/vtop/pins: the module keeps no list of its files, so
 * the file walks the descriptor table of every task (as /proc/PID/fd does
 * per process) and takes a reference to each vtop file it finds; the pins
 * are then read under each file's own mutex, with no spinlock held.
 *
 * Every thread is visited, not only each process's first: a process whose
 * main thread exited keeps its table in the other threads, and a thread
 * may have a table of its own (unshare(CLONE_FILES), clone() without
 * CLONE_FILES). Threads are found by pid number (find_ge_pid(), as
 * /proc's readdir does), each under a short RCU read section of its own,
 * so the walk never holds RCU across all tasks and can reschedule. A file
 * is listed under the process id (tgid) and descriptor number it is found
 * at; the threads sharing one table find the same (tgid, fd, file) and it
 * is listed once. A file held by several processes (passed or inherited)
 * is listed under each of them.
 */
struct vtop_fd_ref {
	struct file *file;
	pid_t pid;
	unsigned int fd;
	char comm[TASK_COMM_LEN];
};

struct vtop_fd_walk {
	struct vtop_fd_ref *refs;
	unsigned int nr;
	unsigned int cap;
	unsigned int found;	/* refs wanted, past @cap too */
	struct task_struct *task;
};

/* iterate_fd() callback, under the task lock and files->file_lock. */
static int vtop_fd_collect(const void *arg, struct file *file, unsigned int fd)
{
	struct vtop_fd_walk *w = *(struct vtop_fd_walk * const *)arg;
	struct vtop_fd_ref *ref;

	/* Only a /dev/vtop file has a struct vtop_file behind it. */
	if (!vtop_is_vtop_file(file))
		return 0;
	if (w->found++ >= w->cap)
		return 0;
	ref = &w->refs[w->nr++];
	ref->file = get_file(file);
	ref->pid = task_tgid_nr(w->task);
	ref->fd = fd;
	/* What get_task_comm() does; the task lock is held already. */
	strscpy(ref->comm, w->task->comm, sizeof(ref->comm));
	return 0;
}

/* The task with pid number @nr or the next one after it, referenced. */
static struct task_struct *vtop_next_task(int *nr)
{
	struct task_struct *task = NULL;
	struct pid *pid;

	rcu_read_lock();
	while ((pid = find_ge_pid(*nr, &init_pid_ns))) {
		*nr = pid_nr(pid) + 1;
		task = pid_task(pid, PIDTYPE_PID);
		if (task) {
			get_task_struct(task);
			break;
		}
	}
	rcu_read_unlock();
	return task;
}

static void vtop_fd_walk(struct vtop_fd_walk *w)
{
	struct vtop_fd_walk *wp = w;
	struct task_struct *task;
	int nr = 1;

	w->nr = 0;
	w->found = 0;
	while ((task = vtop_next_task(&nr))) {
		task_lock(task);
		w->task = task;
		iterate_fd(task->files, 0, vtop_fd_collect, &wp);
		task_unlock(task);
		put_task_struct(task);
		cond_resched();
	}
}

/* Order by pid, fd, file: the threads' copies of one entry meet. */
static int vtop_fd_ref_cmp(const void *a, const void *b)
{
	const struct vtop_fd_ref *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	if (x->file != y->file)
		return (unsigned long)x->file < (unsigned long)y->file ? -1 : 1;
	return 0;
}

static void vtop_fd_put_all(struct vtop_fd_walk *w)
{
	unsigned int i;

	for (i = 0; i < w->nr; i++)
		fput(w->refs[i].file);
	w->nr = 0;
}

static void vtop_pins_show_file(struct seq_file *m, const struct vtop_fd_ref *ref)
{
	struct vtop_file *vf = ref->file->private_data;
	struct vtop_region *reg;
	struct rb_node *n;
	bool invalidated;

	mutex_lock(&vf->lock);
	/*
	 * comm last: it may hold spaces and runs to the end of the line; a
	 * newline or backslash in it is written as \ooo.
	 */
	seq_printf(m, "fd pid=%d fd=%u file=%u mode=%s nr_pins=%u pinned_bytes=%llu comm=",
		   ref->pid, ref->fd, vf->id, vf->pdev ? "iova" : "phys",
		   vf->nr_pins, (unsigned long long)vf->pinned_bytes);
	seq_escape(m, ref->comm, "\n\\");
	seq_putc(m, '\n');
	for (n = rb_first(&vf->pins); n; n = rb_next(n)) {
		reg = rb_entry(n, struct vtop_region, node);
		if (!reg->live)
			continue;
		spin_lock(&vf->ev_lock);
		invalidated = reg->ev_reason != 0;
		spin_unlock(&vf->ev_lock);
		seq_printf(m, "pin pid=%d fd=%u handle=0x%llx vaddr=0x%llx length=%llu segs=%u writable=%d invalidated=%d\n",
			   ref->pid, ref->fd,
			   (unsigned long long)vtop_handle(vf, reg->index),
			   (unsigned long long)reg->vaddr,
			   (unsigned long long)reg->length, reg->nr_segs,
			   reg->writable, invalidated);
	}
	mutex_unlock(&vf->lock);
}

static int vtop_pins_show(struct seq_file *m, void *unused)
{
	struct vtop_fd_walk w = { .cap = 64 };
	unsigned int i;

	for (;;) {
		w.refs = kvcalloc(w.cap, sizeof(*w.refs), GFP_KERNEL);
		if (!w.refs)
			return -ENOMEM;
		vtop_fd_walk(&w);
		if (w.found <= w.cap)
			break;
		/* More files than room: walk again with enough. */
		vtop_fd_put_all(&w);
		kvfree(w.refs);
		w.cap = w.found + w.found / 2;
	}
	sort(w.refs, w.nr, sizeof(*w.refs), vtop_fd_ref_cmp, NULL);
	for (i = 0; i < w.nr; i++)
		if (!i || vtop_fd_ref_cmp(&w.refs[i - 1], &w.refs[i]))
			vtop_pins_show_file(m, &w.refs[i]);
	vtop_fd_put_all(&w);
	kvfree(w.refs);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtop_pins);

void vtop_stats_init(void)
{
	/* debugfs is optional: failures here only lose the counters file. */
	vtop_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, vtop_debugfs_dir, NULL,
			    &vtop_stats_fops);
	/* Other processes' addresses: for root only. */
	debugfs_create_file("pins", 0400, vtop_debugfs_dir, NULL,
			    &vtop_pins_fops);
}

void vtop_stats_exit(void)
{
	debugfs_remove_recursive(vtop_debugfs_dir);
}
