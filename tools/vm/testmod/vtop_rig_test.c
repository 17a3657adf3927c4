// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test module of the vtop VM rig (tools/vm/selftest.sh): provokes the
 * kernel reports the rig must catch, so that its log check can be shown to
 * fail. Never built into vtop.ko or loaded outside a rig self-test guest.
 *
 *   insmod vtop_rig_test.ko provoke=warn   one WARN() splat, then loads
 *   insmod vtop_rig_test.ko provoke=none   loads quietly
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/module.h>
#include <linux/string.h>

static char *provoke = "none";
module_param(provoke, charp, 0444);
MODULE_PARM_DESC(provoke, "report to provoke at load: none or warn");

static int __init vtop_rig_test_init(void)
{
	if (!strcmp(provoke, "warn")) {
		WARN(1, "vtop rig self-test: provoked warning\n");
		return 0;
	}
	if (strcmp(provoke, "none")) {
		pr_err("unknown provoke=%s\n", provoke);
		return -EINVAL;
	}
	pr_info("loaded, nothing provoked\n");
	return 0;
}

static void __exit vtop_rig_test_exit(void)
{
}

module_init(vtop_rig_test_init);
module_exit(vtop_rig_test_exit);
MODULE_DESCRIPTION("vtop VM rig self-test: provoke kernel log reports");
MODULE_LICENSE("GPL");
