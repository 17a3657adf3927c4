// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop from a 32-bit process: the compat_ioctl path. Built with -m32 as a
 * static freestanding program (no 32-bit libc needed: system calls through
 * int $0x80), so it runs on any x86-64 kernel with IA32 emulation. Prints
 * KTAP; exits 0, 1 (a check failed) or 4 (skipped: no module, no IA32).
 *
 * Checks: INFO, PIN of 4 KiB pages with every DMA address equal to the PFN
 * /proc/self/pagemap shows, GET_SEGS equal to PIN's segments, UNPIN and a
 * second UNPIN (-ENOENT), and the ABI rules (-ENOTTY, -EFAULT, -EINVAL,
 * -E2BIG) through the compat entry point; invalidation events: after
 * munmap of a pinned page, GET_INVALIDATED lists it, read() returns its
 * record and the event page (mmap2) shows its seq.
 */
#include <stddef.h>
#include <stdint.h>

#include <uapi/linux/vtop.h>

#if !defined(__i386__)
#error "vtop_compat32_test is built with -m32"
#endif

#define NR_exit_group	252
#define NR_read		3
#define NR_write	4
#define NR_open		5
#define NR_close	6
#define NR_ioctl	54
#define NR_munmap	91
#define NR_mmap2	192
#define NR_pread64	180

#define O_RDONLY	0
#define O_RDWR		2
#define PROT_RW		3
#define PROT_READ	1
#define MAP_SHARED	0x01
#define MAP_PRIVATE	0x02
#define MAP_ANONYMOUS	0x20
#define ENOENT		2
#define EFAULT		14
#define EINVAL		22
#define ENOTTY		25
#define E2BIG		7
#define PAGE		4096u
#define NPAGES		16

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

/* five arguments; the sixth (ebp) is always 0 here, as mmap2's pgoff is */
static long sys5(long nr, long a, long b, long c, long d, long e)
{
	long ret;

	__asm__ volatile("push %%ebp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "int $0x80\n\t"
			 "pop %%ebp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return ret;
}

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

static size_t slen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(NR_write, 1, (long)s, (long)slen(s));
}

static void out_num(long long v)
{
	char buf[24], *p = buf + sizeof(buf) - 1;
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	out(p);
}

