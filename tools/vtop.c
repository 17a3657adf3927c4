// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtop: command-line front end to /dev/vtop.
 *
 *   vtop info [--json]
 *	print what VTOP_IOC_INFO reports for a fresh fd
 *   vtop stats [--json]
 *	the module's counters (debugfs: vtop/stats)
 *   vtop pins [--json]
 *	the live pins of every open fd, by process and fd (debugfs: vtop/pins)
 *   vtop pin --kind 4k|thp|hugetlb --size BYTES [--readonly] [--check] [--hold]
 *	map a buffer of that kind, pin it, print its segments (user address,
 *	DMA address, length, page size); --check compares every page with
 *	/proc/self/pagemap and the segment list with the one pagemap and
 *	kpageflags predict; --hold keeps the pin until SIGINT or SIGTERM; the
 *	pin is released on exit
 *
 * The debugfs directory is $VTOP_DEBUGFS, default /sys/kernel/debug/vtop.
 * Documented in man/man8/vtop.8.
 *
 * Exit status: 0, 1 on an error or a failed check, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtop_test_util.h"

static const char *prog = "vtop";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s info [--json]\n"
		"       %s stats [--json]\n"
		"       %s pins [--json]\n"
		"       %s pin --kind 4k|thp|hugetlb --size BYTES [--readonly] [--check] [--hold]\n"
		"\n"
		"  info        show the module's version, features, limits and this fd's state\n"
		"  stats       show the module's counters (debugfs)\n"
		"  pins        list the live pins of every open fd, by process and fd (debugfs)\n"
		"  pin         map a buffer of KIND, pin SIZE bytes of it (suffix K, M or G;\n"
		"              rounded up to the kind's page size), print its segments\n"
		"  --json      one JSON object instead of text\n"
		"  --readonly  pin with VTOP_PIN_READONLY (the device only reads)\n"
		"  --check     compare every segment with /proc/self/pagemap\n"
		"  --hold      keep the pin until SIGINT or SIGTERM\n"
		"See vtop(8).\n",
		prog, prog, prog, prog);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

