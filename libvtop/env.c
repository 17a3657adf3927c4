// SPDX-License-Identifier: LGPL-2.1-or-later
/* Environment: options, backend selection, module loading. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <dlfcn.h>
#include <libkmod.h>

#include "internal.h"

pthread_mutex_t vtop__lock = PTHREAD_MUTEX_INITIALIZER;
struct vtop_env vtop__env;

/* The first published struct vtop_env_opts ends after pci_device. */
#define OPTS_MIN_SIZE	(offsetof(struct vtop_env_opts, pci_device) + \
			 sizeof(const char *))
#define KNOWN_FLAGS	(VTOP_ENV_LOAD_MODULE | VTOP_ENV_EVENT_THREAD | \
			 VTOP_ENV_DONTFORK)

/*
 * Options with their strings copied: those in force, and the last ones
 * given to a successful vtop_env_init() (for the implicit initialization).
 */
struct owned_opts {
	bool valid;
	struct vtop_env_opts o;
	char *device_path;
	char *module_path;
	char *pci_device;
};
static struct owned_opts cur_opts, saved_opts;

/* The event thread (VTOP_ENV_EVENT_THREAD), under vtop__lock. */
static struct {
	bool running;
	pthread_t tid;
	int wake_fd;		/* an eventfd: written to stop the thread */
} evthread = { .wake_fd = -1 };

int vtop__parse_pci(const char *s, uint32_t *domain, uint32_t *bdf)
{
	unsigned int d = 0, b, sl, f;
	int n = 0;

	if (!s)
		return -EINVAL;
	if (sscanf(s, "%x:%x:%x.%x%n", &d, &b, &sl, &f, &n) == 4 &&
	    !s[n] && n == 12)
		goto check;
	d = 0;
	n = 0;
	if (sscanf(s, "%x:%x.%x%n", &b, &sl, &f, &n) == 3 && !s[n] && n == 7)
		goto check;
	return -EINVAL;
check:
	if (d > 0xffff || b > 0xff || sl > 0x1f || f > 7)
		return -EINVAL;
	*domain = d;
	*bdf = b << 8 | sl << 3 | f;
	return 0;
}

/*
 * libkmod is loaded with dlopen() the first time VTOP_ENV_LOAD_MODULE needs
 * it, so that no program linked with libvtop depends on libkmod.so.2 (its
 * header gives the types only). Under vtop__lock; never unloaded.
 */
static struct {
	bool loaded;
	__typeof__(kmod_new) *new_ctx;
	__typeof__(kmod_unref) *unref;
	__typeof__(kmod_module_new_from_path) *from_path;
	__typeof__(kmod_module_new_from_name) *from_name;
	__typeof__(kmod_module_get_initstate) *initstate;
	__typeof__(kmod_module_insert_module) *insert;
	__typeof__(kmod_module_probe_insert_module) *probe;
	__typeof__(kmod_module_unref) *mod_unref;
} kmod;

#define LIBKMOD_SONAME	"libkmod.so.2"

