/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * vtop: pin user memory and report the DMA address of every byte.
 *
 * /dev/vtop is a misc character device. Each open file description serves
 * the address space (mm) of the process that opened it and owns the pins
 * made through it; closing the last reference releases every pin.
 *
 * open(2) fails with -EPERM unless the opener has CAP_SYS_RAWIO or
 * CAP_SYS_ADMIN: physical addresses help Rowhammer-style attacks, which is
 * why /proc/self/pagemap hides them. The check is made once, against the
 * credentials of the opener, so a descriptor handed to a less privileged
 * process keeps no more power than its owner gave it: it still serves only
 * the opener's address space (-EACCES below).
 *
 * Extensibility: every command takes one argument struct that starts with
 * "__u32 size; __u32 flags;". The ioctl numbers are _IO() numbers, so the
 * struct size is not part of the command; it travels in @size instead
 * (the iommufd rule):
 *   - @size smaller than the first published version of the struct: -EINVAL.
 *   - @size larger than the struct this kernel knows: the extra bytes must be
 *     zero (-E2BIG otherwise) and are ignored.
 *   - The commands with output (INFO, PIN, GET_SEGS, GET_INVALIDATED)
 *     write it back for min(@size, known size) bytes. Output fields the
 *     kernel does not fill are zeroed.
 *   - Those four also rewrite @size: on return it holds min(@size, known
 *     size), so a caller learns how much of its struct the kernel filled
 *     (INFO with a larger struct reports the size the running module
 *     knows). The value is a valid @size for the next call, so a struct
 *     may be reused without setting @size again. UNPIN, ATTACH and DETACH
 *     have no output: they write nothing back, @size included.
 *   - Unknown bits in @flags and non-zero reserved fields: -EINVAL.
 *   - Unknown commands: -ENOTTY.
 * New behaviour comes as new flags (rejected by older kernels), new fields at
 * the end of a struct (signalled by a feature bit in VTOP_IOC_INFO) or new
 * commands.
 *
 * Errors common to every command:
 *   -EFAULT  the argument (or an array it points to) cannot be read or written
 *   -EINVAL  @size too small, unknown flag, non-zero reserved field
 *   -E2BIG   @size larger than known and the tail is not zero
 *   -EACCES  the calling process's address space is not the one that opened
 *            the file (a forked child, a process that received the fd over a
 *            UNIX socket); nothing is touched
 *   -ENOTTY  unknown command
 */
#ifndef _UAPI_LINUX_VTOP_H
#define _UAPI_LINUX_VTOP_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VTOP_ABI_VERSION	1
#define VTOP_DEVICE_NAME	"vtop"
#define VTOP_DEVICE_PATH	"/dev/vtop"

#define VTOP_IOCTL_TYPE		0xB9

enum {
	VTOP_CMD_INFO = 0x00,
	VTOP_CMD_PIN = 0x01,
	VTOP_CMD_UNPIN = 0x02,
	VTOP_CMD_GET_SEGS = 0x03,
	VTOP_CMD_ATTACH = 0x04,
	VTOP_CMD_DETACH = 0x05,
	VTOP_CMD_GET_INVALIDATED = 0x06,
};

/* Feature bits reported by VTOP_IOC_INFO in vtop_info.features. */
#define VTOP_FEATURE_PIN	(1ULL << 0)	/* PIN, UNPIN */
#define VTOP_FEATURE_GET_SEGS	(1ULL << 1)	/* GET_SEGS */
#define VTOP_FEATURE_READONLY	(1ULL << 2)	/* VTOP_PIN_READONLY */
#define VTOP_FEATURE_ATTACH	(1ULL << 3)	/* ATTACH, DETACH (IOVA mode) */
#define VTOP_FEATURE_EVENTS	(1ULL << 4)	/* invalidation events, below */
#define VTOP_FEATURE_PARTIAL	(1ULL << 5)	/* VTOP_PIN_PARTIAL,
						 * VTOP_GET_SEGS_PARTIAL
						 */