static void out_hex(unsigned long long v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[24], *p = buf + sizeof(buf) - 1;

	*p = '\0';
	do {
		*--p = digits[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	out(p);
}

static __attribute__((noreturn)) void sys_exit(int code)
{
	for (;;)
		sys3(NR_exit_group, code, 0, 0);
}

static int test_no;
static int failed;

/* one KTAP result line */
static void result(int ok, const char *name)
{
	out(ok ? "ok " : "not ok ");
	out_num(++test_no);
	out(" ");
	out(name);
	out("\n");
	if (!ok)
		failed = 1;
}

/* "# what: got N, want M" and the result */
static void expect_eq(long long want, long long got, const char *name)
{
	if (want != got) {
		out("# ");
		out(name);
		out(": got ");
		out_num(got);
		out(", want ");
		out_num(want);
		out("\n");
	}
	result(want == got, name);
}

static long vt_ioctl(int fd, unsigned long cmd, void *arg)
{
	return sys3(NR_ioctl, fd, (long)cmd, (long)arg);
}

static int pagemap_pfn(uint32_t vaddr, uint64_t *pfn)
{
	uint64_t ent = 0;
	uint64_t off = (uint64_t)(vaddr / PAGE) * 8;
	long fd, n;

	fd = sys3(NR_open, (long)"/proc/self/pagemap", O_RDONLY, 0);
	if (fd < 0)
		return (int)fd;
	n = sys5(NR_pread64, fd, (long)&ent, 8, (long)(uint32_t)off,
		 (long)(uint32_t)(off >> 32));
	sys3(NR_close, fd, 0, 0);
	if (n != 8)
		return -EFAULT;
	if (!(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1)))
		return -ENOENT;
	*pfn = ent & ((1ULL << 55) - 1);
	return 0;
}

#define NR_TESTS	18

static void run(void)
{
	static struct vtop_segment segs[NPAGES], again[NPAGES];
	static char big[sizeof(struct vtop_info) + 16];
	static uint64_t handles[4];
	struct vtop_get_invalidated gi;
	struct vtop_event_page *evp;
	struct vtop_event ev;
	struct vtop_get_segs gs;
	struct vtop_unpin unpin;
	struct vtop_info info;
	struct vtop_pin pin;
	uint32_t i, page, off;
	long fd, ret;
	char *buf;
	int ok;

	fd = sys3(NR_open, (long)VTOP_DEVICE_PATH, O_RDWR, 0);
	out("TAP version 13\n");
	if (fd == -ENOENT) {
		out("1..0 # SKIP no " VTOP_DEVICE_PATH "\n");
		sys_exit(4);
	}
	out("1..");
	out_num(NR_TESTS);
	out("\n");
	if (fd < 0) {
		out("Bail out! open " VTOP_DEVICE_PATH ": ");
		out_num(fd);
		out("\n");
		sys_exit(1);
	}

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	expect_eq(0, vt_ioctl(fd, VTOP_IOC_INFO, &info), "info");
	expect_eq(VTOP_ABI_VERSION, info.abi_version, "info_abi_version");
	expect_eq(PAGE, info.page_size, "info_page_size");

	buf = (char *)sys5(NR_mmap2, 0, NPAGES * PAGE, PROT_RW,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if ((unsigned long)buf > -4096UL) {
		out("Bail out! mmap2\n");
		sys_exit(1);
	}
	for (i = 0; i < NPAGES; i++)
		buf[i * PAGE] = (char)i;

	memset(&pin, 0, sizeof(pin));
	pin.size = sizeof(pin);
	pin.vaddr = (uint32_t)buf;
	pin.length = NPAGES * PAGE;
	pin.segs = (uint32_t)segs;
	pin.nr_segs = NPAGES;
	ret = vt_ioctl(fd, VTOP_IOC_PIN, &pin);
	expect_eq(0, ret, "pin");
	if (ret) {
		pin.nr_segs = 0;
		pin.handle = 0;
	}

	/* every page: dma_addr == pagemap PFN << 12; segments cover the range */
	ok = pin.nr_segs >= 1 && pin.handle != 0;
	page = 0;
	for (i = 0; ok && i < pin.nr_segs; i++) {
		if (segs[i].vaddr != (uint32_t)buf + page * PAGE ||
		    segs[i].len % PAGE || segs[i].__reserved) {
			ok = 0;
			break;
		}
		for (off = 0; off < segs[i].len; off += PAGE, page++) {
			uint64_t pfn;

			if (page >= NPAGES ||
			    pagemap_pfn((uint32_t)buf + page * PAGE, &pfn) ||
			    segs[i].dma_addr + off != pfn << 12) {
				out("# page ");
				out_num(page);
				out(" dma ");
				out_hex(segs[i].dma_addr + off);
				out("\n");
				ok = 0;
				break;
			}
		}
	}
	result(ok && page == NPAGES, "pin_segments_match_pagemap");

	memset(&gs, 0, sizeof(gs));
	gs.size = sizeof(gs);
	gs.handle = pin.handle;
	gs.segs = (uint32_t)again;
	gs.nr_segs = NPAGES;
	ret = vt_ioctl(fd, VTOP_IOC_GET_SEGS, &gs);
	result(!ret && gs.nr_segs == pin.nr_segs &&
	       !memcmp(segs, again, pin.nr_segs * sizeof(segs[0])),
	       "get_segs_equals_pin");

	memset(&unpin, 0, sizeof(unpin));
	unpin.size = sizeof(unpin);
	unpin.handle = pin.handle;
	expect_eq(0, vt_ioctl(fd, VTOP_IOC_UNPIN, &unpin), "unpin");
	expect_eq(-ENOENT, vt_ioctl(fd, VTOP_IOC_UNPIN, &unpin), "unpin_again");

	/* invalidation events: pin page 1, unmap it */
	memset(&pin, 0, sizeof(pin));
	pin.size = sizeof(pin);
	pin.vaddr = (uint32_t)buf + PAGE;
	pin.length = PAGE;
	pin.segs = (uint32_t)segs;
	pin.nr_segs = 1;
	expect_eq(0, vt_ioctl(fd, VTOP_IOC_PIN, &pin), "pin_for_events");
	sys3(NR_munmap, (long)buf + PAGE, PAGE, 0);
	memset(&gi, 0, sizeof(gi));
	gi.size = sizeof(gi);
	gi.handles = (uint32_t)handles;
	gi.nr_handles = 4;
	ret = vt_ioctl(fd, VTOP_IOC_GET_INVALIDATED, &gi);
	result(!ret && gi.nr_handles == 1 && handles[0] == pin.handle &&
	       gi.seq == 1, "get_invalidated");
	memset(&ev, 0, sizeof(ev));
	ret = sys3(NR_read, fd, (long)&ev, sizeof(ev));
	result(ret == sizeof(ev) && ev.size == sizeof(ev) &&
	       ev.reason == VTOP_EVENT_UNMAP && ev.handle == pin.handle &&
	       ev.vaddr == (uint32_t)buf + PAGE && ev.length == PAGE &&
	       ev.seq == 1, "read_event");
	evp = (struct vtop_event_page *)sys5(NR_mmap2, 0, PAGE, PROT_READ,
					     MAP_SHARED, fd);
	result((unsigned long)evp <= -4096UL && evp->version == 1 &&
	       evp->size == sizeof(*evp) && evp->seq == 1, "event_page");
	if ((unsigned long)evp <= -4096UL)
		sys3(NR_munmap, (long)evp, PAGE, 0);
	unpin.handle = pin.handle;
	expect_eq(0, vt_ioctl(fd, VTOP_IOC_UNPIN, &unpin), "unpin_invalidated");

	expect_eq(-ENOTTY, vt_ioctl(fd, _IO(VTOP_IOCTL_TYPE, 0x7f), &info),
		  "unknown_cmd");
	expect_eq(-EFAULT, vt_ioctl(fd, VTOP_IOC_INFO, NULL), "null_arg");
	info.size = 8;
	expect_eq(-EINVAL, vt_ioctl(fd, VTOP_IOC_INFO, &info), "size_small");
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = sizeof(big);
	big[sizeof(big) - 1] = 1;
	expect_eq(-E2BIG, vt_ioctl(fd, VTOP_IOC_INFO, big), "size_tail");
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ret = vt_ioctl(fd, VTOP_IOC_INFO, &info);
	expect_eq(0, ret ? ret : (long)info.nr_pins, "nothing_left_pinned");

	sys3(NR_munmap, (long)buf, NPAGES * PAGE, 0);
	sys3(NR_close, fd, 0, 0);
	sys_exit(failed);
}

__asm__(".text\n"
	".globl _start\n"
	"_start:\n\t"
	"xorl %ebp, %ebp\n\t"
	"andl $-16, %esp\n\t"
	"call vtop_compat32_main\n\t"
	"hlt\n");

void vtop_compat32_main(void);

void vtop_compat32_main(void)
{
	run();
}