static int kmod_load(void)
{
	void *h;

	if (kmod.loaded)
		return 0;
	h = dlopen(LIBKMOD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return vtop__err(-ENOENT, "VTOP_ENV_LOAD_MODULE: cannot load %s (Debian package libkmod2): %s",
				LIBKMOD_SONAME, dlerror());
	kmod.new_ctx = (__typeof__(kmod.new_ctx))dlsym(h, "kmod_new");
	kmod.unref = (__typeof__(kmod.unref))dlsym(h, "kmod_unref");
	kmod.from_path = (__typeof__(kmod.from_path))
			 dlsym(h, "kmod_module_new_from_path");
	kmod.from_name = (__typeof__(kmod.from_name))
			 dlsym(h, "kmod_module_new_from_name");
	kmod.initstate = (__typeof__(kmod.initstate))
			 dlsym(h, "kmod_module_get_initstate");
	kmod.insert = (__typeof__(kmod.insert))
		      dlsym(h, "kmod_module_insert_module");
	kmod.probe = (__typeof__(kmod.probe))
		     dlsym(h, "kmod_module_probe_insert_module");
	kmod.mod_unref = (__typeof__(kmod.mod_unref))
			 dlsym(h, "kmod_module_unref");
	if (!kmod.new_ctx || !kmod.unref || !kmod.from_path ||
	    !kmod.from_name || !kmod.initstate || !kmod.insert ||
	    !kmod.probe || !kmod.mod_unref) {
		dlclose(h);
		return vtop__err(-ENOENT, "VTOP_ENV_LOAD_MODULE: %s lacks a function libvtop needs",
				LIBKMOD_SONAME);
	}
	kmod.loaded = true;
	return 0;
}

int vtop__load_module(const char *module_path)
{
	const char *null_config = NULL;
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int rc, state;

	rc = kmod_load();
	if (rc)
		return rc;
	ctx = kmod.new_ctx(NULL, &null_config);
	if (!ctx)
		return vtop__err(-ENOMEM, "libkmod: kmod_new failed");
	if (module_path)
		rc = kmod.from_path(ctx, module_path, &mod);
	else
		rc = kmod.from_name(ctx, "vtop", &mod);
	if (rc < 0) {
		vtop__err(rc, "libkmod: cannot find the vtop module %s",
			 module_path ? module_path : "");
		goto out;
	}
	state = kmod.initstate(mod);
	if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING ||
	    state == KMOD_MODULE_BUILTIN) {
		rc = 0;
		goto out;
	}
	if (module_path) {
		rc = kmod.insert(mod, 0, NULL);
		if (rc == -EEXIST)
			rc = 0;
	} else {
		rc = kmod.probe(mod,
				KMOD_PROBE_IGNORE_COMMAND |
				KMOD_PROBE_APPLY_BLACKLIST,
				NULL, NULL, NULL, NULL);
		if (rc > 0)
			rc = vtop__err(-EPERM, "libkmod: the vtop module is blacklisted");
	}
	if (rc < 0)
		vtop__err(rc, "libkmod: loading the vtop module%s%s failed%s",
			 module_path ? " from " : "",
			 module_path ? module_path : "",
			 rc == -EPERM ? ": loading modules needs CAP_SYS_MODULE" :
			 rc == -ENOENT ? ": it is not installed for this kernel (install it with DKMS, or give module_path)" :
			 "");
out:
	if (mod)
		kmod.mod_unref(mod);
	kmod.unref(ctx);
	return rc;
}

static char *dup_str(const char *s, int *rc)
{
	char *d;

	if (!s)
		return NULL;
	d = vtop_calloc(1, strlen(s) + 1);
	if (!d) {
		*rc = -ENOMEM;
		return NULL;
	}
	return strcpy(d, s);
}

static void owned_free(struct owned_opts *d)
{
	free(d->device_path);
	free(d->module_path);
	free(d->pci_device);
	memset(d, 0, sizeof(*d));
}

static int owned_set(struct owned_opts *d, const struct vtop_env_opts *o)
{
	struct owned_opts n = { .valid = true, .o = *o };
	int rc = 0;

	n.device_path = dup_str(o->device_path, &rc);
	n.module_path = dup_str(o->module_path, &rc);
	n.pci_device = dup_str(o->pci_device, &rc);
	if (rc) {
		owned_free(&n);
		return vtop__err(rc, "out of memory copying the options");
	}
	n.o.device_path = n.device_path;
	n.o.module_path = n.module_path;
	n.o.pci_device = n.pci_device;
	owned_free(d);
	*d = n;
	return 0;
}

static bool str_eq(const char *a, const char *b, const char *dflt)
{
	if (!a)
		a = dflt;
	if (!b)
		b = dflt;
	return a == b || (a && b && !strcmp(a, b));
}

static bool opts_equal(const struct vtop_env_opts *a,
		       const struct vtop_env_opts *b)
{
	return a->backend == b->backend && a->flags == b->flags &&
	       str_eq(a->device_path, b->device_path, VTOP_DEVICE_PATH) &&
	       str_eq(a->module_path, b->module_path, NULL) &&
	       str_eq(a->pci_device, b->pci_device, NULL);
}

/*
 * The descriptor vtop_env_get_event_fd() gives (since 0.6): an epoll
 * instance watching the environment's descriptor and every attached
 * device's, readable while any of them has records queued. Under
 * vtop__lock; -1 without events. Never changed with epoll_ctl() in a
 * fork() child: the instance is shared with the parent.
 */
static int ev_epfd = -1;
/*
 * An eventfd in that epoll set: written when a device is found revoked
 * outside processing (the translation fast path read its records), so that
 * the event fd stays readable until the events are processed.
 */