#define VTOP_FEATURE_PIN_MAX	(1ULL << 6)	/* VTOP_PIN_MAX_PAGES */
#define VTOP_FEATURE_STATUS	(1ULL << 7)	/* vtop_info.status, the
						 * per-fd VTOP_EVENT_REVOKED
						 * record
						 */

/*
 * The most base pages (vtop_info.page_size) one PIN may cover, when
 * VTOP_FEATURE_PIN_MAX is set: 2^25, 128 GiB with 4 KiB pages. A longer
 * PIN fails with -EOVERFLOW before anything is allocated or pinned. A
 * later module may raise it (and will announce that with a new feature
 * bit); an older one had no fixed limit but failed to allocate its
 * bookkeeping beyond about 1 TiB (-ENOMEM).
 */
#define VTOP_PIN_MAX_PAGES	(1U << 25)

/* Address modes reported in vtop_info.mode. */
#define VTOP_MODE_PHYS		0	/* CPU physical addresses */
#define VTOP_MODE_IOVA		1	/* IOVAs of the attached device */

/* State bits reported in vtop_info.status (VTOP_FEATURE_STATUS). */
#define VTOP_STATUS_REVOKED	(1U << 0)	/* attached fd whose device was
						 * unbound or removed: its
						 * mappings are gone, PIN
						 * fails with -ENODEV; cleared
						 * by DETACH
						 */

/* Capability bits reported in vtop_info.caps. */
#define VTOP_CAP_PHYS_ADDRS	(1ULL << 0)	/* opener may get phys addrs */
#define VTOP_CAP_IPC_LOCK	(1ULL << 1)	/* caller bypasses MEMLOCK */

/**
 * struct vtop_info - VTOP_IOC_INFO: describe the module and this fd
 * @size:		sizeof(struct vtop_info)
 * @flags:		must be 0
 * @abi_version:	VTOP_ABI_VERSION of the running module
 * @module_version:	major << 16 | minor << 8 | patch
 * @features:		VTOP_FEATURE_* bits
 * @caps:		VTOP_CAP_* bits for this fd and caller
 * @page_size:		the kernel's base page size in bytes
 * @mode:		VTOP_MODE_* of this fd
 * @max_pins:		live pins allowed on one fd (module parameter)
 * @nr_pins:		live pins on this fd
 * @max_pin_bytes:	bytes allowed pinned through one fd, 0: no cap but
 *			RLIMIT_MEMLOCK (module parameter)
 * @pinned_bytes:	bytes pinned through this fd now
 * @memlock_limit:	the caller's RLIMIT_MEMLOCK in bytes, or ~0 when the
 *			caller has CAP_IPC_LOCK or the limit is infinite
 * @mm_pinned_bytes:	bytes charged to the address space's pinned_vm now
 *			(by vtop and by any other long-term pinner)
 * @attached_domain:	PCI domain of the attached device (mode IOVA)
 * @attached_bdf:	bus << 8 | slot << 3 | function of the attached device
 * @nr_invalidated:	live pins of this fd that were invalidated (see
 *			"Invalidation events") and are still pinned
 * @nr_queued_events:	event records queued for read() now
 * @invalidated_bytes:	bytes of those @nr_invalidated pins
 * @status:		VTOP_STATUS_* bits of this fd (VTOP_FEATURE_STATUS;
 *			0 from a module without it); must be 0 on input
 * @__reserved:		must be 0; written as 0. @status and the words after
 *			it share their bytes with @__reserved, whose name and
 *			size stay for source compatibility
 *
 * Return: 0, or a common error.
 */
struct vtop_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 module_version;
	__u64 features;
	__u64 caps;
	__u32 page_size;
	__u32 mode;
	__u32 max_pins;
	__u32 nr_pins;
	__u64 max_pin_bytes;
	__u64 pinned_bytes;
	__u64 memlock_limit;
	__u64 mm_pinned_bytes;
	__u32 attached_domain;
	__u32 attached_bdf;
	__u32 nr_invalidated;
	__u32 nr_queued_events;
	__u64 invalidated_bytes;
	union {
		__u64 __reserved[2];
		struct {
			__u32 status;
			__u32 __reserved_status;
			__u64 __reserved_tail;
		};
	};
};

