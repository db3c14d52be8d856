// SPDX-License-Identifier: MIT
/*
 * kcheck - verify that kubuf holds nothing: run by the guest runner after
 * every test.
 *
 *   kcheck            the core module is held by its clients only, and
 *                     every counter is 0 (open_files and users 1:
 *                     kcheck's own)
 *   kcheck --pins     print nr_foll_pin_acquired - nr_foll_pin_released,
 *                     after folding the per-cpu counters into them
 *
 * Releases can lag a test's exit by a moment (the last fput of a dying
 * process, deferred work), so the check retries for up to two seconds
 * before it reports a leak.
 */
#include <dirent.h>
#include <time.h>

#include "harness.h"
#include "kubuf.h"

static long read_long_file(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Modules using the core: each holds a reference on it. */
static long holders(void)
{
	DIR *d = opendir("/sys/module/kubuf_core/holders");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Returns a description of the first leak, or NULL if all is clean. */
static const char *check(char *msg, size_t len)
{
	struct kubuf_stats st;
	long ref;
	int fd, i;

	/* The core's clients (kubuf) each hold one reference; files none. */
	ref = read_long_file("/sys/module/kubuf_core/refcnt");
	if (ref != holders()) {
		snprintf(msg, len, "core module refcnt %ld, want %ld (clients)",
			 ref, holders());
		return msg;
	}
	fd = kt_open_dev(O_RDONLY);
	if (fd < 0) {
		snprintf(msg, len, "cannot open /dev/kubuf: %s", strerror(errno));
		return msg;
	}
	memset(&st, 0, sizeof(st));
	if (ioctl(fd, KUBUF_IOC_GET_STATS, &st) < 0) {
		snprintf(msg, len, "GET_STATS: %s", strerror(errno));
		close(fd);
		return msg;
	}
	close(fd);
	for (i = 0; i < KUBUF_STAT_NR; i++) {
		/* kcheck's own file, and its user. */
		uint64_t want = i == KUBUF_STAT_OPEN_FILES ||
				i == KUBUF_STAT_USERS ? 1 : 0;

		if (st.counters[i] != want) {
			snprintf(msg, len, "counter %s is %llu, want %llu",
				 kubuf_stat_name(i), (unsigned long long)st.counters[i],
				 (unsigned long long)want);
			return msg;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char msg[256];
	const char *err = NULL;
	int tries;

	if (argc == 2 && !strcmp(argv[1], "--pins")) {
		printf("%lld\n", kt_pinned_pages());
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: kcheck [--pins]\n");
		return 2;
	}
	for (tries = 0; tries < 100; tries++) {
		err = check(msg, sizeof(msg));
		if (!err)
			return 0;
		kt_msleep(20);
	}
	printf("%s\n", err);
	return 1;
}