static int ev_kick = -1;
/*
 * Set after every write to ev_kick, cleared by the drain before it reads:
 * processing (every register and unregister) reads the eventfd only when
 * a kick may be waiting, not with a system call each time. A kick written
 * while a drain runs keeps the flag set, so the next drain reads it.
 */
_Atomic bool vtop__env_kicked;

void vtop__env_kick(void)
{
	uint64_t one = 1;

	if (ev_kick < 0)
		return;
	if (write(ev_kick, &one, sizeof(one)) < 0)
		vtop__err(-errno, "cannot signal the event descriptor");
	atomic_store(&vtop__env_kicked, true);
}

void vtop__env_kick_drain(void)
{
	uint64_t v;

	if (ev_kick >= 0 && atomic_load_explicit(&vtop__env_kicked,
						 memory_order_relaxed) &&
	    atomic_exchange(&vtop__env_kicked, false) &&
	    read(ev_kick, &v, sizeof(v)) < 0)
		v = 0;
}

static void ev_fds_close(void)
{
	if (ev_epfd >= 0)
		close(ev_epfd);
	if (ev_kick >= 0)
		close(ev_kick);
	ev_epfd = -1;
	ev_kick = -1;
	atomic_store(&vtop__env_kicked, false);
}

void vtop__env_watch_dev(struct vtop_dev *d, bool add)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = d };
	int fd;

	if (ev_epfd < 0 || vtop__env.inherited || !d->ctx ||
	    !d->ops->event_fd)
		return;
	fd = d->ops->event_fd(d->ctx);
	if (fd < 0)
		return;
	if (epoll_ctl(ev_epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd,
		      &e) && add)
		vtop__err(-errno, "device %s: its descriptor cannot be watched for revocation (the translation fast path and vtop_mem_process_events() still see it)",
			 d->name);
}

/* ---- the event thread --------------------------------------------------- */

/* What the thread waits on; written before it starts, read-only since. */
static struct {
	int ev_fd;
	int wake_fd;
} evthread_args;

static void *event_thread(void *arg)
{
	struct pollfd p[2] = {
		{ .fd = evthread_args.ev_fd, .events = POLLIN },
		{ .fd = evthread_args.wake_fd, .events = POLLIN },
	};
	struct timespec backoff = { 0, 1000 * 1000 };
	int rc;

	(void)arg;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		if (p[0].revents & POLLIN) {
			rc = vtop_mem_process_events();
			/* Do not spin on a descriptor that keeps failing. */
			if (rc < 0)
				nanosleep(&backoff, NULL);
		}
	}
	return NULL;
}

/* With vtop__lock held. */
static int evthread_start(int fd)
{
	sigset_t all, old;
	int rc;

	evthread.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (evthread.wake_fd < 0)
		return vtop__err(-errno, "eventfd for the event thread failed");
	/* The thread takes no signal: the application's threads do. */
	evthread_args.ev_fd = fd;
	evthread_args.wake_fd = evthread.wake_fd;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&evthread.tid, NULL, event_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(evthread.wake_fd);
		evthread.wake_fd = -1;
		return vtop__err(rc, "cannot start the event thread");
	}
	evthread.running = true;
	return 0;
}

/* Without vtop__lock: the thread may be waiting for it. */
static void evthread_stop(pthread_t tid, int wake_fd)
{
	uint64_t one = 1;

	if (write(wake_fd, &one, sizeof(one)) != sizeof(one))
		vtop__err(-errno, "cannot wake the event thread");
	pthread_join(tid, NULL);
	close(wake_fd);
}

/* ---- initialization ----------------------------------------------------- */

/*
 * With vtop__lock held: make @ops/@ctx the environment (the vtophys map
 * allocated if needed, the event page in place, the thread started).
 * On failure @ctx is closed.
 */