/**
 * struct vtop_segment - one DMA-contiguous stretch of a pin
 * @vaddr:	user virtual address of the first byte
 * @dma_addr:	DMA address of the first byte: the CPU physical address in
 *		VTOP_MODE_PHYS, the device's IOVA in VTOP_MODE_IOVA
 * @len:	bytes; a multiple of the page size
 * @page_shift:	log2 of the size of the page or folio behind every page of
 *		the segment (12 for 4 KiB pages, 21 for 2 MiB THP or hugetlb)
 * @__reserved:	written as 0
 *
 * Consecutive pages whose DMA addresses are contiguous and whose page_shift
 * is equal are merged into one segment, so a 2 MiB hugepage is one segment.
 *
 * @page_shift describes the folio (the physically contiguous allocation)
 * behind the pages, not how the range is mapped or aligned. A segment with
 * page_shift 21 need not start on a 2 MiB boundary, in virtual or in DMA
 * address space, nor be 2 MiB long: a pin that starts or ends inside a
 * THP or hugepage gets the part of it inside the range (edge folios); a
 * THP mapped by page table entries rather than one PMD (after mremap() to
 * an address not 2 MiB aligned, or after mprotect() of part of it) keeps
 * its folio size while its virtual address has any 4 KiB alignment; and
 * kernels with multi-size THP (6.8 and later, "mTHP") report the folio's
 * order, e.g. 16 for a 64 KiB folio, any order from 13 to 20 that the
 * system enables. What holds for every segment: @vaddr, @dma_addr and @len
 * are multiples of the base page size, and every page of the segment lies
 * in a folio of 1 << @page_shift bytes that is physically contiguous.
 */
struct vtop_segment {
	__u64 vaddr;
	__u64 dma_addr;
	__u64 len;
	__u32 page_shift;
	__u32 __reserved;
};

