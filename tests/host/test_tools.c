// SPDX-License-Identifier: MIT
/*
 * Host unit tests of the kubuf program's helpers that need no device
 * (tools/parse.c), built with ASan and UBSan.
 */
#include "harness.h"
#include "tool.h"

KT_CASE(parse_size_plain)
{
	uint64_t v = 1;

	KT_ASSERT_EQ(parse_size("0", &v), 0);
	KT_ASSERT_EQ(v, 0);
	KT_ASSERT_EQ(parse_size("4096", &v), 0);
	KT_ASSERT_EQ(v, 4096);
	KT_ASSERT_EQ(parse_size("18446744073709551615", &v), 0);
	KT_ASSERT(v == UINT64_MAX);
}

KT_CASE(parse_size_suffixes)
{
	uint64_t v;

	KT_ASSERT_EQ(parse_size("4k", &v), 0);
	KT_ASSERT_EQ(v, 4096);
	KT_ASSERT_EQ(parse_size("64K", &v), 0);
	KT_ASSERT_EQ(v, 65536);
	KT_ASSERT_EQ(parse_size("16M", &v), 0);
	KT_ASSERT_EQ(v, 16 << 20);
	KT_ASSERT_EQ(parse_size("3G", &v), 0);
	KT_ASSERT_EQ(v, 3ULL << 30);
}

KT_CASE(parse_size_malformed)
{
	uint64_t v = 7;

	KT_LIBERR(parse_size(NULL, &v), EINVAL);
	KT_LIBERR(parse_size("", &v), EINVAL);
	KT_LIBERR(parse_size("K", &v), EINVAL);
	KT_LIBERR(parse_size("-1", &v), EINVAL);
	KT_LIBERR(parse_size(" 1", &v), EINVAL);
	KT_LIBERR(parse_size("1 ", &v), EINVAL);
	KT_LIBERR(parse_size("1KB", &v), EINVAL);
	KT_LIBERR(parse_size("1T", &v), EINVAL);
	KT_LIBERR(parse_size("0x10", &v), EINVAL);
	KT_ASSERT_EQ(v, 7);
}

KT_CASE(parse_size_overflow)
{
	uint64_t v = 7;

	KT_LIBERR(parse_size("18446744073709551616", &v), ERANGE);
	KT_LIBERR(parse_size("99999999999999999999999", &v), ERANGE);
	KT_LIBERR(parse_size("17179869184G", &v), ERANGE);
	KT_LIBERR(parse_size("18014398509481984K", &v), ERANGE);
	KT_ASSERT_EQ(parse_size("17179869183G", &v), 0);
	KT_ASSERT(v == 17179869183ULL << 30);
}

KT_MAIN()