static int env_install_locked(const struct vtop_backend_ops *ops, void *ctx,
			      uint32_t backend, uint32_t mode, uint32_t flags,
			      bool implicit)
{
	const struct vtop_event_page *pg = NULL;
	bool events;
	uint64_t seq;
	int rc;

	rc = vtop__vtophys_map_init_locked();
	if (rc)
		goto err;
	events = ops->event_page && ops->event_fd && ops->read_events &&
		 ops->get_invalidated && (pg = ops->event_page(ctx));
	if ((flags & VTOP_ENV_EVENT_THREAD) && !events) {
		rc = vtop__err(-EOPNOTSUPP, "VTOP_ENV_EVENT_THREAD: the %s backend has no invalidation events%s",
			      ops->name, backend == VTOP_BACKEND_KMOD ?
			      " (the loaded vtop module lacks VTOP_FEATURE_EVENTS: upgrade it)" :
			      "");
		goto err;
	}
	if (!pg)
		pg = &vtop__no_events_page;
	if (events) {
		struct epoll_event e = { .events = EPOLLIN };

		ev_epfd = epoll_create1(EPOLL_CLOEXEC);
		ev_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ev_epfd < 0 || ev_kick < 0 ||
		    epoll_ctl(ev_epfd, EPOLL_CTL_ADD, ops->event_fd(ctx), &e) ||
		    epoll_ctl(ev_epfd, EPOLL_CTL_ADD, ev_kick, &e)) {
			rc = vtop__err(-errno, "epoll for the event descriptor failed");
			ev_fds_close();
			goto err;
		}
	}
	atomic_store(&vtop__env_revoked, false);
	pthread_mutex_lock(&vtop__ev_lock);
	vtop__env = (struct vtop_env){
		.ready = true, .implicit = implicit, .backend = backend,
		.mode = mode, .flags = flags, .ops = ops, .ctx = ctx,
		.events = events,
	};
	atomic_store(&vtop__ev.page, pg);
	pthread_mutex_unlock(&vtop__ev_lock);
	seq = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);
	vtop__mem_ev_reset(seq);
	if (flags & VTOP_ENV_EVENT_THREAD) {
		rc = evthread_start(ev_epfd);
		if (rc) {
			ev_fds_close();
			pthread_mutex_lock(&vtop__ev_lock);
			memset(&vtop__env, 0, sizeof(vtop__env));
			atomic_store(&vtop__ev.page, &vtop__no_events_page);
			pthread_mutex_unlock(&vtop__ev_lock);
			vtop__mem_ev_reset(0);
			goto err;
		}
	}
	return 0;
err:
	ops->close(ctx);
	return rc;
}

/* With vtop__lock held: close the backend (nothing registered). */
static void env_close_locked(void)
{
	const struct vtop_backend_ops *ops = vtop__env.ops;
	void *ctx = vtop__env.ctx;

	pthread_mutex_lock(&vtop__ev_lock);
	atomic_store(&vtop__ev.page, &vtop__no_events_page);
	memset(&vtop__env, 0, sizeof(vtop__env));
	pthread_mutex_unlock(&vtop__ev_lock);
	vtop__mem_ev_reset(0);
	atomic_store(&vtop__ev.inherited, false);
	atomic_store(&vtop__env_revoked, false);
	ev_fds_close();
	if (ops)
		ops->close(ctx);
}

