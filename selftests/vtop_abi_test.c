// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop ABI rules: INFO contents, the size/flags/reserved rule of every
 * command, unknown commands, bad argument pointers, zeroed output, and the
 * layout of every struct (offsets and sizes are ABI: user space compiled
 * against one header runs on every module).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtop_test_util.h"

#ifndef VTOP_VERSION_STR
#error "build with -DVTOP_VERSION_STR=\"$(cat VERSION)\""
#endif

#define KNOWN_FEATURES	(VTOP_FEATURE_PIN | VTOP_FEATURE_GET_SEGS | \
			 VTOP_FEATURE_READONLY | VTOP_FEATURE_ATTACH | \
			 VTOP_FEATURE_EVENTS | VTOP_FEATURE_PARTIAL | \
			 VTOP_FEATURE_PIN_MAX | VTOP_FEATURE_STATUS)
#define BUF_PAGES	4
/* room for any argument struct plus a tail */
#define ARG_MAX		256

enum {
	C_INFO, C_PIN, C_UNPIN, C_GET_SEGS, C_ATTACH, C_DETACH, C_GET_INV,
	C_NR
};

struct cmd_desc {
	const char *name;
	unsigned long cmd;
	size_t size;
	size_t res_off;		/* offset of the reserved field */
	size_t res_len;		/* its size; 0 if none */
	int valid_ret;		/* what fill_arg()'s valid argument gets */
	uint64_t feature;	/* tested only when INFO reports it */
};

static const struct cmd_desc cmds[C_NR] = {
	[C_INFO] = { "INFO", VTOP_IOC_INFO, sizeof(struct vtop_info),
		     offsetof(struct vtop_info, __reserved),
		     sizeof(((struct vtop_info *)0)->__reserved) },
	[C_PIN] = { "PIN", VTOP_IOC_PIN, sizeof(struct vtop_pin),
		    offsetof(struct vtop_pin, __reserved),
		    sizeof(((struct vtop_pin *)0)->__reserved) },
	[C_UNPIN] = { "UNPIN", VTOP_IOC_UNPIN, sizeof(struct vtop_unpin),
		      0, 0 },
	[C_GET_SEGS] = { "GET_SEGS", VTOP_IOC_GET_SEGS,
			 sizeof(struct vtop_get_segs),
			 offsetof(struct vtop_get_segs, __reserved),
			 sizeof(((struct vtop_get_segs *)0)->__reserved) },
	/* a device that does not exist; DETACH of an fd never attached */
	[C_ATTACH] = { "ATTACH", VTOP_IOC_ATTACH, sizeof(struct vtop_attach),
		       0, 0, -ENODEV, VTOP_FEATURE_ATTACH },
	[C_DETACH] = { "DETACH", VTOP_IOC_DETACH, sizeof(struct vtop_detach),
		       0, 0, -ENXIO, VTOP_FEATURE_ATTACH },
	[C_GET_INV] = { "GET_INVALIDATED", VTOP_IOC_GET_INVALIDATED,
			sizeof(struct vtop_get_invalidated),
			offsetof(struct vtop_get_invalidated, __reserved),
			sizeof(((struct vtop_get_invalidated *)0)->__reserved),
			0, VTOP_FEATURE_EVENTS },
};

/* an absent PCI address: domain 0x7ffe, bus 0xff, slot 31, function 7 */
#define NO_DOMAIN	0x7ffe
#define NO_BDF		0xffff

FIXTURE(abi) {
	int fd;
	int fd2;			/* no pins: for ATTACH and DETACH */
	char *buf;			/* BUF_PAGES of anonymous memory */
	uint64_t handle;		/* a live pin of the first page */
	uint64_t features;		/* INFO's */
	struct vtop_segment segs[BUF_PAGES];
	uint64_t handles[BUF_PAGES];
	struct vt_snap base;
};

FIXTURE_SETUP(abi)
{
	struct vtop_info info;
	uint32_t nr = 1;

	self->buf = MAP_FAILED;
	self->fd = -1;
	self->fd2 = -1;
	ASSERT_EQ(0, vt_snap(&self->base));
	VT_OPEN_OR_SKIP(self->fd);
	self->fd2 = vt_open();
	ASSERT_LE(0, self->fd2);
	self->buf = mmap(NULL, BUF_PAGES * VT_PAGE_SIZE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, vt_pin(self->fd, self->buf, VT_PAGE_SIZE, 0, self->segs,
			    &nr, &self->handle));
	ASSERT_EQ(0, vt_info(self->fd, &info));
	self->features = info.features;
}

