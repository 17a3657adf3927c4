// SPDX-License-Identifier: GPL-2.0-only
/* Stopping one controller of the several-controller modes (side.h). */
#include <linux/pci_regs.h>

#include "side.h"

bool side_stop(struct side *s)
{
	bool stopped = !s->c.bar;

	if (s->c.bar && !nvme_ctrl_shutdown(&s->c))
		stopped = true;
	if (s->cmd_saved) {
		if (!pci_command_update(&s->addr, 0, PCI_COMMAND_MASTER, NULL))
			stopped = true;
		pci_command_update(&s->addr, s->old_cmd & (PCI_COMMAND_MASTER |
							   PCI_COMMAND_INTX_DISABLE),
				   ~s->old_cmd & PCI_COMMAND_INTX_DISABLE, NULL);
		s->cmd_saved = false;
	}
	if (s->bar)
		pci_unmap_bar0(s->bar, s->bar_len);
	s->bar = NULL;
	return stopped;
}
