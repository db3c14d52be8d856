// SPDX-License-Identifier: MIT
/*
 * Data the fuzzer can know: what the device writes and sums, through
 * registrations, driver buffers, read() and UCOPY, checked byte for byte.
 */
#include "fuzz.h"

/*
 * Each check works on a file of its own, opened for it and closed after,
 * and on W.scratch, which nothing else ever registers: nobody else can
 * write what it verifies.
 */
static void check_fail(const char *what, long ret)
{
	fuzz_fail("data check: %s: %s", what, ret < 0 ? strerror(errno) :
		  "wrong result");
}

/* Limits a check may meet: the machine's, the file's and the user's. */
static bool resource_errno(long ret)
{
	return ret < 0 && (errno == ENOMEM || errno == ENOSPC ||
			   errno == EBUSY || errno == EDQUOT ||
			   errno == EMFILE);
}

static long dev_cmd_on(int fd, uint32_t op, uint32_t kind, uint32_t id,
		       uint64_t len, uint32_t seed, uint64_t *result)
{
	return kt_dev_cmd(fd, op, 0, kind, id, len, seed, result);
}

/* Register, FILL, verify, write, CHECKSUM, verify, unregister. */
void op_check_ubuf(int op)
{
	size_t off = below(PG), len = 1 + below(32 * PG), i;
	uint32_t seed = rnd();
	char *buf = W.scratch;
	struct kubuf_ubuf_reg r;
	struct kubuf_id a;
	uint64_t sum;
	int fd = kt_open_dev(O_RDWR);
	struct log_ent *e = log_begin(op, "off %#zx len %#zx seed %#x", off,
				      len, seed);
	long ret;

	if (fd < 0 && !resource_errno(fd))
		check_fail("open", fd);
	ret = fd;
	if (fd < 0)
		goto out;
	memset(buf, 0x5a, off + len + PG);
	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)buf + off;
	r.len = len;
	r.access = RW;
	ret = ioctl(fd, KUBUF_IOC_UBUF_REGISTER, &r);
	if (resource_errno(ret))
		goto out;
	if (ret)
		check_fail("REGISTER", ret);
	ret = dev_cmd_on(fd, KUBUF_DEV_FILL, KUBUF_MEM_UBUF, r.id, len, seed,
			 NULL);
	if (resource_errno(ret))
		goto unreg;
	if (ret)
		check_fail("FILL", ret);
	if (kubuf_pattern_check(buf + off, len, seed, NULL))
		check_fail("FILL wrote the wrong bytes", 0);
	for (i = 0; i < off; i++)
		if (buf[i] != 0x5a)
			check_fail("FILL wrote before the range", 0);
	for (i = off + len; i < off + len + PG; i++)
		if (buf[i] != 0x5a)
			check_fail("FILL wrote after the range", 0);
	/* The application writes, the device reads. */
	buf[off + below(len)] ^= 0x81;
	ret = dev_cmd_on(fd, KUBUF_DEV_CHECKSUM, KUBUF_MEM_UBUF, r.id, len, 0,
			 &sum);
	if (resource_errno(ret))
		goto unreg;
	if (ret || sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, buf + off, len))
		check_fail("CHECKSUM", ret);
	__atomic_add_fetch(&shared->checks, 1, __ATOMIC_RELAXED);
unreg:
	memset(&a, 0, sizeof(a));
	a.id = r.id;
	if (ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &a))
		check_fail("UNREGISTER", -1);
	if (ioctl(fd, KUBUF_IOC_UBUF_UNREGISTER, &a) != -1 || errno != ENOENT)
		check_fail("second UNREGISTER is not ENOENT", 0);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	log_end(e, ret, errno);
	count(op, ret);
}

/*
 * A buffer of a random kind and cache mode: zeros when mapped; FILL seen
 * through the mapping; the application's writes seen by CHECKSUM; COPY
 * to a second buffer; FREE while mapped keeps the memory as it was.
 */
