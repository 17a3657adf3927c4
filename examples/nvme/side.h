/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One controller of the several-controller modes (multi.c, revoke.c): its
 * PCI address, BAR 0 and saved command register, and the driver state.
 */
#ifndef VTOP_NVME_SIDE_H
#define VTOP_NVME_SIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl.h"
#include "pci.h"

struct side {
	const char *label;	/* "A", "B": for messages (may be NULL) */
	struct pci_addr addr;
	volatile void *bar;
	size_t bar_len;
	uint16_t old_cmd;
	bool cmd_saved;
	struct nvme_ctrl c;
};

/*
 * Stop the controller's DMA for good: shut it down, clear bus mastering,
 * restore the command register's other bits, unmap BAR 0. Returns true if
 * the controller can no longer DMA.
 */
bool side_stop(struct side *s);

#endif