/**
 * struct vtop_pin - VTOP_IOC_PIN: pin [vaddr, vaddr + length) of the caller
 * @size:	sizeof(struct vtop_pin)
 * @flags:	VTOP_PIN_* flags
 * @vaddr:	start, page aligned
 * @length:	bytes, page aligned, > 0; vaddr + length must not wrap and
 *		must not exceed the user address space (TASK_SIZE)
 * @segs:	user pointer to an array of @nr_segs struct vtop_segment
 * @nr_segs:	in: capacity of @segs; out: segments written, or the number
 *		needed when the call fails with -ENOBUFS; with
 *		VTOP_PIN_PARTIAL, the total number of segments of the pin
 *		(min(capacity, total) were written)
 * @__reserved:	must be 0
 * @handle:	out: names the pin in UNPIN and GET_SEGS; never 0
 *
 * The pages are pinned with FOLL_LONGTERM and, without VTOP_PIN_READONLY,
 * FOLL_WRITE (the device may write them); they stay pinned until UNPIN or
 * until the file is released. They are charged to the address space's
 * pinned_vm against RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK.
 * Any failure leaves nothing pinned or charged.
 *
 * With VTOP_PIN_PARTIAL (VTOP_FEATURE_PARTIAL) a segment array too small
 * for the pin is no error: PIN pins, writes the first @nr_segs segments
 * (none when @nr_segs is 0; @segs is then not touched), sets @nr_segs to
 * the total and returns the handle; GET_SEGS with VTOP_GET_SEGS_PARTIAL
 * pages through the rest. Without it PIN keeps the first behaviour: the
 * whole range is pinned, found too big for the array and released again
 * (-ENOBUFS), and the count may differ on the retry.
 *
 * Bookkeeping: the module keeps a page pointer per base page of the pin
 * and its segments, charged to the caller's memory cgroup. RLIMIT_MEMLOCK
 * (and the per-fd limits) are checked before any of it is allocated, so a
 * PIN over the limit costs no memory whether or not the range is mapped.
 * One pin covers at most VTOP_PIN_MAX_PAGES base pages (128 GiB with
 * 4 KiB pages): longer is -EOVERFLOW, before anything is allocated or
 * pinned; pin a larger buffer in several pins.
 *
 * The order of the checks: arguments (-EINVAL), the per-fd pin count
 * (-ENOSPC) and bytes (-ENOMEM), an attached fd's device (revoked:
 * -ENODEV; lazy IOMMU domain: -EOPNOTSUPP), RLIMIT_MEMLOCK (-ENOMEM), the
 * length limit (-EOVERFLOW), then the pages (-EFAULT, ...).
 *
 * Return: 0, a common error, or
 *   -EINVAL  unaligned @vaddr or @length, @length 0, wrap-around, range
 *            beyond the user address space (the kernel's TASK_SIZE: on
 *            x86-64 2^47 - 4096, or 2^56 - 4096 when the CPU and kernel
 *            use 5-level paging, so 1 << 47 is not always out of range)
 *   -EFAULT  a page in the range is not mapped, PROT_NONE, not writable
 *            without VTOP_PIN_READONLY, or VM_IO/VM_PFNMAP; @segs not writable
 *   -EOPNOTSUPP  the mapping refuses long-term pins (fsdax); or, attached
 *            fd, the device's IOMMU group was switched to lazy
 *            invalidation (DMA-FQ) after ATTACH (see struct vtop_attach)
 *   -ENOBUFS @nr_segs is too small (without VTOP_PIN_PARTIAL); @nr_segs
 *            is set to the number needed
 *   -ENOMEM  RLIMIT_MEMLOCK or the per-fd byte limit would be exceeded, or
 *            out of kernel memory
 *   -EOVERFLOW @length is above VTOP_PIN_MAX_PAGES base pages
 *   -ENOSPC  the per-fd pin count limit is reached
 *   -EINTR   a fatal signal arrived while pinning, or a signal arrived
 *            while PIN pinned the range again after an invalidation (a
 *            handler installed with SA_RESTART restarts the call instead)
 *   -EAGAIN  the range was invalidated (munmap, madvise, ...: see
 *            "Invalidation events") while it was being pinned, in each of
 *            8 rounds of pinning; nothing is pinned, the call may be
 *            repeated
 *   -ENODEV  attached fd whose device was unbound or removed (revoked,
 *            see struct vtop_attach): before anything is pinned, or, when
 *            the revocation came while this PIN was in progress, after
 *            it (its mapping is gone; no pin is made)
 *   -EIO     attached fd: the device could reach the pages only through a
 *            bounce buffer (swiotlb), useless for long-lived DMA, or the
 *            DMA API failed to map them
 *   other    as returned by pin_user_pages_fast() or dma_map_sgtable()
 */
struct vtop_pin {
	__u32 size;
	__u32 flags;
#define VTOP_PIN_READONLY	(1U << 0)	/* the device only reads */
#define VTOP_PIN_PARTIAL	(1U << 1)	/* a short @segs is no error */
	__u64 vaddr;
	__u64 length;
	__u64 segs;
	__u32 nr_segs;
	__u32 __reserved;
	__u64 handle;
};

/**
 * struct vtop_unpin - VTOP_IOC_UNPIN: release one pin
 * @size:	sizeof(struct vtop_unpin)
 * @flags:	must be 0
 * @handle:	as returned by PIN on this fd
 *
 * Pages pinned writable are marked dirty, then unpinned; the charge is
 * returned to the address space that was charged.
 *
 * Return: 0, a common error, or
 *   -ENOENT  no such pin on this fd (never made, made on another fd, or
 *            already unpinned)
 */
struct vtop_unpin {
	__u32 size;
	__u32 flags;
	__u64 handle;
};

