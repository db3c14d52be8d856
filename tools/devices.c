// SPDX-License-Identifier: MIT
/*
 * Finding kubuf devices, and what each one belongs to (sysfs).
 *
 * Every kubuf device is a misc device: /sys/class/misc/NAME, whose node
 * is /dev/NAME, and whose "device" link is the device its driver made it
 * for: the platform device of the simulated device (/dev/kubuf), a PCI
 * function for a driver of real hardware (/dev/kubuf-eduN), or nothing.
 * A misc device is a kubuf device when its node answers
 * KUBUF_IOC_GET_INFO; only the names "kubuf" and "kubuf-*" are asked,
 * because opening a misc device can have effects of its own (a watchdog
 * starts counting when it is opened).
 *
 * What is read of the parent: its bus and name; for PCI its vendor and
 * device ids and the width of its DMA mask; its IOMMU group and that
 * group's type (DMA, DMA-FQ: the IOMMU translates every DMA; identity:
 * it passes them through). Never an address of memory: the ABI gives
 * none, and none is looked for.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tool.h"

const char *dev_node(void)
{
	return dev_path ? dev_path : "/dev/" KUBUF_DEVICE_NAME;
}

/*
 * The last component of the path @dir/@link resolves to (sysfs links
 * name devices so), in @buf; @buf is left alone if there is none.
 */
static void link_name(const char *dir, const char *link, char *buf,
		      size_t len)
{
	char path[PATH_MAX], *real, *base;

	snprintf(path, sizeof(path), "%s/%s", dir, link);
	real = realpath(path, NULL);
	if (!real)
		return;
	base = strrchr(real, '/');
	snprintf(buf, len, "%s", base ? base + 1 : real);
	free(real);
}

/* The first line of @dir/@file, without its newline, or "". */
static void read_line(const char *dir, const char *file, char *buf,
		      size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The parent of the device whose sysfs directory is @dir; @n zeroed. */
static void node_read_parent(const char *dir, struct kubuf_node *n)
{
	char parent[PATH_MAX], *real, vendor[16], device[16], bits[16];
	char group[16] = "";

	n->iommu_group = -1;
	snprintf(parent, sizeof(parent), "%s/device", dir);
	real = realpath(parent, NULL);
	if (!real)
		return;		/* a device without a parent */
	snprintf(parent, sizeof(parent), "%s", real);
	free(real);
	link_name(dir, "device", n->parent, sizeof(n->parent));
	link_name(parent, "subsystem", n->bus, sizeof(n->bus));
	if (!strcmp(n->bus, "pci")) {
		read_line(parent, "vendor", vendor, sizeof(vendor));
		read_line(parent, "device", device, sizeof(device));
		snprintf(n->pci_id, sizeof(n->pci_id), "%04lx:%04lx",
			 strtoul(vendor, NULL, 16), strtoul(device, NULL, 16));
		read_line(parent, "dma_mask_bits", bits, sizeof(bits));
		n->dma_mask_bits = atoi(bits);
	}
	link_name(parent, "iommu_group", group, sizeof(group));
	if (group[0]) {
		n->iommu_group = atoi(group);
		read_line(parent, "iommu_group/type", n->iommu_type,
			  sizeof(n->iommu_type));
	}
}

int node_of_path(const char *path, struct kubuf_node *n)
{
	char dir[64];
	struct stat st;
	const char *base = strrchr(path, '/');

	memset(n, 0, sizeof(*n));
	n->iommu_group = -1;	/* until sysfs says */
	snprintf(n->path, sizeof(n->path), "%s", path);
	snprintf(n->name, sizeof(n->name), "%s", base ? base + 1 : path);
	if (stat(path, &st))
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	/* The device's own name is its sysfs directory's, whatever the path. */
	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	link_name(dir, ".", n->name, sizeof(n->name));
	node_read_parent(dir, n);
	return 0;
}

static int is_kubuf_name(const struct dirent *d)
{
	return !strcmp(d->d_name, KUBUF_DEVICE_NAME) ||
	       !strncmp(d->d_name, KUBUF_DEVICE_NAME "-",
			sizeof(KUBUF_DEVICE_NAME));
}

int nodes_find(struct kubuf_node **nodes, size_t *nr)
{
	struct kubuf_node *n = NULL;
	struct dirent **names;
	char dir[PATH_MAX];
	int i, count;

	/* kubuf, kubuf-edu0, kubuf-edu1, ..., kubuf-edu10 */
	count = scandir("/sys/class/misc", &names, is_kubuf_name, versionsort);
	if (count < 0)
		return -errno;
	if (count)
		n = calloc(count, sizeof(*n));
	for (i = 0; i < count; i++) {
		if (n) {
			snprintf(n[i].name, sizeof(n[i].name), "%s",
				 names[i]->d_name);
			snprintf(n[i].path, sizeof(n[i].path), "/dev/%s",
				 n[i].name);
			snprintf(dir, sizeof(dir), "/sys/class/misc/%s",
				 n[i].name);
			node_read_parent(dir, &n[i]);
		}
		free(names[i]);
	}
	free(names);
	if (count && !n)
		return -ENOMEM;
	*nodes = n;
	*nr = count;
	return 0;
}

/* @s as a JSON string. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The first fields of a JSON object: "node", "name", "parent". */
static void node_print_json(const struct kubuf_node *n)
{
	printf("\"node\": ");
	json_string(n->path);
	printf(", \"name\": ");
	json_string(n->name);
	printf(", \"parent\": ");
	if (!n->parent[0]) {
		printf("null");
		return;
	}
	printf("{\"name\": ");
	json_string(n->parent);
	printf(", \"bus\": ");
	json_string(n->bus);
	if (n->pci_id[0])
		printf(", \"pci_id\": \"%s\"", n->pci_id);
	if (n->dma_mask_bits)
		printf(", \"dma_mask_bits\": %d", n->dma_mask_bits);
	if (n->iommu_group >= 0) {
		printf(", \"iommu_group\": %d, \"iommu_type\": ",
		       n->iommu_group);
		json_string(n->iommu_type);
	}
	printf("}");
}

void node_print(const struct kubuf_node *n, int json)
{
	const char *sep = "";

	if (json) {
		node_print_json(n);
		return;
	}
	printf("  parent                 ");
	if (!n->parent[0])
		printf("none\n");
	else if (!strcmp(n->bus, "pci"))
		printf("PCI %s (%s)\n", n->parent, n->pci_id);
	else if (n->bus[0])
		printf("%s device %s\n", n->bus, n->parent);
	else
		printf("%s\n", n->parent);
	if (!n->dma_mask_bits && n->iommu_group < 0)
		return;
	printf("  DMA                    ");
	if (n->dma_mask_bits) {
		printf("%d-bit mask", n->dma_mask_bits);
		sep = ", ";
	}
	if (n->iommu_group >= 0)
		printf("%sIOMMU group %d (%s)\n", sep, n->iommu_group,
		       n->iommu_type[0] ? n->iommu_type : "type unknown");
	else
		printf("%sno IOMMU\n", sep);
}

int node_iommu_translates(const struct kubuf_node *n)
{
	/* "DMA" and "DMA-FQ" translate; "identity" and "blocked" do not. */
	return n->iommu_group >= 0 && !strncmp(n->iommu_type, "DMA", 3);
}
