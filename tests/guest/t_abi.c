// SPDX-License-Identifier: MIT
/*
 * Malformed ioctls: every command the module does not define fails with
 * -ENOTTY and changes nothing.
 */
#include "harness.h"

static int nr_defined(unsigned int nr)
{
	for (size_t i = 0; i < KT_NR_DEFINED_CMDS; i++)
		if (_IOC_NR(kt_defined_cmds[i]) == nr)
			return 1;
	return 0;
}

static void snapshot(int fd, struct kubuf_stats *st)
{
	memset(st, 0, sizeof(*st));
	KT_OK(ioctl(fd, KUBUF_IOC_GET_STATS, st));
}

static void expect_enotty(int fd, unsigned long cmd)
{
	char buf[512];

	kt_poison(buf, sizeof(buf));
	errno = 0;
	if (ioctl(fd, cmd, buf) != -1 || errno != ENOTTY)
		kt_fail(__FILE__, __LINE__, "ioctl 0x%lx: want ENOTTY", cmd);
	/* Nothing may have been written to the argument. */
	for (size_t i = 0; i < sizeof(buf); i++)
		if ((unsigned char)buf[i] != KT_POISON)
			kt_fail(__FILE__, __LINE__,
				"ioctl 0x%lx wrote byte %zu", cmd, i);
}

/* Every defined command with a wrong direction or size: -ENOTTY. */
KT_CASE(defined_cmds_mangled)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));

	for (size_t i = 0; i < KT_NR_DEFINED_CMDS; i++) {
		unsigned long c = kt_defined_cmds[i];
		unsigned int dir = _IOC_DIR(c), sz = _IOC_SIZE(c);
		unsigned int d;

		for (d = 0; d < 4; d++)
			if (d != dir)
				expect_enotty(fd, _IOC(d, KUBUF_IOC_MAGIC,
						       _IOC_NR(c), sz));
		expect_enotty(fd, _IOC(dir, KUBUF_IOC_MAGIC, _IOC_NR(c), sz - 1));
		expect_enotty(fd, _IOC(dir, KUBUF_IOC_MAGIC, _IOC_NR(c), sz + 8));
		expect_enotty(fd, _IOC(dir, KUBUF_IOC_MAGIC, _IOC_NR(c), 0));
	}
	close(fd);
}

KT_CASE(unknown_numbers)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	struct kubuf_stats before, after;
	unsigned int nr;

	snapshot(fd, &before);
	/* Every number of our magic the module does not define. */
	for (nr = 0x00; nr < 0x100; nr++) {
		if (nr_defined(nr))
			continue;
		expect_enotty(fd, _IO(KUBUF_IOC_MAGIC, nr));
		expect_enotty(fd, _IOR(KUBUF_IOC_MAGIC, nr, struct kubuf_info));
		expect_enotty(fd, _IOWR(KUBUF_IOC_MAGIC, nr, struct kubuf_stats));
	}
	expect_enotty(fd, 0);
	expect_enotty(fd, ~0UL);
	snapshot(fd, &after);
	KT_ASSERT(!memcmp(before.counters, after.counters,
			  sizeof(before.counters)));
	close(fd);
}

KT_CASE(wrong_magic)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	unsigned int magic;

	for (magic = 0; magic < 0x100; magic++) {
		if (magic == KUBUF_IOC_MAGIC)
			continue;
		expect_enotty(fd, _IOR(magic, 0x00, struct kubuf_info));
		expect_enotty(fd, _IOWR(magic, 0x01, struct kubuf_stats));
	}
	/* Generic tty and file ioctls are not ours either. */
	expect_enotty(fd, TCGETS);
	close(fd);
}

KT_CASE(wrong_direction)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));

	expect_enotty(fd, _IO(KUBUF_IOC_MAGIC, 0x00));
	expect_enotty(fd, _IOW(KUBUF_IOC_MAGIC, 0x00, struct kubuf_info));
	expect_enotty(fd, _IOWR(KUBUF_IOC_MAGIC, 0x00, struct kubuf_info));
	expect_enotty(fd, _IO(KUBUF_IOC_MAGIC, 0x01));
	expect_enotty(fd, _IOR(KUBUF_IOC_MAGIC, 0x01, struct kubuf_stats));
	expect_enotty(fd, _IOW(KUBUF_IOC_MAGIC, 0x01, struct kubuf_stats));
	close(fd);
}

KT_CASE(wrong_size)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	unsigned int sz;

	for (sz = 0; sz < 512; sz++) {
		if (sz != sizeof(struct kubuf_info))
			expect_enotty(fd, _IOC(_IOC_READ, KUBUF_IOC_MAGIC,
					       0x00, sz));
		if (sz != sizeof(struct kubuf_stats))
			expect_enotty(fd, _IOC(_IOC_READ | _IOC_WRITE,
					       KUBUF_IOC_MAGIC, 0x01, sz));
	}
	close(fd);
}

/* The device cannot be written or seeked. */
KT_CASE(no_write_no_seek)
{
	int fd = KT_OK(kt_open_dev(O_RDWR));
	char c = 0;

	KT_ERRNO(lseek(fd, 0, SEEK_SET), ESPIPE);
	KT_ERRNO(write(fd, &c, 1), EINVAL);
	close(fd);
}

KT_MAIN()