FIXTURE_TEARDOWN(abi)
{
	if (self->fd2 >= 0)
		close(self->fd2);
	if (self->fd >= 0)
		close(self->fd);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, BUF_PAGES * VT_PAGE_SIZE);
	if (self->fd >= 0)
		VT_EXPECT_NO_LEAK(self->base);
}

/* a valid argument for @c in @arg (ARG_MAX bytes, zeroed first) */
static void fill_arg(FIXTURE_DATA(abi) *self, int c, void *arg)
{
	memset(arg, 0, ARG_MAX);
	switch (c) {
	case C_INFO: {
		struct vtop_info *a = arg;

		a->size = sizeof(*a);
		break;
	}
	case C_PIN: {
		struct vtop_pin *a = arg;

		a->size = sizeof(*a);
		/* pages 1 and 2: distinct from the fixture's pin */
		a->vaddr = (uintptr_t)self->buf + VT_PAGE_SIZE;
		a->length = 2 * VT_PAGE_SIZE;
		a->segs = (uintptr_t)&self->segs[1];
		a->nr_segs = BUF_PAGES - 1;
		break;
	}
	case C_UNPIN: {
		struct vtop_unpin *a = arg;

		a->size = sizeof(*a);
		a->handle = self->handle;
		break;
	}
	case C_GET_SEGS: {
		struct vtop_get_segs *a = arg;

		a->size = sizeof(*a);
		a->handle = self->handle;
		a->segs = (uintptr_t)&self->segs[1];
		a->nr_segs = BUF_PAGES - 1;
		break;
	}
	case C_ATTACH: {
		struct vtop_attach *a = arg;

		a->size = sizeof(*a);
		a->pci_domain = NO_DOMAIN;
		a->pci_bdf = NO_BDF;
		break;
	}
	case C_DETACH: {
		struct vtop_detach *a = arg;

		a->size = sizeof(*a);
		break;
	}
	case C_GET_INV: {
		struct vtop_get_invalidated *a = arg;

		a->size = sizeof(*a);
		a->handles = (uintptr_t)self->handles;
		a->nr_handles = BUF_PAGES;
		break;
	}
	}
}

/* ATTACH and DETACH go to the fd without pins (-EBUSY otherwise) */
static int cmd_fd(FIXTURE_DATA(abi) *self, int c)
{
	return c == C_ATTACH || c == C_DETACH ? self->fd2 : self->fd;
}

/* the commands this module implements (by INFO's feature bits) */
static bool have_cmd(FIXTURE_DATA(abi) *self, int c)
{
	return !cmds[c].feature || (self->features & cmds[c].feature);
}

static uint32_t nr_pins(struct __test_metadata *_metadata, int fd)
{
	struct vtop_info info;

	EXPECT_EQ(0, vt_info(fd, &info));
	return info.nr_pins;
}

/* the argument passed the checks: undo what it did */
static void undo_arg(struct __test_metadata *_metadata,
		     FIXTURE_DATA(abi) *self, int c, void *arg)
{
	uint32_t nr = 1;

	if (c == C_PIN)
		EXPECT_EQ(0, vt_unpin(self->fd, ((struct vtop_pin *)arg)->handle));
	if (c == C_UNPIN)
		ASSERT_EQ(0, vt_pin(self->fd, self->buf, VT_PAGE_SIZE, 0,
				    self->segs, &nr, &self->handle));
}

