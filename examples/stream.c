// SPDX-License-Identifier: MIT
/*
 * The simulated device streams records into a ring in shared memory;
 * this program checks every one. Build it against an installed libkubuf,
 * and run it with the module loaded:
 *
 *	cc -o kubuf-example stream.c $(pkg-config --cflags --libs kubuf)
 *	./kubuf-example [RECORDS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kubuf.h>

/* Each record, in place in the shared ring: check its every byte. */
static int on_record(void *arg, const struct kubuf_rec *rec,
		     const void *payload)
{
	return kubuf_stream_verify(arg, rec, payload);	/* -EBADMSG stops */
}

int main(int argc, char **argv)
{
	uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 0) : 100000;
	KUBUF_RING_OPTS(o, .dir = KUBUF_RING_TO_APP, .kind = KUBUF_MEM_KBUF,
			.data_size = 256 << 10, .wake_records = 256);
	struct kubuf_stream s = {
		.flags = KUBUF_STREAM_LOSSLESS, .rec_size = 64, .seed = 42,
		.count = count,
	};
	struct kubuf_stream_check check;
	struct kubuf_ring_counters c;
	struct kubuf_ring *r;
	struct kubuf *k;
	int n;

	n = kubuf_open(NULL, 0, &k);		/* /dev/kubuf */
	if (n) {
		fprintf(stderr, "kubuf: %s\n", strerror(-n));
		return 1;
	}
	n = kubuf_ring_create(k, &o, &r);	/* memory, mapped, attached */
	if (!n) {
		kubuf_stream_check_init(&check, s.seed, s.rec_size);
		n = kubuf_stream_start(r, &s);
		while (n >= 0 && check.next_seq < count) {
			/* Takes what is there: no system call. */
			n = kubuf_ring_consume(r, on_record, &check, 0);
			/* Nothing there: sleep in one epoll_wait(). */
			if (n == 0)
				n = kubuf_ring_wait(r, 1000);
			if (n == -EINTR)	/* a signal handler ran */
				n = 0;
		}
		kubuf_ring_counters(r, &c);
		printf("%llu records checked, %llu corrupt; %llu system calls\n",
		       (unsigned long long)check.records,
		       (unsigned long long)check.corrupt,
		       (unsigned long long)c.syscalls);
		kubuf_ring_detach(r);		/* and its memory */
	}
	kubuf_close(k);
	if (n < 0) {
		fprintf(stderr, "kubuf: %s\n", strerror(-n));
		return 1;
	}
	return 0;
}
