#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scenario 11, IOMMU on (strict), two NVMe controllers (rig --nvmes 2): a
# device unbound with live pins is noticed by libvtop (0.6; vtop-nvme
# --revoke, see examples/nvme/revoke.c). Controller A is the environment's
# device and is started; controller B is attached with vtop_dev_attach()
# and memory is registered for both. B is unbound from uio_pci_generic
# while its pins are live (the module revokes B's descriptor); then: the
# event fd is readable, B's translation is gone at the first lookup, after
# vtop_mem_process_events() B is reported revoked (vtop_dev_is_revoked,
# vtop_dev_get_segs -ENODEV) and its pins released, A still translates and
# an NVMe WRITE/READ through A succeeds, a new registration succeeds
# without B, vtop_dev_detach(B) succeeds, B is bound and attached again.
# At the end every pin is released and no DMAR fault occurred.
. "$(dirname "$0")/common.sh"

require_iommu
nctrl=$(grep -l '^0x010802$' /sys/bus/pci/devices/*/class 2>/dev/null | wc -l)
[ "$nctrl" -ge 2 ] || fail "$nctrl NVMe controller(s) in the guest, 2 needed (rig without --nvmes 2?)"
set -- $(pins)
pins0="$1 $2"

run_nvme --revoke
[ "$rc" = "$KSFT_SKIP" ] && skip "vtop-nvme --revoke: no ATTACH or events in this module, or fewer than two controllers"
[ "$rc" = 0 ] || fail "vtop-nvme --revoke failed (exit $rc)"
grep -q '^event fd readable when the unbind returned: yes$' "$out" ||
	fail "libvtop's event fd did not wake up for B's revocation"
grep -q "^B's translation at the first lookup, before processing: gone$" "$out" ||
	fail "B's stale IOVAs were still served after the unbind"
grep -q '^after processing: vtop_dev_is_revoked(B) = 1, vtop_dev_get_segs(B) = -19, vtop_dev_is_revoked(NULL) = 0' "$out" ||
	fail "B was not reported revoked after processing the events"
grep -q "^B's pins released at processing: \([1-9][0-9]*\) pages (registered: \1 pages)$" "$out" ||
	fail "B's pins were not released when the events were processed"
grep -q '^controller A after the revocation: WRITE and READ of [0-9]* bytes verified$' "$out" ||
	fail "controller A did not keep working"
grep -q "^registration after the revocation: ok; A's IOVA present, B's none$" "$out" ||
	fail "a registration after the revocation failed or mapped B"
grep -q '^vtop_dev_detach(B) = 0$' "$out" || fail "vtop_dev_detach() of the revoked B failed"
grep -q '^B bound to uio_pci_generic and attached again: 0; its IOVA present$' "$out" ||
	fail "B could not be attached again once bound"
dmesg | grep -q 'vtop: device going away: [1-9][0-9]* mapping(s) revoked' ||
	fail "the module did not report revoking B's mappings"
grep -q '^PASS: revoke' "$out" || fail "no PASS line from vtop-nvme --revoke"
faults=$(dmar_faults)
[ -z "$faults" ] || fail "IOMMU faults: $faults"
check_pins_balanced $pins0
finish "scenario 11 (IOMMU, two controllers: B unbound with live pins is noticed by libvtop, A keeps working)"