TEST_F(abi, info_fields)
{
	struct vtop_info info;
	uint32_t version;
	uint64_t param, vmpin_kb;
	unsigned int i;

	ASSERT_EQ(0, vt_version_parse(VTOP_VERSION_STR, &version));
	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ((uint32_t)VTOP_ABI_VERSION, info.abi_version);
	EXPECT_EQ(version, info.module_version)
		TH_LOG("module 0x%06x, VERSION %s", info.module_version,
		       VTOP_VERSION_STR);
	EXPECT_EQ((uint32_t)sysconf(_SC_PAGESIZE), info.page_size);
	EXPECT_EQ(VTOP_FEATURE_PIN | VTOP_FEATURE_GET_SEGS |
		  VTOP_FEATURE_READONLY,
		  info.features & (VTOP_FEATURE_PIN | VTOP_FEATURE_GET_SEGS |
				   VTOP_FEATURE_READONLY));
	EXPECT_EQ(0ULL, info.features & ~KNOWN_FEATURES)
		TH_LOG("undocumented feature bits 0x%llx",
		       (unsigned long long)info.features);
	EXPECT_EQ((uint32_t)VTOP_MODE_PHYS, info.mode);
	/* root: may read physical addresses, bypasses RLIMIT_MEMLOCK */
	EXPECT_EQ(VTOP_CAP_PHYS_ADDRS | VTOP_CAP_IPC_LOCK,
		  info.caps & (VTOP_CAP_PHYS_ADDRS | VTOP_CAP_IPC_LOCK));
	EXPECT_EQ(0ULL, info.caps & ~(VTOP_CAP_PHYS_ADDRS | VTOP_CAP_IPC_LOCK));
	EXPECT_EQ(~0ULL, info.memlock_limit);
	/* the fixture holds one pin of one page */
	EXPECT_EQ(1U, info.nr_pins);
	EXPECT_EQ((unsigned long long)VT_PAGE_SIZE, info.pinned_bytes);
	ASSERT_EQ(0, vt_status_kb("VmPin", &vmpin_kb));
	EXPECT_EQ(vmpin_kb * 1024, info.mm_pinned_bytes);
	ASSERT_EQ(0, vt_param_read("max_pins_per_fd", &param));
	EXPECT_EQ(param, info.max_pins);
	ASSERT_EQ(0, vt_param_read("max_pin_bytes_per_fd", &param));
	EXPECT_EQ(param, info.max_pin_bytes);
	EXPECT_EQ(0U, info.attached_domain);
	EXPECT_EQ(0U, info.attached_bdf);
	EXPECT_EQ(VTOP_FEATURE_EVENTS, info.features & VTOP_FEATURE_EVENTS);
	EXPECT_EQ(0U, info.nr_invalidated);
	EXPECT_EQ(0U, info.nr_queued_events);
	EXPECT_EQ(0ULL, info.invalidated_bytes);
	for (i = 0; i < sizeof(info.__reserved) / sizeof(info.__reserved[0]);
	     i++)
		EXPECT_EQ(0ULL, info.__reserved[i]);
}

/* INFO fills or zeroes every output field, whatever came in */
TEST_F(abi, info_output_zeroed)
{
	struct vtop_info info, ref;

	ASSERT_EQ(0, vt_info(self->fd, &ref));
	memset(&info, 0xff, sizeof(info));
	info.size = sizeof(info);
	info.flags = 0;
	memset(info.__reserved, 0, sizeof(info.__reserved));
	ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_INFO, &info));
	EXPECT_EQ(ref.abi_version, info.abi_version);
	EXPECT_EQ(ref.module_version, info.module_version);
	EXPECT_EQ(ref.features, info.features);
	EXPECT_EQ(ref.caps, info.caps);
	EXPECT_EQ(ref.page_size, info.page_size);
	EXPECT_EQ(ref.mode, info.mode);
	EXPECT_EQ(ref.nr_pins, info.nr_pins);
	EXPECT_EQ(ref.pinned_bytes, info.pinned_bytes);
	EXPECT_EQ(ref.max_pins, info.max_pins);
	EXPECT_EQ(ref.max_pin_bytes, info.max_pin_bytes);
	EXPECT_EQ(0U, info.attached_domain);
	EXPECT_EQ(0U, info.attached_bdf);
	EXPECT_EQ(0U, info.nr_invalidated);
	EXPECT_EQ(0U, info.nr_queued_events);
	EXPECT_EQ(0ULL, info.invalidated_bytes);
	EXPECT_EQ(0U, info.flags);
}