static int env_init_locked(const struct vtop_env_opts *user, bool implicit)
{
	struct vtop_env_opts opts = { .size = sizeof(opts) };
	struct owned_opts cur = { 0 }, saved = { 0 };
	const struct vtop_backend_ops *ops = NULL;
	uint32_t mode = VTOP_MODE_PHYS;
	bool adopt = false;
	void *ctx = NULL;
	int rc;

	if (vtop__env.ready && vtop__env.inherited)
		return vtop__err(-ECHILD, "this process is a fork() child with its parent's environment: call vtop_env_fini() first");
	if (vtop__env.ready && !vtop__env.implicit)
		return vtop__err(-EALREADY, "the environment is already initialized");
	if (user) {
		rc = vtop__copy_sized(&opts, sizeof(opts), OPTS_MIN_SIZE, user);
		if (rc)
			return rc;
	} else if (implicit && saved_opts.valid) {
		opts = saved_opts.o;
	}
	if (opts.flags & ~KNOWN_FLAGS)
		return vtop__err(-EINVAL, "unknown option flags 0x%x",
				opts.flags & ~KNOWN_FLAGS);
	if (opts.pci_device) {
		uint32_t d, bdf;

		if (vtop__parse_pci(opts.pci_device, &d, &bdf))
			return vtop__err(-EINVAL, "bad PCI address \"%s\" (want DDDD:BB:SS.F or BB:SS.F)",
					opts.pci_device);
	}
	if (opts.backend == VTOP_BACKEND_PAGEMAP) {
		if (opts.pci_device)
			return vtop__err(-EOPNOTSUPP, "the pagemap backend cannot attach to a PCI device: it knows physical addresses only");
		if (opts.device_path || (opts.flags & VTOP_ENV_LOAD_MODULE) ||
		    opts.module_path)
			return vtop__err(-EINVAL, "device_path, module_path and VTOP_ENV_LOAD_MODULE are kmod backend options");
		if (opts.flags & VTOP_ENV_EVENT_THREAD)
			return vtop__err(-EOPNOTSUPP, "VTOP_ENV_EVENT_THREAD: the pagemap backend pins nothing and has no invalidation events");
	} else if (opts.backend != VTOP_BACKEND_KMOD) {
		return vtop__err(-EINVAL, "unknown backend %u", opts.backend);
	}

	if (vtop__env.ready) {
		/* Initialized implicitly: adopt the options, or refuse. */
		if (cur_opts.valid && opts_equal(&opts, &cur_opts.o)) {
			rc = owned_set(&saved_opts, &opts);
			if (!rc)
				vtop__env.implicit = false;
			return rc;
		}
		if (vtop__mem_nr_regs_locked() || evthread.running ||
		    vtop__nr_devs)
			return vtop__err(-EBUSY, "the environment was initialized implicitly (by a call such as vtop_mem_register(), vtop_vtophys_map() or vtop_dev_attach() before vtop_env_init()) with other options, and memory is registered or a device attached: call vtop_env_fini() first, or vtop_env_init() before anything else");
		adopt = true;
	}

	/* Copies first: a failure after the backend is open undoes less. */
	rc = owned_set(&cur, &opts);
	if (!rc && !implicit)
		rc = owned_set(&saved, &opts);
	if (rc)
		goto out;
	if (opts.backend == VTOP_BACKEND_KMOD)
		rc = vtop__backend_kmod_open(&opts, &ops, &ctx, &mode);
	else
		rc = vtop__backend_pagemap_open(&opts, &ops, &ctx, &mode);
	if (rc)
		goto out;
	/* The new backend is open: now the implicit one can go. */
	if (adopt)
		env_close_locked();
	rc = env_install_locked(ops, ctx, opts.backend, mode, opts.flags,
				implicit);
	if (rc)
		goto out;
	owned_free(&cur_opts);
	cur_opts = cur;
	cur = (struct owned_opts){ 0 };
	if (!implicit) {
		owned_free(&saved_opts);
		saved_opts = saved;
		saved = (struct owned_opts){ 0 };
	}
out:
	owned_free(&cur);
	owned_free(&saved);
	return rc;
}

const char *vtop__env_device_path(void)
{
	return cur_opts.valid ? cur_opts.o.device_path : NULL;
}

const char *vtop__env_pci_device(void)
{
	return cur_opts.valid ? cur_opts.o.pci_device : NULL;
}

int vtop__env_ensure_locked(void)
{
	if (vtop__env.ready)
		return 0;
	return env_init_locked(NULL, true);
}

int vtop__env_check_child(const char *what)
{
	if (vtop__env.inherited)
		return vtop__err(-ECHILD, "%s: this process is a fork() child; the environment (pins, addresses, maps' registrations) is its parent's. Call vtop_env_fini() and vtop_env_init() for its own",
				what);
	return 0;
}

