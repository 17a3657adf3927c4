// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error messages, version, allocation hook, extensible-struct copies. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#ifndef VTOP_VERSION_STRING
#error "VTOP_VERSION_STRING must be defined by the build (from VERSION)"
#endif

#ifdef VTOP_TEST_HOOKS
void *(*vtop__calloc_hook)(size_t nmemb, size_t size);
#endif

/*
 * Each thread's message lives on the heap, allocated at its first error
 * and freed when it exits, not in a 512-byte thread-local array: libvtop
 * uses initial-exec TLS (vtop__in_callback), so a dlopen() of it takes
 * its whole TLS block from glibc's small static TLS surplus, and that
 * block is kept to a few bytes.
 */
#define LAST_ERROR_SIZE	512

static _Thread_local char *last_error;
/* An error happened in this thread but its message could not be kept. */
static _Thread_local bool last_error_lost;
static pthread_key_t last_error_key;
static bool last_error_key_ok;
static pthread_once_t last_error_once = PTHREAD_ONCE_INIT;

/*
 * At thread exit. A later destructor (another library's) may still fail
 * a libvtop call in this thread: it then gets a new buffer, not this one.
 */
static void last_error_free(void *buf)
{
	free(buf);
	last_error = NULL;
}

static void last_error_key_init(void)
{
	last_error_key_ok = !pthread_key_create(&last_error_key,
						last_error_free);
}

/* Before a dlopen()ed libvtop goes, its destructor must not stay. */
__attribute__((destructor))
static void last_error_key_fini(void)
{
	if (last_error_key_ok)
		pthread_key_delete(last_error_key);
	last_error_key_ok = false;
}

static char *last_error_buf(void)
{
	char *buf = last_error;

	if (buf)
		return buf;
	pthread_once(&last_error_once, last_error_key_init);
	if (!last_error_key_ok)
		return NULL;
	buf = malloc(LAST_ERROR_SIZE);
	if (buf && pthread_setspecific(last_error_key, buf)) {
		free(buf);
		buf = NULL;
	}
	last_error = buf;
	return buf;
}

int vtop__err(int err, const char *fmt, ...)
{
	int saved_errno = errno;
	char *buf = last_error_buf();
	va_list ap;
	int n;

	last_error_lost = !buf;
	if (buf) {
		n = snprintf(buf, LAST_ERROR_SIZE, "libvtop: ");
		va_start(ap, fmt);
		vsnprintf(buf + n, LAST_ERROR_SIZE - n, fmt, ap);
		va_end(ap);
		if (err < 0) {
			size_t len = strlen(buf);

			snprintf(buf + len, LAST_ERROR_SIZE - len, " (%s)",
				 strerror(-err));
		}
	}
	errno = saved_errno;
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
	if (last_error_lost)
		return "libvtop: a call failed; no memory was left for its message";
	return last_error ? last_error : "";
}