/**
 * struct vtop_get_segs - VTOP_IOC_GET_SEGS: re-read the segments of a pin
 * @size:	sizeof(struct vtop_get_segs)
 * @flags:	VTOP_GET_SEGS_* flags
 * @handle:	as returned by PIN on this fd
 * @offset:	start of the sub-range, in bytes from the pin's vaddr; page
 *		aligned
 * @length:	bytes, page aligned; 0 means "to the end of the pin"
 * @segs:	user pointer to an array of @nr_segs struct vtop_segment
 * @nr_segs:	in: capacity; out: segments written, or needed on -ENOBUFS;
 *		with VTOP_GET_SEGS_PARTIAL the number of segments of the
 *		sub-range (min(capacity, that) were written)
 * @__reserved:	must be 0
 *
 * Segments are clipped to the sub-range. Nothing is pinned again.
 *
 * With VTOP_GET_SEGS_PARTIAL (VTOP_FEATURE_PARTIAL) a short array is no
 * error: the first @nr_segs segments of the sub-range are written and
 * @nr_segs is set to how many the sub-range has. To page through a pin,
 * start at @offset 0 (or after the segments PIN returned) with @length 0
 * and continue at the end of the last segment written, minus the pin's
 * vaddr, until it reaches the pin's length. A segment boundary is the
 * same whichever sub-range starts there, so the pages fit together.
 *
 * Return: 0, a common error, or
 *   -ENOENT  no such pin on this fd
 *   -ENODEV  attached fd whose device was revoked: the pin's IOVAs are
 *            unmapped (UNPIN it)
 *   -EINVAL  unaligned @offset or @length, or the sub-range is not inside
 *            the pin
 *   -ENOBUFS @nr_segs too small (without VTOP_GET_SEGS_PARTIAL); @nr_segs
 *            is set to the number needed
 */
struct vtop_get_segs {
	__u32 size;
	__u32 flags;
#define VTOP_GET_SEGS_PARTIAL	(1U << 0)	/* a short @segs is no error */
	__u64 handle;
	__u64 offset;
	__u64 length;
	__u64 segs;
	__u32 nr_segs;
	__u32 __reserved;
};

/**
 * struct vtop_attach - VTOP_IOC_ATTACH: report IOVAs for one PCI device
 * @size:	sizeof(struct vtop_attach)
 * @flags:	must be 0
 * @pci_domain:	PCI domain (segment) of the device
 * @pci_bdf:	bus << 8 | slot << 3 | function
 *
 * From now on every PIN on this fd also maps its pages for the device with
 * the DMA API (DMA_BIDIRECTIONAL, DMA_TO_DEVICE for VTOP_PIN_READONLY) and
 * reports the resulting IOVAs; without an IOMMU, or with one in
 * passthrough mode, they equal the physical addresses. UNPIN and release
 * unmap before they unpin. The fd holds a reference to the device until
 * DETACH or release.
 *
 * The device must be bound to uio_pci_generic, which hands it to user
 * space and keeps its IOMMU group claimed for the kernel's DMA domain, so
 * VFIO and iommufd cannot take the group over while the fd maps through
 * that domain. vfio-pci is refused: VFIO could switch the device's domain
 * under the mappings. Module parameter attach_any_driver admits other
 * kernel drivers, but never one that manages DMA ownership itself
 * (driver_managed_dma: vfio-pci and the like) and never a device without a
 * driver. uio_pci_generic leaves the device's DMA mask at the
 * PCI default of 32 bits; the user-space driver being the real driver,
 * ATTACH sets a 64-bit mask on a device bound to it (or to no driver), as
 * physical mode assumes a 64-bit capable device too. The previous mask is
 * restored when the last fd attached to the device lets it go (DETACH,
 * release, or revocation); a failed ATTACH changes no mask.
 *
 * IOMMU invalidation must be strict: with a lazy (flush queue, "DMA-FQ")
 * domain an unmap only queues the IOTLB flush, and the device could keep
 * reaching pages the kernel has reused after UNPIN. Debian's kernels
 * default to lazy (CONFIG_IOMMU_DEFAULT_DMA_LAZY): boot with
 * iommu.strict=1, or unbind every driver of the device's IOMMU group, write
 * "DMA" to /sys/kernel/iommu_groups/N/type and bind again. Root can still
 * switch a strict group to "DMA-FQ" with the driver bound, after ATTACH:
 * PIN then fails with -EOPNOTSUPP, and every unmap (UNPIN, release,
 * revocation) is followed by a full IOTLB flush of the domain before any
 * page is unpinned, so the earlier pins stay safe.
 *
 * Revocation: when the device's driver is unbound, another driver is
 * bound, or the device is removed (hot-unplug, sysfs remove), every
 * mapping of the fd is unmapped before that goes on, each live pin is
 * reported invalidated with VTOP_EVENT_REVOKED, and every later PIN fails
 * with -ENODEV (a PIN in progress too). The fd itself gets one
 * VTOP_EVENT_REVOKED record with @handle 0, also when it has no pins or
 * its pins were invalidated before, and INFO reports VTOP_STATUS_REVOKED
 * (VTOP_FEATURE_STATUS) until DETACH. The pins stay pinned: UNPIN and
 * release succeed without touching the device, then DETACH (or close)
 * lets it go, and a new ATTACH can take the device again once it is back.
 *
 * Release: when an attached fd is closed with live pins (a crashed
 * user-space driver, say), the device's Bus Master Enable bit is cleared
 * before the pins are unmapped and unpinned, as VFIO resets a device: the
 * device was given those addresses and may still be running. Not when
 * another fd not being closed itself is attached to the same device, nor
 * once the fd is revoked, nor when a kernel driver (not uio_pci_generic)
 * drives the device. The user-space driver enables bus mastering again
 * when it starts.
 *
 * Return: 0, a common error, or
 *   -EINVAL  @pci_bdf above 0xffff
 *   -EBUSY   the fd has live pins (or a PIN in progress, or an UNPIN still
 *            unmapping), or is attached already
 *   -ENODEV  no such PCI device
 *   -EPERM   the device has no driver or a driver other than
 *            uio_pci_generic (module parameter attach_any_driver, set at
 *            load time, admits other drivers, but neither a device without
 *            a driver nor one whose driver manages DMA ownership)
 *   -EOPNOTSUPP  the device's IOMMU domain invalidates lazily (DMA-FQ, see
 *            above), or the device is not DMA-coherent
 *   -EINTR   a signal arrived while ATTACH waited for the device lock (held
 *            by an unbind, for instance)
 */
