// SPDX-License-Identifier: GPL-2.0-only
/*
 * A deliberate kernel memory leak, for the debug lane's kmemleak check.
 *
 * Loading this module allocates one object and forgets the only pointer to
 * it. tools/debug-kernel/guest.sh loads it under vtop_check.sh before the
 * suite and requires the check to report "kmemleak": the proof that the
 * per-program kmemleak check can fail. Never load it anywhere else.
 */
#include <linux/module.h>
#include <linux/slab.h>

#define CANARY_SIZE 1024

static int __init vtop_leak_canary_init(void)
{
	/* zeroed: the object holds no pointer of its own */
	char *p = kzalloc(CANARY_SIZE, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	pr_info("vtop_leak_canary: leaked %d bytes\n", CANARY_SIZE);
	return 0;
}
module_init(vtop_leak_canary_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vtop debug lane: a deliberate leak for kmemleak");