/* GET_INVALIDATED writes nr_handles and seq whatever came in */
TEST_F(abi, get_invalidated_output)
{
	union {
		char arg[ARG_MAX];
		struct vtop_get_invalidated gi;
	} u;
	struct vtop_get_invalidated gi;

	if (!(self->features & VTOP_FEATURE_EVENTS))
		SKIP(return, "no VTOP_FEATURE_EVENTS");
	fill_arg(self, C_GET_INV, u.arg);
	gi = u.gi;
	gi.seq = ~0ULL;
	self->handles[0] = 0x5a5a;
	ASSERT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_GET_INVALIDATED, &gi));
	EXPECT_EQ(sizeof(gi), gi.size);
	EXPECT_EQ(0U, gi.flags);
	EXPECT_EQ(0U, gi.nr_handles);
	EXPECT_EQ(0ULL, gi.seq);
	EXPECT_EQ(0U, gi.__reserved);
	EXPECT_EQ((uintptr_t)self->handles, gi.handles);
	EXPECT_EQ(0x5a5aULL, self->handles[0]);
	/* no room and nothing to list: not -ENOBUFS; no array needed */
	gi.nr_handles = 0;
	gi.handles = 0;
	EXPECT_EQ(0, vt_ioctl(self->fd, VTOP_IOC_GET_INVALIDATED, &gi));
	EXPECT_EQ(0U, gi.nr_handles);
}

#define EXPECT_LAYOUT(type, field, off) \
	EXPECT_EQ((size_t)(off), offsetof(type, field)) TH_LOG(#type "." #field)

/* the structs of the event channel, byte for byte */
TEST(event_layouts)
{
	EXPECT_EQ(120U, sizeof(struct vtop_info));
	EXPECT_LAYOUT(struct vtop_info, attached_bdf, 84);
	EXPECT_LAYOUT(struct vtop_info, nr_invalidated, 88);
	EXPECT_LAYOUT(struct vtop_info, nr_queued_events, 92);
	EXPECT_LAYOUT(struct vtop_info, invalidated_bytes, 96);
	EXPECT_LAYOUT(struct vtop_info, __reserved, 104);

	EXPECT_EQ(48U, sizeof(struct vtop_event));
	EXPECT_LAYOUT(struct vtop_event, size, 0);
	EXPECT_LAYOUT(struct vtop_event, reason, 4);
	EXPECT_LAYOUT(struct vtop_event, handle, 8);
	EXPECT_LAYOUT(struct vtop_event, vaddr, 16);
	EXPECT_LAYOUT(struct vtop_event, length, 24);
	EXPECT_LAYOUT(struct vtop_event, seq, 32);
	EXPECT_LAYOUT(struct vtop_event, __reserved, 40);

	EXPECT_EQ(24U, sizeof(struct vtop_event_page));
	EXPECT_LAYOUT(struct vtop_event_page, size, 0);
	EXPECT_LAYOUT(struct vtop_event_page, version, 4);
	EXPECT_LAYOUT(struct vtop_event_page, seq, 8);
	EXPECT_LAYOUT(struct vtop_event_page, overflows, 16);

	EXPECT_EQ(32U, sizeof(struct vtop_get_invalidated));
	EXPECT_LAYOUT(struct vtop_get_invalidated, size, 0);
	EXPECT_LAYOUT(struct vtop_get_invalidated, flags, 4);
	EXPECT_LAYOUT(struct vtop_get_invalidated, handles, 8);
	EXPECT_LAYOUT(struct vtop_get_invalidated, nr_handles, 16);
	EXPECT_LAYOUT(struct vtop_get_invalidated, __reserved, 20);
	EXPECT_LAYOUT(struct vtop_get_invalidated, seq, 24);

	EXPECT_EQ(6U, (unsigned int)VTOP_CMD_GET_INVALIDATED);
	EXPECT_EQ((unsigned long)_IO(VTOP_IOCTL_TYPE, 6),
		  (unsigned long)VTOP_IOC_GET_INVALIDATED);
	EXPECT_EQ(1ULL << 4, VTOP_FEATURE_EVENTS);
	EXPECT_EQ(1, VTOP_EVENT_UNMAP);
	EXPECT_EQ(2, VTOP_EVENT_CLEAR);
	EXPECT_EQ(3, VTOP_EVENT_OTHER);
	EXPECT_EQ(4, VTOP_EVENT_OVERFLOW);
}

/* PIN and GET_SEGS zero the reserved word of every segment they write */
TEST_F(abi, segs_output_zeroed)
{
	struct vtop_segment segs[BUF_PAGES];
	uint32_t nr = BUF_PAGES, i;
	uint64_t handle;

	memset(segs, 0xff, sizeof(segs));
	ASSERT_EQ(0, vt_pin(self->fd, self->buf + VT_PAGE_SIZE,
			    3 * VT_PAGE_SIZE, 0, segs, &nr, &handle));
	ASSERT_LE(1U, nr);
	ASSERT_GE(3U, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0U, segs[i].__reserved);
	VT_EXPECT_SEGS(segs, nr, self->buf + VT_PAGE_SIZE, 3 * VT_PAGE_SIZE);

	memset(segs, 0xff, sizeof(segs));
	nr = BUF_PAGES;
	ASSERT_EQ(0, vt_get_segs(self->fd, handle, 0, 0, segs, &nr));
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0U, segs[i].__reserved);
	VT_EXPECT_SEGS(segs, nr, self->buf + VT_PAGE_SIZE, 3 * VT_PAGE_SIZE);
	EXPECT_EQ(0, vt_unpin(self->fd, handle));
}