static void print_bits(uint64_t bits, const char *const *names, int n)
{
	const char *sep = "";
	int i;

	printf(" (");
	for (i = 0; i < 64; i++) {
		if (!(bits & (1ULL << i)))
			continue;
		if (i < n && names[i])
			printf("%s%s", sep, names[i]);
		else
			printf("%sbit%d", sep, i);
		sep = " ";
	}
	printf(")\n");
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % (1ULL << 30)))
		snprintf(buf, len, "%" PRIu64 " GiB", bytes >> 30);
	else if (bytes && !(bytes % (1ULL << 20)))
		snprintf(buf, len, "%" PRIu64 " MiB", bytes >> 20);
	else if (bytes && !(bytes % 1024))
		snprintf(buf, len, "%" PRIu64 " KiB", bytes >> 10);
	else
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	return buf;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(const char *str)
{
	const unsigned char *c;

	putchar('"');
	for (c = (const unsigned char *)str; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void info_json(const struct vtop_info *info)
{
	printf("{\"device\": ");
	json_str(VTOP_DEVICE_PATH);
	printf(", \"abi_version\": %u", info->abi_version);
	printf(", \"module_version\": \"%u.%u.%u\"", info->module_version >> 16,
	       (info->module_version >> 8) & 0xff, info->module_version & 0xff);
	printf(", \"features\": %" PRIu64, (uint64_t)info->features);
	printf(", \"caps\": %" PRIu64, (uint64_t)info->caps);
	printf(", \"page_size\": %u", info->page_size);
	printf(", \"mode\": \"%s\"", info->mode == VTOP_MODE_PHYS ? "phys" :
	       info->mode == VTOP_MODE_IOVA ? "iova" : "unknown");
	if (info->mode == VTOP_MODE_IOVA)
		printf(", \"attached\": \"%04x:%02x:%02x.%x\"",
		       info->attached_domain, info->attached_bdf >> 8,
		       (info->attached_bdf >> 3) & 0x1f, info->attached_bdf & 7);
	else
		printf(", \"attached\": null");
	printf(", \"max_pins\": %u", info->max_pins);
	printf(", \"nr_pins\": %u", info->nr_pins);
	printf(", \"max_pin_bytes\": %" PRIu64, (uint64_t)info->max_pin_bytes);
	printf(", \"pinned_bytes\": %" PRIu64, (uint64_t)info->pinned_bytes);
	if (info->memlock_limit == ~0ULL)
		printf(", \"memlock_limit\": null");
	else
		printf(", \"memlock_limit\": %" PRIu64,
		       (uint64_t)info->memlock_limit);
	printf(", \"mm_pinned_bytes\": %" PRIu64,
	       (uint64_t)info->mm_pinned_bytes);
	printf(", \"nr_invalidated\": %u", info->nr_invalidated);
	printf(", \"invalidated_bytes\": %" PRIu64,
	       (uint64_t)info->invalidated_bytes);
	printf(", \"nr_queued_events\": %u}\n", info->nr_queued_events);
}

static int cmd_info(bool json)
{
	static const char *const features[] = {
		"pin", "get_segs", "readonly", "attach", "events",
		"partial", "pin_max", "status",
	};
	static const char *const caps[] = { "phys_addrs", "ipc_lock" };
	struct vtop_info info;
	char h[32];
	int fd, ret;

	fd = vt_open();
	if (fd < 0)
		return fail(VTOP_DEVICE_PATH, -fd);
	ret = vt_info(fd, &info);
	close(fd);
	if (ret)
		return fail("VTOP_IOC_INFO", -ret);
	if (json) {
		info_json(&info);
		return 0;
	}

	printf("%s\n", VTOP_DEVICE_PATH);
	printf("  abi_version      %u\n", info.abi_version);
	printf("  module_version   %u.%u.%u\n", info.module_version >> 16,
	       (info.module_version >> 8) & 0xff, info.module_version & 0xff);
	printf("  features         0x%" PRIx64, (uint64_t)info.features);
	print_bits(info.features, features,
		   (int)(sizeof(features) / sizeof(features[0])));
	printf("  caps             0x%" PRIx64, (uint64_t)info.caps);
	print_bits(info.caps, caps, (int)(sizeof(caps) / sizeof(caps[0])));
	printf("  page_size        %u\n", info.page_size);
	printf("  mode             %s\n",
	       info.mode == VTOP_MODE_PHYS ? "phys (CPU physical addresses)" :
	       info.mode == VTOP_MODE_IOVA ? "iova (device addresses)" : "?");
	if (info.mode == VTOP_MODE_IOVA)
		printf("  attached         %04x:%02x:%02x.%x\n",
		       info.attached_domain, info.attached_bdf >> 8,
		       (info.attached_bdf >> 3) & 0x1f, info.attached_bdf & 7);
	printf("  max_pins         %u per fd\n", info.max_pins);
	printf("  nr_pins          %u\n", info.nr_pins);
	if (info.max_pin_bytes)
		printf("  max_pin_bytes    %s per fd\n",
		       human(info.max_pin_bytes, h, sizeof(h)));
	else
		printf("  max_pin_bytes    no cap but RLIMIT_MEMLOCK\n");
	printf("  pinned_bytes     %s\n", human(info.pinned_bytes, h, sizeof(h)));
	if (info.memlock_limit == ~0ULL)
		printf("  memlock_limit    unlimited\n");
	else
		printf("  memlock_limit    %s\n",
		       human(info.memlock_limit, h, sizeof(h)));
	printf("  mm_pinned_bytes  %s\n",
	       human(info.mm_pinned_bytes, h, sizeof(h)));
	if (info.features & VTOP_FEATURE_EVENTS) {
		printf("  nr_invalidated   %u (%s)\n", info.nr_invalidated,
		       human(info.invalidated_bytes, h, sizeof(h)));
		printf("  queued_events    %u\n", info.nr_queued_events);
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * debugfs: vtop/stats ("NAME VALUE" lines) and vtop/pins ("fd k=v ..." and
 * "pin k=v ..." lines; comm runs to the end of its line).
 */

static FILE *debugfs_open(const char *name, char *path, size_t len)
{
	const char *dir = getenv("VTOP_DEBUGFS");
	FILE *f;

	if (!dir || !*dir)
		dir = "/sys/kernel/debug/vtop";
	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f && errno == ENOENT)
		fprintf(stderr, "%s: %s: %s (is debugfs mounted, and the module loaded? mount -t debugfs none /sys/kernel/debug; modprobe vtop)\n",
			prog, path, strerror(errno));
	else if (!f)
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
	return f;
}

static bool is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static bool is_decimal(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int cmd_stats(bool json)
{
	char path[4096], line[256], name[128], value[128], extra;
	const char *sep = "";
	int n = 0, bad = 0;
	FILE *f;

	f = debugfs_open("stats", path, sizeof(path));
	if (!f)
		return 1;
	if (json)
		printf("{");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %127s %c", name, value, &extra) != 2 ||
		    !is_name(name) || !is_decimal(value)) {
			bad++;
			continue;
		}
		if (json)
			printf("%s\"%s\": %s", sep, name, value);
		else
			printf("%-20s %s\n", name, value);
		sep = ", ";
		n++;
	}
	fclose(f);
	if (json)
		printf("}\n");
	if (bad || !n) {
		fprintf(stderr, "%s: %s: %d line%s not understood, %d counters\n",
			prog, path, bad, bad == 1 ? "" : "s", n);
		return 1;
	}
	return 0;
}

#define PINS_MAX_KV 16

struct kv {
	char *key;
	char *value;
};

/*
 * Split "TYPE k=v k=v ... [comm=rest of line]" in place. Returns the
 * number of pairs, or -1 for a malformed line.
 */
static int split_kv(char *line, char **type, struct kv *kv)
{
	char *p = line, *eq;
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	*type = p;
	p = strchr(p, ' ');
	if (!p)
		return -1;
	*p++ = '\0';
	while (*p) {
		if (n == PINS_MAX_KV)
			return -1;
		eq = strchr(p, '=');
		if (!eq || eq == p)
			return -1;
		*eq = '\0';
		kv[n].key = p;
		kv[n].value = eq + 1;
		if (!is_name(p))
			return -1;
		n++;
		if (!strcmp(p, "comm"))
			break;
		p = strchr(eq + 1, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static const char *kv_get(const struct kv *kv, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return "?";
}

static void json_kv(const struct kv *kv, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		printf("%s\"%s\": ", i ? ", " : "", kv[i].key);
		if (is_decimal(kv[i].value))
			printf("%s", kv[i].value);
		else
			json_str(kv[i].value);
	}
}

static int cmd_pins(bool json)
{
	char path[4096], line[512], *type, h[32];
	int n, nfd = 0, npin = 0, bad = 0;
	bool in_fd = false;
	struct kv kv[PINS_MAX_KV];
	FILE *f;

	f = debugfs_open("pins", path, sizeof(path));
	if (!f)
		return 1;
	if (json)
		printf("{\"fds\": [");
	else
		printf("%-8s %-5s %-6s %-5s %6s %10s  %s\n", "PID", "FD", "FILE",
		       "MODE", "PINS", "PINNED", "COMM");
	while (fgets(line, sizeof(line), f)) {
		n = split_kv(line, &type, kv);
		if (n < 0 || (strcmp(type, "fd") && strcmp(type, "pin")) ||
		    (!strcmp(type, "pin") && !in_fd)) {
			bad++;
			continue;
		}
		if (!strcmp(type, "fd")) {
			if (json) {
				printf("%s%s{", in_fd ? "]}" : "",
				       nfd ? ", " : "");
				json_kv(kv, n);
				printf(", \"pins\": [");
			} else {
				printf("%-8s %-5s %-6s %-5s %6s %10s  %s\n",
				       kv_get(kv, n, "pid"), kv_get(kv, n, "fd"),
				       kv_get(kv, n, "file"),
				       kv_get(kv, n, "mode"),
				       kv_get(kv, n, "nr_pins"),
				       human(strtoull(kv_get(kv, n, "pinned_bytes"),
						      NULL, 0), h, sizeof(h)),
				       kv_get(kv, n, "comm"));
			}
			in_fd = true;
			nfd++;
			npin = 0;
			continue;
		}
		if (json) {
			printf("%s{", npin ? ", " : "");
			json_kv(kv, n);
			printf("}");
		} else {
			if (!npin)
				printf("    %-18s  %-18s  %10s  %5s  %-2s  %s\n",
				       "HANDLE", "VADDR", "LENGTH", "SEGS",
				       "RW", "INVALIDATED");
			printf("    %-18s  %-18s  %10s  %5s  %-2s  %s\n",
			       kv_get(kv, n, "handle"), kv_get(kv, n, "vaddr"),
			       human(strtoull(kv_get(kv, n, "length"), NULL, 0),
				     h, sizeof(h)),
			       kv_get(kv, n, "segs"),
			       strcmp(kv_get(kv, n, "writable"), "1") ? "r" : "rw",
			       strcmp(kv_get(kv, n, "invalidated"), "1") ?
			       "no" : "yes");
		}
		npin++;
	}
	fclose(f);
	if (json)
		printf("%s]}\n", in_fd ? "]}" : "");
	if (bad) {
		fprintf(stderr, "%s: %s: %d line%s not understood\n", prog, path,
			bad, bad == 1 ? "" : "s");
		return 1;
	}
	return 0;
}

/* "--json" or nothing after a subcommand; -1 for anything else. */
static int json_opt(int argc, char **argv)
{
	if (argc == 2)
		return 0;
	if (argc == 3 && !strcmp(argv[2], "--json"))
		return 1;
	return -1;
}

static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || !v)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmd_pin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 's' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "check", no_argument, NULL, 'c' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum vt_kind kind = VT_KIND_4K;
	bool have_kind = false, check = false, hold = false;
	sigset_t stop;
	struct vtop_segment *segs = NULL;
	uint32_t flags = 0, nr = 0, i;
	uint64_t size = 0, handle = 0;
	size_t granule;
	void *buf = NULL;
	int fd, ret, opt, status = 0;
	char h[32];

	while ((opt = getopt_long(argc, argv, "k:s:rcHh", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			if (vt_kind_parse(optarg, &kind)) {
				fprintf(stderr, "%s: unknown kind '%s'\n", prog,
					optarg);
				return 2;
			}
			have_kind = true;
			break;
		case 's':
			if (parse_size(optarg, &size)) {
				fprintf(stderr, "%s: bad size '%s'\n", prog,
					optarg);
				return 2;
			}
			break;
		case 'r':
			flags |= VTOP_PIN_READONLY;
			break;
		case 'c':
			check = true;
			break;
		case 'H':
			hold = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_kind || !size || optind != argc) {
		usage(stderr);
		return 2;
	}
	granule = vt_kind_granule(kind);
	size = (size + granule - 1) / granule * granule;
	/* --hold: SIGINT and SIGTERM are taken by sigwait(), not delivered. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (hold)
		sigprocmask(SIG_BLOCK, &stop, NULL);

	fd = vt_open();
	if (fd < 0)
		return fail(VTOP_DEVICE_PATH, -fd);
	ret = vt_buf_alloc(kind, size, &buf);
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr, "%s: the kernel gave no %s memory (%s)\n", prog,
			vt_kind_name(kind),
			kind == VT_KIND_HUGETLB ? "no free 2 MiB hugetlb pages" :
			"THP disabled or unavailable");
		close(fd);
		return 1;
	}
	if (ret) {
		close(fd);
		return fail("allocating the buffer", -ret);
	}
	ret = vt_pin_alloc(fd, buf, size, flags, &segs, &nr, &handle);
	if (ret) {
		status = fail("VTOP_IOC_PIN", -ret);
		goto out;
	}

	printf("pinned %s of %s memory at %p%s: handle 0x%" PRIx64
	       ", %u segment%s\n", human(size, h, sizeof(h)),
	       vt_kind_name(kind), buf,
	       flags & VTOP_PIN_READONLY ? " read-only" : "", handle, nr,
	       nr == 1 ? "" : "s");
	printf("  %4s  %-18s  %-18s  %10s  %s\n", "#", "vaddr", "dma_addr",
	       "length", "page");
	for (i = 0; i < nr; i++)
		printf("  %4u  0x%016" PRIx64 "  0x%016" PRIx64 "  %10s  %s\n",
		       i, (uint64_t)segs[i].vaddr, (uint64_t)segs[i].dma_addr,
		       human(segs[i].len, h, sizeof(h)),
		       segs[i].page_shift == 12 ? "4K" :
		       segs[i].page_shift == 21 ? "2M" :
		       segs[i].page_shift == 30 ? "1G" : "other");

	if (check) {
		char why[256];

		ret = vt_check_segs(segs, nr, (uintptr_t)buf, size, why,
				    sizeof(why));
		if (ret == -EINVAL) {
			printf("check: MISMATCH: %s\n", why);
			status = 1;
		} else if (ret) {
			printf("check: cannot check: %s%s%s\n", strerror(-ret),
			       why[0] ? ": " : "", why);
			status = 1;
		} else {
			printf("check: ok: every page's dma_addr is its pagemap PFN << 12, and the %u segment%s %s what pagemap predicts\n",
			       nr, nr == 1 ? "" : "s", nr == 1 ? "is" : "are");
		}
	}

	if (hold) {
		int sig;

		printf("holding the pin (pid %d); SIGINT or SIGTERM releases it\n",
		       (int)getpid());
		fflush(stdout);
		sigwait(&stop, &sig);
	}

	ret = vt_unpin(fd, handle);
	if (ret)
		status = fail("VTOP_IOC_UNPIN", -ret);
out:
	free(segs);
	vt_buf_free(buf, size);
	close(fd);
	return status;
}

int main(int argc, char **argv)
{
	int json;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "pin"))
		return cmd_pin(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	json = json_opt(argc, argv);
	if (json >= 0 && !strcmp(argv[1], "info"))
		return cmd_info(json);
	if (json >= 0 && !strcmp(argv[1], "stats"))
		return cmd_stats(json);
	if (json >= 0 && !strcmp(argv[1], "pins"))
		return cmd_pins(json);
	usage(stderr);
	return 2;
}
