// SPDX-License-Identifier: MIT
/*
 * kubuf - demonstrate, inspect and exercise kubuf devices.
 *
 *   kubuf info [--json]    every kubuf device (/dev/kubuf, /dev/kubuf-eduN,
 *                          ...): its node, the device it belongs to, its
 *                          ABI version, features and limits
 *   kubuf stat [--json]    the module's counters
 *   kubuf demo             a guided walk through what kubuf does
 *   kubuf stream [OPTIONS] the device streams records through a ring
 *   kubuf --version        the program's version
 *
 * Every command but info opens /dev/kubuf, or the node --device names;
 * info with --device shows that one device only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tool.h"

struct cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	const char *usage;
};

const char *dev_path;

const char *open_hint(int err)
{
	if (err == -ENOENT)
		return "is the module loaded? (modprobe kubuf)";
	if (err == -EACCES || err == -EPERM)
		return "run as root or join the kubuf group";
	return "";
}

int open_dev(unsigned int flags, struct kubuf **k)
{
	int ret = kubuf_open(dev_path, flags, k);

	if (ret == -ENOENT)
		fprintf(stderr, "kubuf: %s not found: %s\n", dev_node(),
			open_hint(ret));
	else if (ret == -EACCES || ret == -EPERM)
		fprintf(stderr, "kubuf: %s: permission denied: %s\n",
			dev_node(), open_hint(ret));
	else if (ret)
		fprintf(stderr, "kubuf: cannot open device: %s\n", strerror(-ret));
	return ret;
}

void report_error(const char *what, int err)
{
	struct rlimit rl;

	fprintf(stderr, "kubuf: %s: %s\n", what, strerror(-err));
	if (err != -ENOMEM || getrlimit(RLIMIT_MEMLOCK, &rl))
		return;
	/* The usual cause: pinned and DMA memory is charged to memlock. */
	if (rl.rlim_cur == RLIM_INFINITY)
		fprintf(stderr, "kubuf: no memory for it\n");
	else
		fprintf(stderr,
			"kubuf: registered and DMA memory counts against RLIMIT_MEMLOCK,\n"
			"       here %llu KiB (ulimit -l): raise it (ulimit -l, or a line\n"
			"       \"@kubuf - memlock N\" for the kubuf group in\n"
			"       /etc/security/limits.conf), run with CAP_IPC_LOCK, or use\n"
			"       less memory (kubuf stream --ring-size)\n",
			(unsigned long long)rl.rlim_cur >> 10);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kubuf %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'kubuf %s --help' for its options.\n", cmd);
	return -EINVAL;
}

int parse_simple_opts(int argc, char **argv, const char *usage, int *json)
{
	static const struct option json_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct option *opts = json ? json_opts : json_opts + 1;
	int c;

	if (json)
		*json = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = 1;
			break;
		case 'h':
			printf("%s", usage);
			return 1;
		default:
			return usage_error(argv[0], "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'",
				   argv[optind]);
	return 0;
}

void print_features(FILE *f, uint64_t features, int json)
{
	const char *sep = "";
	unsigned int bit;

	for (bit = 0; bit < 64; bit++) {
		const char *name;

		if (!(features & (1ULL << bit)))
			continue;
		name = kubuf_feature_name(bit);
		if (json)
			fprintf(f, "%s\"%s\"", sep, name ? name : "unknown");
		else if (name)
			fprintf(f, "%s%s", sep, name);
		else
			fprintf(f, "%sbit%u", sep, bit);
		sep = json ? ", " : " ";
	}
}

void print_info(const struct kubuf_info *in, int json)
{
	if (json) {
		printf("\"abi_version\": %u, \"page_size\": %u, \"features\": [",
		       in->abi_version, in->page_size);
		print_features(stdout, in->features, 1);
		printf("], \"max_ubufs\": %u, \"max_kbufs\": %u, "
		       "\"max_rings\": %u, "
		       "\"max_ubuf_size\": %llu, \"max_kbuf_size\": %llu",
		       in->max_ubufs, in->max_kbufs, in->max_rings,
		       (unsigned long long)in->max_ubuf_size,
		       (unsigned long long)in->max_kbuf_size);
		return;
	}
	printf("  ABI version            %u\n", in->abi_version);
	printf("  page size              %u bytes\n", in->page_size);
	printf("  features               ");
	print_features(stdout, in->features, 0);
	printf("\n");
	printf("  registrations per file %u, up to %llu MiB each\n",
	       in->max_ubufs, (unsigned long long)in->max_ubuf_size >> 20);
	printf("  driver buffers per file %u, up to %llu MiB each\n",
	       in->max_kbufs, (unsigned long long)in->max_kbuf_size >> 20);
	printf("  rings per file         %u\n", in->max_rings);
}

void print_stats(const struct kubuf_stats *st, int json)
{
	unsigned int i;

	if (json)
		printf("{");
	for (i = 0; i < st->nr_counters && i < KUBUF_STATS_MAX; i++) {
		const char *name = kubuf_stat_name(i);
		char fallback[32];

		if (!name) {
			snprintf(fallback, sizeof(fallback), "counter%u", i);
			name = fallback;
		}
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", name,
			       (unsigned long long)st->counters[i]);
		else
			printf("  %-22s %llu\n", name,
			       (unsigned long long)st->counters[i]);
	}
	if (json)
		printf("}\n");
}