TEST_F(abi, handles_distinct_nonzero)
{
	uint64_t h[3];
	uint32_t nr;
	int i;

	for (i = 0; i < 3; i++) {
		nr = 1;
		ASSERT_EQ(0, vt_pin(self->fd, self->buf + (i + 1) * VT_PAGE_SIZE,
				    VT_PAGE_SIZE, 0, self->segs, &nr, &h[i]));
		EXPECT_NE(0ULL, (unsigned long long)h[i]);
		EXPECT_NE(self->handle, h[i]);
	}
	EXPECT_NE(h[0], h[1]);
	EXPECT_NE(h[0], h[2]);
	EXPECT_NE(h[1], h[2]);
	/* the same range pinned twice is two pins */
	nr = 1;
	ASSERT_EQ(0, vt_pin(self->fd, self->buf, VT_PAGE_SIZE, 0, self->segs,
			    &nr, &h[0]));
	EXPECT_NE(self->handle, h[0]);
	EXPECT_EQ(5U, nr_pins(_metadata, self->fd));
	/* the fixture's pin is released by close() in the teardown */
}

/* @size below the struct: -EINVAL, and nothing happens */
TEST_F(abi, size_too_small)
{
	static const uint32_t small[] = { 0, 4, 8 };
	char arg[ARG_MAX];
	unsigned int i;
	int c;

	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		for (i = 0; i < sizeof(small) / sizeof(small[0]) + 1; i++) {
			fill_arg(self, c, arg);
			*(uint32_t *)arg = i < sizeof(small) / sizeof(small[0]) ?
					   small[i] : cmds[c].size - 1;
			if (*(uint32_t *)arg >= cmds[c].size)
				continue;
			EXPECT_EQ(-EINVAL, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
				TH_LOG("%s size %u", cmds[c].name,
				       *(uint32_t *)arg);
		}
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	/* the fixture's pin survived the UNPIN attempts */
	EXPECT_EQ(0, vt_unpin(self->fd, self->handle));
}

/* @size above the struct with a non-zero tail: -E2BIG */
TEST_F(abi, size_larger_nonzero_tail)
{
	static const uint32_t extra[] = { 1, 8, 64 };
	char arg[ARG_MAX];
	unsigned int i;
	int c;

	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			uint32_t size = cmds[c].size + extra[i];

			fill_arg(self, c, arg);
			*(uint32_t *)arg = size;
			arg[size - 1] = 0x5a;
			EXPECT_EQ(-E2BIG, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
				TH_LOG("%s size %u", cmds[c].name, size);
		}
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	EXPECT_EQ(0, vt_unpin(self->fd, self->handle));
}

/* @size above the struct with a zero tail: accepted, tail untouched */
TEST_F(abi, size_larger_zero_tail)
{
	static const uint32_t extra[] = { 4, 8, 64 };
	char arg[ARG_MAX];
	unsigned int i, j;
	int c;

	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			uint32_t size = cmds[c].size + extra[i];

			fill_arg(self, c, arg);
			*(uint32_t *)arg = size;
			EXPECT_EQ(cmds[c].valid_ret,
				  vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
				TH_LOG("%s size %u", cmds[c].name, size);
			for (j = cmds[c].size; j < size; j++)
				EXPECT_EQ(0, arg[j]) TH_LOG("%s wrote byte %u",
							    cmds[c].name, j);
			if (c == C_INFO)
				EXPECT_EQ((uint32_t)VTOP_ABI_VERSION,
					  ((struct vtop_info *)arg)->abi_version);
			if (c == C_PIN)
				EXPECT_NE(0ULL, (unsigned long long)
					  ((struct vtop_pin *)arg)->handle);
			undo_arg(_metadata, self, c, arg);
		}
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
}

/* every command with a valid argument succeeds (the negative tests' base) */
TEST_F(abi, valid_args)
{
	char arg[ARG_MAX];
	int c;

	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		fill_arg(self, c, arg);
		EXPECT_EQ(cmds[c].valid_ret,
			  vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
			TH_LOG("%s", cmds[c].name);
		undo_arg(_metadata, self, c, arg);
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
}

TEST_F(abi, unknown_flags)
{
	char arg[ARG_MAX];
	unsigned int bit;
	int c;

	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		for (bit = 0; bit < 32; bit++) {
			if (c == C_PIN && ((1U << bit) & (VTOP_PIN_READONLY |
							   VTOP_PIN_PARTIAL)))
				continue;
			if (c == C_GET_SEGS &&
			    (1U << bit) == VTOP_GET_SEGS_PARTIAL)
				continue;
			fill_arg(self, c, arg);
			((uint32_t *)arg)[1] = 1U << bit;
			EXPECT_EQ(-EINVAL, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
				TH_LOG("%s flags 0x%x", cmds[c].name, 1U << bit);
		}
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	EXPECT_EQ(0, vt_unpin(self->fd, self->handle));
}

TEST_F(abi, reserved_nonzero)
{
	char arg[ARG_MAX];
	size_t off;
	int c;

	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		for (off = 0; off < cmds[c].res_len; off++) {
			fill_arg(self, c, arg);
			arg[cmds[c].res_off + off] = 1;
			EXPECT_EQ(-EINVAL, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
				TH_LOG("%s reserved byte %zu", cmds[c].name, off);
		}
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	EXPECT_EQ(0, vt_unpin(self->fd, self->handle));
}

/* ATTACH of a device that is not there, DETACH of an fd never attached */
TEST_F(abi, attach_detach_errors)
{
	struct vtop_attach at = {
		.size = sizeof(at), .pci_domain = NO_DOMAIN, .pci_bdf = NO_BDF,
	};
	struct vtop_detach de = { .size = sizeof(de) };
	struct vtop_info info;

	if (!(self->features & VTOP_FEATURE_ATTACH))
		SKIP(return, "no VTOP_FEATURE_ATTACH");
	EXPECT_EQ(-ENODEV, vt_ioctl(self->fd2, VTOP_IOC_ATTACH, &at));
	at.pci_domain = 0;
	EXPECT_EQ(-ENODEV, vt_ioctl(self->fd2, VTOP_IOC_ATTACH, &at));
	EXPECT_EQ(-ENXIO, vt_ioctl(self->fd2, VTOP_IOC_DETACH, &de));
	ASSERT_EQ(0, vt_info(self->fd2, &info));
	EXPECT_EQ((uint32_t)VTOP_MODE_PHYS, info.mode);
	EXPECT_EQ(0U, info.attached_domain);
	EXPECT_EQ(0U, info.attached_bdf);
}

TEST_F(abi, unknown_cmd)
{
	const unsigned long bad[] = {
		_IO(VTOP_IOCTL_TYPE, 0x07),
		_IO(VTOP_IOCTL_TYPE, 0x7f),
		_IO(VTOP_IOCTL_TYPE, 0xff),
		_IO(VTOP_IOCTL_TYPE + 1, VTOP_CMD_INFO),
		_IO('x', VTOP_CMD_PIN),
		/* right number, but a size or direction the ABI does not use */
		_IOWR(VTOP_IOCTL_TYPE, VTOP_CMD_INFO, struct vtop_info),
		_IOR(VTOP_IOCTL_TYPE, VTOP_CMD_INFO, struct vtop_info),
		_IOW(VTOP_IOCTL_TYPE, VTOP_CMD_PIN, struct vtop_pin),
		_IOWR(VTOP_IOCTL_TYPE, VTOP_CMD_UNPIN, struct vtop_unpin),
		_IOW(VTOP_IOCTL_TYPE, VTOP_CMD_ATTACH, struct vtop_attach),
		_IOWR(VTOP_IOCTL_TYPE, VTOP_CMD_GET_INVALIDATED,
		      struct vtop_get_invalidated),
		0,
	};
	char arg[ARG_MAX];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fill_arg(self, C_INFO, arg);
		EXPECT_EQ(-ENOTTY, vt_ioctl(self->fd, bad[i], arg))
			TH_LOG("cmd 0x%lx", bad[i]);
	}
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
}

/* an argument pointer that cannot be read: -EFAULT */
TEST_F(abi, bad_arg_pointer)
{
	char *none;
	int c;

	none = mmap(NULL, VT_PAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	for (c = 0; c < C_NR; c++) {
		if (!have_cmd(self, c))
			continue;
		EXPECT_EQ(-EFAULT, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, NULL))
			TH_LOG("%s NULL", cmds[c].name);
		EXPECT_EQ(-EFAULT, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, none))
			TH_LOG("%s PROT_NONE", cmds[c].name);
		EXPECT_EQ(-EFAULT, vt_ioctl(cmd_fd(self, c), cmds[c].cmd,
					    (void *)0xffff800000000000UL))
			TH_LOG("%s kernel address", cmds[c].name);
	}
	munmap(none, VT_PAGE_SIZE);
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
}

/* @size larger than the readable memory behind the struct: -EFAULT */
TEST_F(abi, size_beyond_mapping)
{
	char *two;
	int c;

	two = mmap(NULL, 2 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + VT_PAGE_SIZE, VT_PAGE_SIZE));
	for (c = 0; c < C_NR; c++) {
		char *arg = two + VT_PAGE_SIZE - ARG_MAX;

		if (!have_cmd(self, c))
			continue;
		fill_arg(self, c, arg);
		/* the tail crosses into the unmapped page */
		*(uint32_t *)arg = ARG_MAX + 64;
		EXPECT_EQ(-EFAULT, vt_ioctl(cmd_fd(self, c), cmds[c].cmd, arg))
			TH_LOG("%s", cmds[c].name);
	}
	munmap(two, VT_PAGE_SIZE);
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
}

/* the result cannot be written back: -EFAULT and no pin left behind */
TEST_F(abi, output_not_writable)
{
	struct vtop_segment *ro_segs;
	struct vtop_pin *ro_arg;
	char *page;
	uint32_t nr;

	page = mmap(NULL, 2 * VT_PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ro_arg = (struct vtop_pin *)page;
	fill_arg(self, C_PIN, ro_arg);
	ro_segs = (struct vtop_segment *)(page + VT_PAGE_SIZE);
	ASSERT_EQ(0, mprotect(page, 2 * VT_PAGE_SIZE, PROT_READ));

	/* the struct itself is read-only: handle cannot be returned */
	EXPECT_EQ(-EFAULT, vt_ioctl(self->fd, VTOP_IOC_PIN, ro_arg));
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));

	/* the segment array is read-only */
	nr = BUF_PAGES;
	EXPECT_EQ(-EFAULT, vt_pin(self->fd, self->buf, 2 * VT_PAGE_SIZE, 0,
				  ro_segs, &nr, NULL));
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	/* a NULL segment array with room claimed */
	nr = BUF_PAGES;
	EXPECT_EQ(-EFAULT, vt_pin(self->fd, self->buf, 2 * VT_PAGE_SIZE, 0,
				  NULL, &nr, NULL));
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	/* GET_SEGS into a read-only array */
	nr = BUF_PAGES;
	EXPECT_EQ(-EFAULT, vt_get_segs(self->fd, self->handle, 0, 0, ro_segs,
				       &nr));
	EXPECT_EQ(1U, nr_pins(_metadata, self->fd));
	munmap(page, 2 * VT_PAGE_SIZE);
}

TEST_HARNESS_MAIN