struct vtop_attach {
	__u32 size;
	__u32 flags;
	__u32 pci_domain;
	__u32 pci_bdf;
};

/**
 * struct vtop_detach - VTOP_IOC_DETACH: go back to physical-address mode
 * @size:	sizeof(struct vtop_detach)
 * @flags:	must be 0
 *
 * Return: 0, a common error, or
 *   -EBUSY   the fd has live pins (or a PIN in progress), or an UNPIN is
 *            still unmapping a pin: DETACH succeeds only once no mapping
 *            of the fd is left
 *   -ENXIO   the fd is not attached
 *
 * A revoked fd (see struct vtop_attach) is detached the same way, once its
 * pins are unpinned.
 */
struct vtop_detach {
	__u32 size;
	__u32 flags;
};

/**
 * DOC: Invalidation events (VTOP_FEATURE_EVENTS)
 *
 * Every pin watches its virtual range. When the mapping of any part of it
 * is torn down or replaced while the pin is live, the pin is marked
 * invalidated and one struct vtop_event is queued for it: munmap(),
 * mremap() moving or shrinking it away, madvise(MADV_DONTNEED, MADV_FREE,
 * MADV_REMOVE), truncation or hole punching of a shared file or memfd
 * mapping, and the end of the address space (process exit). A pin is
 * invalidated once: a second unmap of the same pin queues nothing more.
 * Changes that keep the same pinned pages mapped at the same address
 * (mprotect(), the write protection fork() gives to other pages, NUMA
 * hinting, soft-dirty clearing) queue nothing. Some operations announce a
 * change although the pinned frames stay: they queue an event too
 * (spurious: re-registering is always correct). These are a THP split
 * (at fork(), or by mprotect(), mlock() or madvise() of part of a pinned
 * THP: the split clears the whole 2 MiB); an mprotect(), mlock() or
 * madvise() that splits a VMA at an address not 2 MiB aligned, THP or not
 * (a kernel with THP announces a split of the 2 MiB around that address:
 * a CLEAR for every pin there); KSM, khugepaged, and reclaim
 * (MADV_PAGEOUT or memory pressure) of pinned pages of a shared mapping
 * (memfd, shmem, a file): their page table entries are cleared, the pages
 * stay in the page cache, held by the pin, and fault back in.
 *
 * An invalidated pin stays pinned, charged and DMA-mapped until UNPIN or
 * release: the device may still be using it and only the user knows when
 * it stops. Its segments still describe the old frames, which the address
 * range no longer maps. UNPIN of a pin whose event is still queued removes
 * that event; a read() already in progress may still return it (its
 * records were taken before the UNPIN), with a handle that UNPIN and
 * GET_SEGS then answer with -ENOENT.
 *
 * A pin is watched from before its pages are pinned: an invalidation while
 * PIN runs makes PIN pin the range again (or fail with -EFAULT when it is
 * no longer mapped), so a successful PIN returns the pages mapped when it
 * returns; one after that is reported. Only the operations that would
 * queue a record (spurious ones included) make PIN start over; mprotect()
 * and the other changes that queue nothing do not. PIN gives up with
 * -EAGAIN after 8 rounds that were each invalidated, and with -EINTR when
 * a signal arrives between two rounds.
 *
 * read(2) returns whole struct vtop_event records, oldest first, as many as
 * fit; it blocks while none is queued, or while another read() copies its
 * records out, unless the file is O_NONBLOCK (-EAGAIN in both cases).
 * poll(2)/epoll report EPOLLIN | EPOLLRDNORM while a record is ready, and
 * EPOLLERR from another address space. read() errors: -EINVAL
 * when the buffer cannot hold one record (a count of 0 too), -EFAULT
 * (nothing is consumed), -EACCES from another address space, -EINTR /
 * -ERESTARTSYS on a signal while blocked.
 *
 * The queue holds at most max_queued_events records per fd (module
 * parameter, default 1024; 0 queues none). An invalidation that finds the
 * queue full still marks its pin invalidated and bumps the counters but
 * queues no record of its own; once the reader has consumed the queued
 * records it gets one record with @reason VTOP_EVENT_OVERFLOW, @handle,
 * @vaddr and @length 0 and @seq that of the last invalidation that found
 * the queue full, and must then ask VTOP_IOC_GET_INVALIDATED for every
 * invalidated pin. Nothing is ever lost: the invalidated mark lives in the
 * pin. The overflow record is read after every queued record, those
 * queued after the overflow (once the reader made room) included: its
 * @seq may be lower than that of the record before it.
 *
 * mmap(2) of the fd, offset 0, one page, PROT_READ and MAP_SHARED, maps
 * struct vtop_event_page read-only (-EPERM for a writable mapping,
 * -EINVAL for another offset or length or for MAP_PRIVATE, -EACCES from
 * another address space, -EPERM for PROT_EXEC); mprotect() cannot make it
 * writable or executable (-EACCES) and mremap() cannot grow it. It is
 * mapped by page frame number (VM_IO | VM_PFNMAP): a PIN of it fails with
 * -EFAULT, as madvise(MADV_DONTNEED) of it fails with -EINVAL. Its @seq
 * lets a fast path ask "anything new?" with one load. The mapping holds a
 * reference to the file, like the fd itself; a fork()ed child inherits
 * it (and sees the parent's page).
 *
 * fork(): the notifiers watch the parent's address space only. The child's
 * munmap() of its copy queues nothing; the inherited fd refuses read(),
 * mmap() and every ioctl with -EACCES. In the parent, fork() queues nothing
 * for 4 KiB anonymous or shared pins (the pinned pages stay mapped in the
 * parent), but a pinned THP is split and a private hugetlb mapping is
 * invalidated as a whole: one spurious VTOP_EVENT_CLEAR record each.
 */

