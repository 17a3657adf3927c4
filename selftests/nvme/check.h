/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One result line per check for the NVMe scenario helpers (attach.c,
 * detach.c): "ok - WHAT" or "not ok - WHAT", flushed at once (the helpers
 * fork and kill); failures counts the "not ok" lines.
 */
#ifndef VTOP_NVME_CHECK_H
#define VTOP_NVME_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int failures;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

#endif
