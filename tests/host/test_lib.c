// SPDX-License-Identifier: MIT
/*
 * Host unit tests of libkubuf's pure helpers (no kernel needed), built
 * with ASan and UBSan.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "harness.h"
#include "kubuf.h"

/*
 * The header's version, the library's and the build's (the Makefile's
 * VERSION, as KUBUF_VERSION) are one: a release that bumps one and not
 * the others fails here.
 */
KT_CASE(version)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", KUBUF_LIB_MAJOR,
		 KUBUF_LIB_MINOR, KUBUF_LIB_PATCH);
	KT_ASSERT_EQ(strcmp(kubuf_version_string(), want), 0);
	KT_ASSERT_EQ(strcmp(KUBUF_VERSION, want), 0);
	KT_ASSERT_EQ(kubuf_version(), KUBUF_LIB_VERSION);
	KT_ASSERT_EQ(KUBUF_LIB_VERSION_CODE(1, 2, 3), 0x10203);
	KT_ASSERT(KUBUF_LIB_VERSION >= KUBUF_LIB_VERSION_CODE(0, 1, 0));
}

/*
 * Options carry their size: none, or too small, is -EINVAL before
 * anything else is looked at; a larger structure's unknown fields must
 * be zero.
 */
KT_CASE(ring_opts_size)
{
	KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .data_size = 4096);
	struct kubuf_ring *r = NULL;
	struct {
		struct kubuf_ring_opts o;
		uint32_t more;
	} big __attribute__((aligned(64)));

	KT_ASSERT_EQ(o.sz, sizeof(struct kubuf_ring_opts));
	o.sz = 0;
	KT_LIBERR(kubuf_ring_attach(NULL, &big, &o, &r), EINVAL);
	KT_LIBERR(kubuf_ring_create(NULL, &o, &r), EINVAL);
	o.sz = offsetof(struct kubuf_ring_opts, reply_ring);
	KT_LIBERR(kubuf_ring_attach(NULL, &big, &o, &r), EINVAL);
	memset(&big, 0, sizeof(big));
	big.o = o;
	big.o.sz = sizeof(big);
	big.more = 1;
	KT_LIBERR(kubuf_ring_attach(NULL, &big, &big.o, &r), EOPNOTSUPP);
	KT_LIBERR(kubuf_ring_create(NULL, &big.o, &r), EOPNOTSUPP);
	KT_LIBERR(kubuf_ring_attach(NULL, &big, NULL, &r), EINVAL);
	/* A ring the library would see misaligned. */
	big.o.sz = sizeof(big.o);
	KT_LIBERR(kubuf_ring_attach(NULL, (char *)&big + 8, &big.o, &r),
		  EINVAL);
	KT_ASSERT(r == NULL);
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
	KT_ASSERT(!strcmp(kubuf_feature_name(11), "stream-bare"));
	for (bit = 12; bit < 64; bit++)
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
