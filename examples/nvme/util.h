/* SPDX-License-Identifier: GPL-2.0-only */
/* Logging and clock helpers shared by the example driver's files. */
#ifndef VTOP_NVME_UTIL_H
#define VTOP_NVME_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define PROG "vtop-nvme"

#define log_err(...)	fprintf(stderr, PROG ": error: " __VA_ARGS__)
#define log_info(...)	printf(__VA_ARGS__)

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Sleep @us microseconds; a polling loop calls it between checks. */
static inline void pause_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

#endif /* VTOP_NVME_UTIL_H */