void op_check_kbuf(int op)
{
	bool dma = one_in(4), modes = W.info.features & KUBUF_FEAT_KBUF_WC;
	uint32_t cache = !dma && modes ? below(3) : 0, seed = rnd();
	size_t len = (1 + below(16)) * PG, i, res_len = 0;
	struct kubuf_kbuf_alloc a, b;
	struct kubuf_dev_cmd c;
	struct kubuf_id f;
	char *res = NULL, *at, *p = MAP_FAILED;
	uint64_t sum;
	int fd = kt_open_dev(O_RDWR);
	struct log_ent *e = log_begin(op, "%s cache %u len %#zx seed %#x",
				      dma ? "dma" : "pages", cache, len, seed);
	long ret;

	if (fd < 0 && !resource_errno(fd))
		check_fail("open", fd);
	ret = fd;
	if (fd < 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.size = len;
	a.kind = dma ? KUBUF_KBUF_DMA : KUBUF_KBUF_PAGES;
	a.cache = cache;
	a.flags = KUBUF_KBUF_APP_WRITE;
	b = a;
	b.cache = 0;
	ret = ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &a);
	if (!ret)
		ret = ioctl(fd, KUBUF_IOC_KBUF_ALLOC, &b);
	if (resource_errno(ret))
		goto out;
	if (ret)
		check_fail("ALLOC", ret);
	at = reserve(len, PG, &res, &res_len);
	if (at)
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fd, a.mmap_offset);
	if (p == MAP_FAILED) {
		if (errno == ENOMEM)
			goto out;
		check_fail("mmap", -1);
	}
	for (i = 0; i < len; i++)
		if (p[i])
			check_fail("a new buffer is not zero", 0);
	ret = dev_cmd_on(fd, KUBUF_DEV_FILL, KUBUF_MEM_KBUF, a.id, len, seed,
			 NULL);
	if (!ret && kubuf_pattern_check(p, len, seed, NULL))
		check_fail("FILL: the mapping shows other bytes", 0);
	if (!ret) {
		p[below(len)] ^= 0x42;
		ret = dev_cmd_on(fd, KUBUF_DEV_CHECKSUM, KUBUF_MEM_KBUF, a.id,
				 len, 0, &sum);
		if (!ret && sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len))
			check_fail("CHECKSUM of the application's writes", 0);
	}
	if (!ret) {
		memset(&c, 0, sizeof(c));
		c.op = KUBUF_DEV_COPY;
		c.kind = KUBUF_MEM_KBUF;
		c.id = b.id;
		c.src_kind = KUBUF_MEM_KBUF;
		c.src_id = a.id;
		c.len = len;
		ret = ioctl(fd, KUBUF_IOC_DEV_CMD, &c);
		if (!ret)
			ret = dev_cmd_on(fd, KUBUF_DEV_CHECKSUM, KUBUF_MEM_KBUF,
					 b.id, len, 0, &sum);
		if (!ret && sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len))
			check_fail("COPY", 0);
	}
	if (ret && !resource_errno(ret))
		check_fail("device command", ret);
	if (!ret)
		__atomic_add_fetch(&shared->checks, 1, __ATOMIC_RELAXED);
	sum = kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len);
	memset(&f, 0, sizeof(f));
	f.id = a.id;
	if (ioctl(fd, KUBUF_IOC_KBUF_FREE, &f))
		check_fail("FREE", -1);
	if (sum != kubuf_checksum(KUBUF_CHECKSUM_INIT, p, len))
		check_fail("FREE while mapped changed the memory", 0);
	ret = 0;
out:
	if (res)
		munmap(res, res_len);
	if (fd >= 0)
		close(fd);
	log_end(e, ret, errno);
	count(op, ret);
}

/* read() and UCOPY into the scratch memory: the pattern, exactly. */
void op_check_copy(int op)
{
	size_t len = 1 + below(one_in(4) ? (1 << 20) : 16 * PG);
	uint32_t seed = rnd();
	int i = slot_pick(), fd = fd_of(i);
	struct kubuf_ucopy u;
	struct log_ent *e;
	long ret;

	if (W.fds[i].mode == O_WRONLY)
		return;
	e = log_begin(op, "fd %d len %#zx seed %#x", fd, len, seed);
	ret = read(fd, W.scratch, len);
	if (ret != (long)len && !resource_errno(ret))
		check_fail("read", ret);
	if (ret == (long)len && kubuf_pattern_check(W.scratch, len, 0, NULL))
		check_fail("read: not the pattern", 0);
	memset(&u, 0, sizeof(u));
	u.op = KUBUF_UCOPY_FILL;
	u.addr = (uintptr_t)W.scratch;
	u.len = len;
	u.seed = seed;
	ret = ioctl(fd, KUBUF_IOC_UCOPY, &u);
	if (ret && !resource_errno(ret))
		check_fail("UCOPY FILL", ret);
	if (!ret && kubuf_pattern_check(W.scratch, len, seed, NULL))
		check_fail("UCOPY FILL: not the pattern", 0);
	W.scratch[below(len)] ^= 0x18;
	u.op = KUBUF_UCOPY_CHECKSUM;
	u.seed = 0;
	ret = ioctl(fd, KUBUF_IOC_UCOPY, &u);
	if (ret && !resource_errno(ret))
		check_fail("UCOPY CHECKSUM", ret);
	if (!ret && u.result != kubuf_checksum(KUBUF_CHECKSUM_INIT, W.scratch,
					       len))
		check_fail("UCOPY CHECKSUM: wrong sum", 0);
	if (!ret)
		__atomic_add_fetch(&shared->checks, 1, __ATOMIC_RELAXED);
	log_end(e, ret, errno);
	count(op, ret);
}