/* Reasons in vtop_event.reason. */
#define VTOP_EVENT_UNMAP	1	/* munmap, mremap away, process exit */
#define VTOP_EVENT_CLEAR	2	/* madvise, truncation, hole punch, a
					 * change of the pages behind the range
					 */
#define VTOP_EVENT_OTHER	3	/* migration and other notifications */
#define VTOP_EVENT_OVERFLOW	4	/* records were not queued: use
					 * VTOP_IOC_GET_INVALIDATED
					 */
#define VTOP_EVENT_REVOKED	5	/* attached fd: the device was unbound
					 * or removed, its mapping is gone;
					 * with @handle 0 (VTOP_FEATURE_STATUS):
					 * the fd's own record, once per
					 * revocation, after the queued records
					 * and before an overflow record
					 */

/**
 * struct vtop_event - one invalidation, as read(2) returns it
 * @size:	sizeof(struct vtop_event) of the running module; a reader
 *		steps by this size (records only ever grow at the end)
 * @reason:	VTOP_EVENT_*
 * @handle:	the invalidated pin (0 for VTOP_EVENT_OVERFLOW and for the
 *		fd's own VTOP_EVENT_REVOKED record)
 * @vaddr:	the pin's start address
 * @length:	the pin's length in bytes
 * @seq:	the value of vtop_event_page.seq this invalidation produced
 * @__reserved:	written as 0
 */
