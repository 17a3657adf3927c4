// SPDX-License-Identifier: LGPL-2.1-or-later
/* Environment: options, backend selection, module loading. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <libkmod.h>

#include "internal.h"

pthread_mutex_t vtop__lock = PTHREAD_MUTEX_INITIALIZER;
struct vtop_env vtop__env;

/* The first published struct vtop_env_opts ends after pci_device. */
#define OPTS_MIN_SIZE	(offsetof(struct vtop_env_opts, pci_device) + \
			 sizeof(const char *))
#define KNOWN_FLAGS	VTOP_ENV_LOAD_MODULE

int vtop_parse_pci(const char *s, uint32_t *domain, uint32_t *bdf)
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

int vtop_load_module(const char *module_path)
{
	const char *null_config = NULL;
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int rc, state;

	ctx = kmod_new(NULL, &null_config);
	if (!ctx)
		return vtop_err(-ENOMEM, "libkmod: kmod_new failed");
	if (module_path)
		rc = kmod_module_new_from_path(ctx, module_path, &mod);
	else
		rc = kmod_module_new_from_name(ctx, "vtop", &mod);
	if (rc < 0) {
		vtop_err(rc, "libkmod: cannot find the vtop module %s",
			 module_path ? module_path : "");
		goto out;
	}
	state = kmod_module_get_initstate(mod);
	if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING ||
	    state == KMOD_MODULE_BUILTIN) {
		rc = 0;
		goto out;
	}
	if (module_path) {
		rc = kmod_module_insert_module(mod, 0, NULL);
		if (rc == -EEXIST)
			rc = 0;
	} else {
		rc = kmod_module_probe_insert_module(mod,
				KMOD_PROBE_IGNORE_COMMAND |
				KMOD_PROBE_APPLY_BLACKLIST,
				NULL, NULL, NULL, NULL);
		if (rc > 0)
			rc = vtop_err(-EPERM, "libkmod: the vtop module is blacklisted");
	}
	if (rc < 0)
		vtop_err(rc, "libkmod: loading the vtop module%s%s failed%s",
			 module_path ? " from " : "",
			 module_path ? module_path : "",
			 rc == -EPERM ? ": loading modules needs CAP_SYS_MODULE" :
			 rc == -ENOENT ? ": it is not installed for this kernel (install it with DKMS, or give module_path)" :
			 "");
out:
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return rc;
}

static int env_init_locked(const struct vtop_env_opts *user)
{
	struct vtop_env_opts opts = { .size = sizeof(opts) };
	const struct vtop_backend_ops *ops = NULL;
	uint32_t mode = VTOP_MODE_PHYS;
	void *ctx = NULL;
	int rc;

	if (vtop__env.ready)
		return vtop_err(-EALREADY, "the environment is already initialized");
	if (user) {
		rc = vtop_copy_sized(&opts, sizeof(opts), OPTS_MIN_SIZE, user);
		if (rc)
			return rc;
	}
	if (opts.flags & ~KNOWN_FLAGS)
		return vtop_err(-EINVAL, "unknown option flags 0x%x",
				opts.flags & ~KNOWN_FLAGS);
	if (opts.pci_device) {
		uint32_t d, bdf;

		if (vtop_parse_pci(opts.pci_device, &d, &bdf))
			return vtop_err(-EINVAL, "bad PCI address \"%s\" (want DDDD:BB:SS.F or BB:SS.F)",
					opts.pci_device);
	}
	switch (opts.backend) {
	case VTOP_BACKEND_KMOD:
		rc = vtop_backend_kmod_open(&opts, &ops, &ctx, &mode);
		break;
	case VTOP_BACKEND_PAGEMAP:
		if (opts.pci_device)
			return vtop_err(-EOPNOTSUPP, "the pagemap backend cannot attach to a PCI device: it knows physical addresses only");
		if (opts.device_path || (opts.flags & VTOP_ENV_LOAD_MODULE) ||
		    opts.module_path)
			return vtop_err(-EINVAL, "device_path, module_path and VTOP_ENV_LOAD_MODULE are kmod backend options");
		rc = vtop_backend_pagemap_open(&opts, &ops, &ctx, &mode);
		break;
	default:
		return vtop_err(-EINVAL, "unknown backend %u", opts.backend);
	}
	if (rc)
		return rc;
	rc = vtop_vtophys_map_init_locked();
	if (rc) {
		ops->close(ctx);
		return rc;
	}
	vtop__env = (struct vtop_env){
		.ready = true, .backend = opts.backend, .mode = mode,
		.ops = ops, .ctx = ctx,
	};
	return 0;
}

int vtop_env_ensure_locked(void)
{
	if (vtop__env.ready)
		return 0;
	return env_init_locked(NULL);
}

int vtop__env_init_backend(const struct vtop_backend_ops *ops, void *ctx,
			   uint32_t mode)
{
	int rc = 0;

	pthread_mutex_lock(&vtop__lock);
	if (vtop__env.ready) {
		rc = -EALREADY;
		goto out;
	}
	rc = vtop_vtophys_map_init_locked();
	if (rc)
		goto out;
	vtop__env = (struct vtop_env){
		.ready = true, .backend = UINT32_MAX, .mode = mode,
		.ops = ops, .ctx = ctx,
	};
out:
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

VTOP_EXPORT
int vtop_env_init(const struct vtop_env_opts *opts)
{
	int rc;

	if (vtop__in_callback)
		return vtop_err(-EDEADLK, "vtop_env_init called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	rc = env_init_locked(opts);
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}

VTOP_EXPORT
void vtop_env_fini(void)
{
	if (vtop__in_callback) {
		vtop_err(-EDEADLK, "vtop_env_fini called from a notify callback; nothing was done");
		return;
	}
	pthread_mutex_lock(&vtop__lock);
	if (vtop__env.ready) {
		vtop_mem_unregister_all_locked();
		vtop__env.ops->close(vtop__env.ctx);
		vtop_vtophys_map_fini_locked();
		memset(&vtop__env, 0, sizeof(vtop__env));
	}
	pthread_mutex_unlock(&vtop__lock);
}

VTOP_EXPORT
int vtop_env_get_info(struct vtop_info *info)
{
	int rc;

	if (!info)
		return vtop_err(-EINVAL, "info is NULL");
	if (vtop__in_callback)
		return vtop_err(-EDEADLK, "vtop_env_get_info called from a notify callback");
	pthread_mutex_lock(&vtop__lock);
	rc = vtop_env_ensure_locked();
	if (!rc) {
		if (vtop__env.ops->info)
			rc = vtop__env.ops->info(vtop__env.ctx, info);
		else
			rc = vtop_err(-EOPNOTSUPP, "the %s backend has no INFO",
				      vtop__env.ops->name);
	}
	pthread_mutex_unlock(&vtop__lock);
	return rc;
}