#ifdef VTOP_TEST_HOOKS
int vtop__env_init_backend_flags(const struct vtop_backend_ops *ops,
				 void *ctx, uint32_t mode, uint32_t flags)
{
	int rc;

	pthread_mutex_lock(&vtop__lock);
	if (vtop__env.ready)
		rc = -EALREADY;
	else
		rc = env_install_locked(ops, ctx, UINT32_MAX, mode,
					flags & ~VTOP__ENV_IMPLICIT,
					flags & VTOP__ENV_IMPLICIT);
	if (!rc) {
		/* Options unknown: equal to none. */
		owned_free(&cur_opts);
		cur_opts.valid = false;
	}
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

int vtop__env_init_backend(const struct vtop_backend_ops *ops, void *ctx,
			   uint32_t mode)
{
	return vtop__env_init_backend_flags(ops, ctx, mode, 0);
}
#endif /* VTOP_TEST_HOOKS */

VTOP_EXPORT
int vtop_env_init(const struct vtop_env_opts *opts)
{
	int rc;

	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_env_init called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	rc = env_init_locked(opts, false);
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

VTOP_EXPORT
void vtop_env_fini(void)
{
	bool had_thread;
	pthread_t tid;
	int wake_fd;

	if (vtop__in_callback) {
		vtop__err(-EDEADLK, "vtop_env_fini called from a notify callback; nothing was done");
		return;
	}
	/* Stop the event thread first: it may be waiting for the lock. */
	pthread_mutex_lock(&vtop__lock);
	had_thread = evthread.running;
	tid = evthread.tid;
	wake_fd = evthread.wake_fd;
	evthread.running = false;
	evthread.wake_fd = -1;
	pthread_mutex_unlock(&vtop__lock);
	if (had_thread)
		evthread_stop(tid, wake_fd);

	pthread_mutex_lock(&vtop__lock);
	if (vtop__env.ready) {
		if (vtop__env.inherited) {
			/* The parent's: forget, no callback, no unpin. */
			vtop__dev_detach_all_locked();
			vtop__mem_forget_all();
			vtop__env.ops = NULL;
		} else {
			vtop__mem_unregister_all_locked();
			vtop__dev_detach_all_locked();
		}
		env_close_locked();
		owned_free(&cur_opts);
	}
	pthread_mutex_unlock(&vtop__lock);
}

VTOP_EXPORT
int vtop_env_get_info(struct vtop_info *info)
{
	int rc;

	if (!info)
		return vtop__err(-EINVAL, "info is NULL");
	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_env_get_info called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	rc = vtop__env_check_child("vtop_env_get_info");
	if (!rc)
		rc = vtop__env_ensure_locked();
	if (!rc) {
		if (vtop__env.ops->info)
			rc = vtop__env.ops->info(vtop__env.ctx, info);
		else
			rc = vtop__err(-EOPNOTSUPP, "the %s backend has no INFO",
				      vtop__env.ops->name);
	}
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

VTOP_EXPORT
int vtop_env_get_event_fd(void)
{
	int rc;

	if (vtop__in_callback)
		return vtop__err(-EDEADLK, "vtop_env_get_event_fd called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	rc = vtop__env_check_child("vtop_env_get_event_fd");
	if (!rc)
		rc = vtop__env_ensure_locked();
	if (!rc) {
		if (vtop__env.events)
			rc = ev_epfd;
		else
			rc = vtop__err(-EOPNOTSUPP, "the %s backend has no invalidation events%s",
				      vtop__env.ops->name,
				      vtop__env.backend == VTOP_BACKEND_KMOD ?
				      " (the loaded vtop module lacks VTOP_FEATURE_EVENTS)" :
				      vtop__env.backend == VTOP_BACKEND_PAGEMAP ?
				      " (it pins nothing)" : "");
	}
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

/* ---- fork ---------------------------------------------------------------- */

/* Did this thread's prepare handler take vtop__lock (not in a callback)? */
static _Thread_local bool fork_took_lock;

static void atfork_prepare(void)
{
	fork_took_lock = !vtop__in_callback;
	if (fork_took_lock) {
		vtop__dma_lock();
		pthread_mutex_lock(&vtop__lock);
	}
	pthread_mutex_lock(&vtop__ev_lock);
	vtop__maps_lock_all();
}

static void atfork_release(void)
{
	vtop__maps_unlock_all();
	pthread_mutex_unlock(&vtop__ev_lock);
	if (fork_took_lock) {
		pthread_mutex_unlock(&vtop__lock);
		vtop__dma_unlock();
	}
}

static void atfork_child(void)
{
	atfork_release();
	/* The thread was not copied; its wake-up descriptor was. */
	if (evthread.wake_fd >= 0)
		close(evthread.wake_fd);
	evthread.running = false;
	evthread.wake_fd = -1;
	if (!vtop__env.ready || vtop__env.inherited)
		return;
	/* The parent's epoll instance and kick: closed, never changed. */
	ev_fds_close();
	/*
	 * Every translation takes the slow path from now on, which says
	 * -ECHILD; the inline lookups find an empty vtophys map.
	 */
	atomic_store(&vtop__ev.inherited, true);
	atomic_store(&vtop__ev.page, &vtop__no_events_page);
	atomic_store(&vtop__ev.seen, UINT64_MAX);
	vtop__env.inherited = true;
	vtop__env.events = false;
	vtop__mem_fork_child();
	vtop__dev_fork_child();
	/* The parent's pins end with the parent: drop the descriptor. */
	vtop__env.ops->close(vtop__env.ctx);
	vtop__env.ctx = NULL;
}

__attribute__((constructor))
static void vtop_atfork_init(void)
{
	pthread_atfork(atfork_prepare, atfork_release, atfork_child);
}