struct vtop_event {
	__u32 size;
	__u32 reason;
	__u64 handle;
	__u64 vaddr;
	__u64 length;
	__u64 seq;
	__u64 __reserved;
};

/**
 * struct vtop_event_page - the read-only page mmap(2) of the fd maps
 * @size:	sizeof(struct vtop_event_page)
 * @version:	1
 * @seq:	invalidations of this fd so far, queued or not; written
 *		with release semantics after the pin is marked, so a reader
 *		that loads it with acquire semantics and sees a new value
 *		finds the record (or overflow) in the queue and the mark in
 *		GET_INVALIDATED
 * @overflows:	invalidations that found the queue full
 */
struct vtop_event_page {
	__u32 size;
	__u32 version;
	__u64 seq;
	__u64 overflows;
};

/**
 * struct vtop_get_invalidated - VTOP_IOC_GET_INVALIDATED: list the live
 *				 pins that were invalidated
 * @size:	sizeof(struct vtop_get_invalidated)
 * @flags:	must be 0
 * @handles:	user pointer to an array of @nr_handles __u64
 * @nr_handles:	in: capacity; out: handles written (oldest invalidation
 *		first), or the number needed on -ENOBUFS; with nothing to
 *		list, 0 and @handles is not touched
 * @__reserved:	must be 0
 * @seq:	out: vtop_event_page.seq when the list was taken; every
 *		invalidation up to it is in the list (or already unpinned)
 *
 * Return: 0, a common error, or
 *   -ENOBUFS @nr_handles too small; @nr_handles is set to the number needed
 */
struct vtop_get_invalidated {
	__u32 size;
	__u32 flags;
	__u64 handles;
	__u32 nr_handles;
	__u32 __reserved;
	__u64 seq;
};

#define VTOP_IOC_INFO		_IO(VTOP_IOCTL_TYPE, VTOP_CMD_INFO)
#define VTOP_IOC_PIN		_IO(VTOP_IOCTL_TYPE, VTOP_CMD_PIN)
#define VTOP_IOC_UNPIN		_IO(VTOP_IOCTL_TYPE, VTOP_CMD_UNPIN)
#define VTOP_IOC_GET_SEGS	_IO(VTOP_IOCTL_TYPE, VTOP_CMD_GET_SEGS)
#define VTOP_IOC_ATTACH		_IO(VTOP_IOCTL_TYPE, VTOP_CMD_ATTACH)
#define VTOP_IOC_DETACH		_IO(VTOP_IOCTL_TYPE, VTOP_CMD_DETACH)
#define VTOP_IOC_GET_INVALIDATED _IO(VTOP_IOCTL_TYPE, VTOP_CMD_GET_INVALIDATED)

#endif /* _UAPI_LINUX_VTOP_H */
