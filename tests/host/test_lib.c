// SPDX-License-Identifier: MIT
/*
 * Host unit tests of libkubuf's pure helpers (no kernel needed), built
 * with ASan and UBSan.
 */
#include <stddef.h>
#include <sys/mman.h>

#include "harness.h"
#include "kubuf.h"

KT_CASE(parse_size_plain)
{
	uint64_t v = 1;

	KT_ASSERT_EQ(kubuf_parse_size("0", &v), 0);
	KT_ASSERT_EQ(v, 0);
	KT_ASSERT_EQ(kubuf_parse_size("4096", &v), 0);
	KT_ASSERT_EQ(v, 4096);
	KT_ASSERT_EQ(kubuf_parse_size("18446744073709551615", &v), 0);
	KT_ASSERT(v == UINT64_MAX);
}

KT_CASE(parse_size_suffixes)
{
	uint64_t v;

	KT_ASSERT_EQ(kubuf_parse_size("4k", &v), 0);
	KT_ASSERT_EQ(v, 4096);
	KT_ASSERT_EQ(kubuf_parse_size("64K", &v), 0);
	KT_ASSERT_EQ(v, 65536);
	KT_ASSERT_EQ(kubuf_parse_size("16M", &v), 0);
	KT_ASSERT_EQ(v, 16 << 20);
	KT_ASSERT_EQ(kubuf_parse_size("3G", &v), 0);
	KT_ASSERT_EQ(v, 3ULL << 30);
}

KT_CASE(parse_size_malformed)
{
	uint64_t v = 7;

	KT_LIBERR(kubuf_parse_size(NULL, &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("K", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("-1", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size(" 1", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("1 ", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("1KB", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("1T", &v), EINVAL);
	KT_LIBERR(kubuf_parse_size("0x10", &v), EINVAL);
	KT_ASSERT_EQ(v, 7);
}

KT_CASE(parse_size_overflow)
{
	uint64_t v = 7;

	KT_LIBERR(kubuf_parse_size("18446744073709551616", &v), ERANGE);
	KT_LIBERR(kubuf_parse_size("99999999999999999999999", &v), ERANGE);
	KT_LIBERR(kubuf_parse_size("17179869184G", &v), ERANGE);
	KT_LIBERR(kubuf_parse_size("18014398509481984K", &v), ERANGE);
	KT_ASSERT_EQ(kubuf_parse_size("17179869183G", &v), 0);
	KT_ASSERT(v == 17179869183ULL << 30);
}

KT_CASE(stat_names)
{
	unsigned int i, j;

	for (i = 0; i < KUBUF_STAT_NR; i++) {
		KT_ASSERT(kubuf_stat_name(i) != NULL);
		for (j = 0; j < i; j++)
			KT_ASSERT(strcmp(kubuf_stat_name(i),
					 kubuf_stat_name(j)) != 0);
	}
	KT_ASSERT(kubuf_stat_name(KUBUF_STAT_NR) == NULL);
	KT_ASSERT(kubuf_stat_name(~0U) == NULL);
}

KT_CASE(feature_names)
{
	unsigned int bit;

	KT_ASSERT(!strcmp(kubuf_feature_name(0), "stats"));
	KT_ASSERT(!strcmp(kubuf_feature_name(8), "device"));
	KT_ASSERT(!strcmp(kubuf_feature_name(9), "ring"));
	KT_ASSERT(!strcmp(kubuf_feature_name(10), "stream"));
	for (bit = 11; bit < 64; bit++)
		KT_ASSERT(kubuf_feature_name(bit) == NULL);
	KT_ASSERT(kubuf_feature_name(~0U) == NULL);
}

/* The ABI's layout, field by field: a change here breaks applications. */
KT_CASE(abi_layout)
{
	KT_ASSERT_EQ(offsetof(struct kubuf_info, features), 8);
	KT_ASSERT_EQ(offsetof(struct kubuf_info, max_ubuf_size), 24);
	KT_ASSERT_EQ(offsetof(struct kubuf_info, nr_stats), 40);
	/* The per-user limits took the first half of what was reserved. */
	KT_ASSERT_EQ(offsetof(struct kubuf_info, user_files), 48);
	KT_ASSERT_EQ(offsetof(struct kubuf_info, user_kbuf_pages), 60);
	KT_ASSERT_EQ(offsetof(struct kubuf_info, reserved), 64);
	KT_ASSERT_EQ(offsetof(struct kubuf_kbuf_alloc, reserved0), 32);
	KT_ASSERT_EQ(offsetof(struct kubuf_stats, counters), 8);
	KT_ASSERT_EQ(_IOC_SIZE(KUBUF_IOC_GET_INFO), sizeof(struct kubuf_info));
	KT_ASSERT_EQ(_IOC_NR(KUBUF_IOC_GET_STATS), 1);
	KT_ASSERT_EQ(_IOC_TYPE(KUBUF_IOC_GET_STATS), KUBUF_IOC_MAGIC);
}

/* kubuf_open of a missing device: -ENOENT, and nothing leaks (LSan). */
KT_CASE(open_missing_device)
{
	struct kubuf *k = NULL;

	KT_LIBERR(kubuf_open("/nonexistent/kubuf", 0, &k), ENOENT);
	KT_ASSERT(k == NULL);
	KT_LIBERR(kubuf_open(NULL, ~0U, &k), EINVAL);
	KT_LIBERR(kubuf_open(NULL, 2, &k), EINVAL);
}

/* The kbuf calls pass the kernel's errno through; bad offsets stay home. */
KT_CASE(kbuf_not_a_device)
{
	struct kubuf *k = NULL;
	uint64_t off = 1;
	uint32_t id = 1;
	void *p = NULL;

	KT_ASSERT_EQ(kubuf_open("/dev/null", 0, &k), 0);
	KT_LIBERR(kubuf_kbuf_alloc(k, 4096, KUBUF_KBUF_PAGES,
				   KUBUF_CACHE_CACHED, 0, &id, &off), ENOTTY);
	KT_ASSERT_EQ(id, 1);
	KT_ASSERT_EQ(off, 1);
	KT_LIBERR(kubuf_kbuf_free(k, 1), ENOTTY);
	KT_LIBERR(kubuf_kbuf_map(k, 1, 1ULL << 28, 4096, PROT_READ, &p),
		  EINVAL);
	KT_ASSERT(p == NULL);
	KT_LIBERR(kubuf_kbuf_unmap((void *)1, 1), EINVAL);
	kubuf_close(k);
}

KT_MAIN()
