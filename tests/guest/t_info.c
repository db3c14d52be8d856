// SPDX-License-Identifier: MIT
/*
 * KUBUF_IOC_GET_INFO and KUBUF_IOC_GET_STATS: values, every output byte
 * defined, every errno path.
 */
#include <stddef.h>
#include <sys/mman.h>

#include "harness.h"

/* A kernel address: copy_{to,from}_user must refuse it. */
#define KERNEL_PTR ((void *)0xffff888000000000UL)

/* Two pages, the second unmapped: returns a pointer @len before its start. */
static void *straddle(size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KT_ASSERT(p != MAP_FAILED);
	KT_OK(munmap(p + pg, pg));
	return p + pg - len;
}

KT_CASE(info_values)
{
	struct kubuf_info in;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	kt_poison(&in, sizeof(in));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ASSERT_EQ(in.abi_version, KUBUF_ABI_VERSION);
	KT_ASSERT_EQ(in.page_size, sysconf(_SC_PAGESIZE));
	KT_ASSERT(in.features & KUBUF_FEAT_STATS);
	KT_ASSERT(in.max_ubufs > 0 && in.max_ubufs < 1U << 20);
	KT_ASSERT(in.max_kbufs > 0 && in.max_kbufs < 1U << 20);
	KT_ASSERT(in.max_ubuf_size >= in.page_size);
	KT_ASSERT(in.max_kbuf_size >= in.page_size);
	KT_ASSERT_EQ(in.nr_stats, KUBUF_STAT_NR);
	close(fd);
}

static unsigned long param(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/module/kubuf_core/parameters/%s", name);
	KT_OK(kt_read_file(path, buf, sizeof(buf)));
	return strtoul(buf, NULL, 10);
}

/* The per-user limits are the module parameters, read at each call. */
KT_CASE(info_user_limits)
{
	struct kubuf_info in;
	char old[32];
	int fd = KT_OK(kt_open_dev(O_RDONLY));

	kt_poison(&in, sizeof(in));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ASSERT_EQ(in.user_files, param("max_user_files"));
	KT_ASSERT_EQ(in.user_rings, param("max_user_rings"));
	KT_ASSERT_EQ(in.user_cmds, param("max_user_cmds"));
	KT_ASSERT_EQ(in.user_kbuf_pages,
		     param("max_user_kbuf_mb") * (1 << 20) / in.page_size);
	KT_ASSERT(in.user_files >= 1 && in.user_rings >= 1 &&
		  in.user_cmds >= 1 && in.user_kbuf_pages >= 1);

	/* Root changes one: the next call says so. */
	KT_OK(kt_read_file("/sys/module/kubuf_core/parameters/max_user_rings", old,
			   sizeof(old)));
	KT_OK(kt_write_file("/sys/module/kubuf_core/parameters/max_user_rings", "3"));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ASSERT_EQ(in.user_rings, 3);
	KT_OK(kt_write_file("/sys/module/kubuf_core/parameters/max_user_rings", old));
	close(fd);
}

/* Every byte, reserved and padding included, is written by the module. */
KT_CASE(info_no_poison_left)
{
	struct kubuf_info in;
	size_t i;
	int fd = KT_OK(kt_open_dev(O_RDWR));

	kt_poison(&in, sizeof(in));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	for (i = 0; i < sizeof(in.reserved) / sizeof(in.reserved[0]); i++)
		KT_ASSERT_EQ(in.reserved[i], 0);
	/* No field may still hold the poison word. */
	for (i = 0; i + 4 <= sizeof(in); i += 4) {
		uint32_t w;

		memcpy(&w, (char *)&in + i, 4);
		KT_ASSERT(w != 0xA5A5A5A5U);
	}
	close(fd);
}

KT_CASE(info_readonly_fd)
{
	struct kubuf_info in;
	int fd = KT_OK(kt_open_dev(O_RDONLY));

	kt_poison(&in, sizeof(in));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_INFO, &in));
	KT_ASSERT_EQ(in.abi_version, KUBUF_ABI_VERSION);
	close(fd);
}

KT_CASE(info_efault_null)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_INFO, NULL), EFAULT);
	close(fd);
}

KT_CASE(info_efault_kernel_ptr)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));

	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_INFO, KERNEL_PTR), EFAULT);
	close(fd);
}

KT_CASE(info_efault_unmapped)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char *p = straddle(0);

	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_INFO, p), EFAULT);
	close(fd);
}

KT_CASE(info_efault_straddle)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	void *p = straddle(sizeof(struct kubuf_info) / 2);

	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_INFO, p), EFAULT);
	close(fd);
}

KT_CASE(stats_values)
{
	struct kubuf_stats st;
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	size_t i;

	kt_poison(&st, sizeof(st));
	st.flags = 0;
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	KT_ASSERT_EQ(st.flags, 0);
	KT_ASSERT_EQ(st.nr_counters, KUBUF_STAT_NR);
	KT_ASSERT(st.counters[KUBUF_STAT_OPEN_FILES] >= 1);
	for (i = KUBUF_STAT_NR; i < KUBUF_STATS_MAX; i++)
		KT_ASSERT_EQ(st.counters[i], 0);
	for (i = 0; i < KUBUF_STAT_NR; i++)
		KT_ASSERT(st.counters[i] != 0xA5A5A5A5A5A5A5A5ULL);
	close(fd);
}

/* Each flag bit alone, then all of them: -EINVAL, and nothing written. */
KT_CASE(stats_flags_einval)
{
	struct kubuf_stats st;
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		kt_poison(&st, sizeof(st));
		st.flags = 1U << bit;
		KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, &st), EINVAL);
		KT_ASSERT_EQ(st.nr_counters, 0xA5A5A5A5U);
	}
	st.flags = ~0U;
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, &st), EINVAL);
	close(fd);
}

KT_CASE(stats_efault)
{
	int fd = KT_OK(kt_open_dev(O_RDONLY));

	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, NULL), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, KERNEL_PTR), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, straddle(0)), EFAULT);
	KT_ERRNO(ioctl(fd, KUBUF_IOC_GET_STATS, straddle(8)), EFAULT);
	close(fd);
}

/* Counters track open files exactly: dup shares, open adds. */
KT_CASE(stats_count_open_files)
{
	struct kubuf_stats st;
	int fd = KT_OK(kt_open_dev(O_RDONLY));
	uint64_t base;
	int fd2, fd3;

	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	base = st.counters[KUBUF_STAT_OPEN_FILES];

	fd2 = KT_OK(kt_open_dev(O_RDWR));
	fd3 = KT_OK(dup(fd2));
	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	KT_ASSERT_EQ(st.counters[KUBUF_STAT_OPEN_FILES], base + 1);
	close(fd2);
	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	KT_ASSERT_EQ(st.counters[KUBUF_STAT_OPEN_FILES], base + 1);
	close(fd3);
	memset(&st, 0, sizeof(st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, &st));
	KT_ASSERT_EQ(st.counters[KUBUF_STAT_OPEN_FILES], base);
	close(fd);
}

KT_MAIN()