static const char info_usage[] =
	"usage: kubuf [--device PATH] info [--json]\n"
	"Show every kubuf device: its node, the device it belongs to (a PCI\n"
	"function with its vendor:device ids, DMA mask and IOMMU group, a\n"
	"platform device, or none), its ABI version, features and limits.\n"
	"Devices are the misc devices named kubuf and kubuf-* whose node\n"
	"answers KUBUF_IOC_GET_INFO; one that cannot be opened is listed with\n"
	"the reason. With --device, that device only.\n"
	"\n"
	"  --json   a JSON array of one object per device\n"
	"\n"
	"Exit status: 0 when at least one device answered, 1 otherwise.\n";

/* One device's entry; 0 if it answered, else -errno (said in the entry). */
static int info_one(const struct kubuf_node *n, int json)
{
	const char *what = "cannot open", *hint;
	struct kubuf_info info;
	struct kubuf *k;
	int ret;

	ret = kubuf_open(n->path, KUBUF_OPEN_RDONLY, &k);
	hint = open_hint(ret);
	if (!ret) {
		what = "not a kubuf device: GET_INFO";
		ret = kubuf_get_info(k, &info);
		kubuf_close(k);
	}
	if (json) {
		printf("{");
		node_print(n, 1);
		if (!ret) {
			printf(", ");
			print_info(&info, 1);
		} else {
			printf(", \"error\": \"%s: %s\"", what, strerror(-ret));
		}
		printf("}");
		return ret;
	}
	printf("kubuf device %s\n", n->path);
	node_print(n, 0);
	if (!ret)
		print_info(&info, 0);
	else
		printf("  %s: %s%s%s\n", what, strerror(-ret),
		       *hint ? ": " : "", hint);
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	struct kubuf_node *nodes, one;
	size_t i, nr;
	int json, ret, answered = 0;

	ret = parse_simple_opts(argc, argv, info_usage, &json);
	if (ret)
		return ret < 0 ? 2 : 0;
	if (dev_path) {
		node_of_path(dev_path, &one);	/* what sysfs knows, if any */
		nodes = &one;
		nr = 1;
	} else {
		ret = nodes_find(&nodes, &nr);
		if (ret) {
			fprintf(stderr, "kubuf: cannot list /sys/class/misc: %s\n",
				strerror(-ret));
			return 1;
		}
		if (!nr) {
			fprintf(stderr,
				"kubuf: no kubuf device found: is the module loaded?\n"
				"       (modprobe kubuf, or a driver such as kubuf_edu)\n");
			return 1;
		}
	}
	if (json)
		printf("[");
	for (i = 0; i < nr; i++) {
		if (i)
			printf(json ? ", " : "\n");
		if (!info_one(&nodes[i], json))
			answered++;
	}
	if (json)
		printf("]\n");
	if (nodes != &one)
		free(nodes);
	return answered ? 0 : 1;
}

static const char stat_usage[] =
	"usage: kubuf stat [--json]\n"
	"Show the module-wide counters (open files, buffers, pages, mappings,\n"
	"eventfd references). This command's own open file counts as one.\n";

static int cmd_stat(int argc, char **argv)
{
	struct kubuf_stats st;
	struct kubuf *k;
	int json, ret;

	ret = parse_simple_opts(argc, argv, stat_usage, &json);
	if (ret)
		return ret < 0 ? 2 : 0;
	if (open_dev(KUBUF_OPEN_RDONLY, &k))
		return 1;
	ret = kubuf_get_stats(k, &st);
	kubuf_close(k);
	if (ret) {
		fprintf(stderr, "kubuf: GET_STATS failed: %s\n", strerror(-ret));
		return 1;
	}
	print_stats(&st, json);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "info", "list kubuf devices: parent, ABI, features, limits", cmd_info,
	  info_usage },
	{ "stat", "show the module's counters", cmd_stat, stat_usage },
	{ "demo", "a guided walk through kubuf", cmd_demo, demo_usage },
	{ "stream", "stream records through a ring and check them", cmd_stream,
	  stream_usage },
	{ "help", "show help for a command", cmd_help, NULL },
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: kubuf [--device PATH] COMMAND [ARGS]\n"
		   "       kubuf --version\n\n"
		   "Commands:\n");
	for (i = 0; i < NR_CMDS; i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nRun 'kubuf COMMAND --help' for a command's options.\n");
}

static int cmd_help(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < NR_CMDS; i++) {
		if (!strcmp(argv[1], cmds[i].name) && cmds[i].usage) {
			printf("%s", cmds[i].usage);
			return 0;
		}
	}
	fprintf(stderr, "kubuf: no command '%s'\n", argv[1]);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	size_t i;
	int c;

	/* "+": options up to the command; the rest are the command's. */
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dev_path = optarg;
			break;
		case 'V':
			printf("kubuf %s\n", KUBUF_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "kubuf: %s needs a value\n\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		default:
			fprintf(stderr, "kubuf: unknown option '%s'\n\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < NR_CMDS; i++)
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].run(argc, argv);
	fprintf(stderr, "kubuf: unknown command '%s'\n\n", argv[0]);
	usage(stderr);
	return 2;
}
