// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error messages, version, allocation hook, extensible-struct copies. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#ifndef VTOP_VERSION_STRING
#error "VTOP_VERSION_STRING must be defined by the build (from VERSION)"
#endif

#ifdef VTOP_TEST_HOOKS
void *(*vtop__calloc_hook)(size_t nmemb, size_t size);
#endif

static _Thread_local char last_error[512];

int vtop__err(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(last_error, sizeof(last_error), "libvtop: ");
	va_start(ap, fmt);
	vsnprintf(last_error + n, sizeof(last_error) - n, fmt, ap);
	va_end(ap);
	if (err < 0) {
		size_t len = strlen(last_error);

		snprintf(last_error + len, sizeof(last_error) - len, " (%s)",
			 strerror(-err));
	}
	return err;
}

int vtop__copy_sized(void *dst, size_t known, size_t min, const void *src)
{
	const unsigned char *p = src;
	size_t size, i;

	memset(dst, 0, known);
	memcpy(&size, src, sizeof(size));
	if (size > 4096)
		return vtop__err(-E2BIG, "struct size %zu is implausible", size);
	if (size < min)
		return vtop__err(-EINVAL, "struct size %zu is smaller than %zu",
				size, min);
	for (i = known; i < size; i++)
		if (p[i])
			return vtop__err(-E2BIG, "struct size %zu: bytes beyond %zu that this libvtop does not know are not zero",
					size, known);
	memcpy(dst, src, size < known ? size : known);
	return 0;
}

VTOP_EXPORT
const char *vtop_version(void)
{
	return VTOP_VERSION_STRING;
}

VTOP_EXPORT
const char *vtop_last_error(void)
{
	return last_error;
}
