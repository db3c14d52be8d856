// SPDX-License-Identifier: MIT
/*
 * A program built against an installed libkubuf, as an application is:
 *
 *	cc -o example example.c $(pkg-config --cflags --libs kubuf)
 *
 * It opens the device and prints its ABI version and features. Without
 * the module loaded it says so: the install test runs it that way, to
 * check that it links and starts.
 */
#include <stdio.h>
#include <string.h>

#include <kubuf.h>

int main(int argc, char **argv)
{
	struct kubuf_info info;
	struct kubuf *k;
	unsigned int bit;
	int ret;

	ret = kubuf_open(argc > 1 ? argv[1] : NULL, KUBUF_OPEN_RDONLY, &k);
	if (ret) {
		printf("no device: %s\n", strerror(-ret));
		return 0;
	}
	ret = kubuf_get_info(k, &info);
	kubuf_close(k);
	if (ret) {
		fprintf(stderr, "GET_INFO: %s\n", strerror(-ret));
		return 1;
	}
	printf("ABI %u, features:", info.abi_version);
	for (bit = 0; bit < 64; bit++)
		if (info.features & (1ULL << bit))
			printf(" %s", kubuf_feature_name(bit) ?: "?");
	printf("\n");
	return 0;
}
