// SPDX-License-Identifier: MIT
/*
 * kubuf stream - the simulated device streams records into a shared ring;
 * the program checks every one and counts what it cost.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/* --- the stream command ---------------------------------------------------- */

const char stream_usage[] =
	"usage: kubuf stream [OPTIONS]\n"
	"The device streams records into a shared ring; every record's\n"
	"sequence number, checksum and data is checked, and the program counts\n"
	"the system calls and wakeups it took.\n"
	"\n"
	"  --size N          data bytes per record, 0 to 64K (default 64)\n"
	"  --rate R          records per second; 0: as fast as they are taken,\n"
	"                    which is always lossless (default 0)\n"
	"  --count N         records to stream; 0: until interrupted\n"
	"                    (default 1000000)\n"
	"  --kind ubuf|kbuf  the ring in a registration or a driver buffer\n"
	"                    (default kbuf)\n"
	"  --ring-size N     bytes of the ring's data area, a power of two\n"
	"                    (default: room for 2 x --wake-records records,\n"
	"                    4 at least, 256K to 4M)\n"
	"  --wake-records N  wake the program after N records (default 256)\n"
	"  --wake-usecs N    or once the oldest waited N microseconds\n"
	"                    (default 100000; 0: no time limit)\n"
	"  --busy-poll       never sleep: poll the ring (no wakeups)\n"
	"  --lossless        with --rate: the device waits for room instead\n"
	"                    of dropping records\n"
	"  --json            print the summary as JSON\n"
	"  --quiet           no progress line\n"
	"Sizes and counts take K, M, G (powers of 1024).\n"
	"\n"
	"Exit status: 0 when every record the device produced arrived once,\n"
	"in order and intact, and every missing sequence number is a record\n"
	"the device counted as dropped. Drops are not failures when the rate\n"
	"is fixed and not --lossless: the device drops what a full ring has\n"
	"no room for. 1 on a corrupt, lost or duplicated record, a lossless\n"
	"drop, or a broken ring; 2 on bad usage.\n";

/* The largest ring the program picks itself. */
#define STREAM_RING_DEFAULT_MAX	(4u << 20)

struct stream_opts {
	uint64_t size, rate, count, ring_size;
	uint64_t wake_records, wake_usecs;
	unsigned int kind;
	int busy_poll, lossless, json, quiet, ring_size_set;
};

struct stream_run {
	struct stream_opts o;
	struct kubuf_stream_check check;
	uint64_t first_bad;		/* sequence expected at the first bad one */
	uint64_t own_syscalls;		/* the program's, besides the library's */
	int progress;			/* show a progress line */
	double start, last_progress;
	uint64_t last_records;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A number of option --@name in [@min, @max]; -EINVAL, said, if it is not. */
static int opt_num(const char *name, const char *val, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	int ret = parse_size(val, out);

	if (ret == -EINVAL)
		return usage_error("stream",
				   "--%s %s: not a number (digits, then K, M or G)",
				   name, val);
	if (ret || *out < min || *out > max)
		return usage_error("stream",
				   "--%s %s: out of range, %llu to %llu", name, val,
				   (unsigned long long)min,
				   (unsigned long long)max);
	return 0;
}

/* 1 if --help was asked, 0, or -EINVAL. */
static int parse_stream_opts(int argc, char **argv, struct stream_opts *o)
{
	/* In the order of opts[], which names them in messages. */
	enum { SIZE = 256, RATE, COUNT, RING_SIZE, WAKE_RECORDS, WAKE_USECS,
	       KIND, BUSY_POLL, LOSSLESS, JSON, QUIET };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, SIZE },
		{ "rate", required_argument, NULL, RATE },
		{ "count", required_argument, NULL, COUNT },
		{ "ring-size", required_argument, NULL, RING_SIZE },
		{ "wake-records", required_argument, NULL, WAKE_RECORDS },
		{ "wake-usecs", required_argument, NULL, WAKE_USECS },
		{ "kind", required_argument, NULL, KIND },
		{ "busy-poll", no_argument, NULL, BUSY_POLL },
		{ "lossless", no_argument, NULL, LOSSLESS },
		{ "json", no_argument, NULL, JSON },
		{ "quiet", no_argument, NULL, QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t rec, want;
	int c, ret = 0;

	memset(o, 0, sizeof(*o));
	o->size = 64;
	o->count = 1000000;
	o->ring_size = 256 << 10;
	o->wake_records = 256;
	o->wake_usecs = 100000;
	o->kind = KUBUF_MEM_KBUF;
	optind = 0;
	while (!ret && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		const char *name = opts[c >= SIZE && c <= QUIET ? c - SIZE : 0].name;

		switch (c) {
		case SIZE:
			ret = opt_num(name, optarg, 0, KUBUF_STREAM_MAX_REC,
				      &o->size);
			break;
		case RATE:
			ret = opt_num(name, optarg, 0, KUBUF_STREAM_MAX_RATE,
				      &o->rate);
			break;
		case COUNT:
			ret = opt_num(name, optarg, 0, UINT64_MAX, &o->count);
			break;
		case RING_SIZE:
			ret = opt_num(name, optarg, KUBUF_RING_MIN_DATA,
				      KUBUF_RING_MAX_DATA, &o->ring_size);
			if (!ret && (o->ring_size & (o->ring_size - 1)))
				ret = usage_error("stream",
						  "--ring-size %s: not a power of two",
						  optarg);
			o->ring_size_set = 1;
			break;
		case WAKE_RECORDS:
			ret = opt_num(name, optarg, 1, UINT32_MAX,
				      &o->wake_records);
			break;
		case WAKE_USECS:
			ret = opt_num(name, optarg, 0, UINT32_MAX,
				      &o->wake_usecs);
			break;
		case KIND:
			if (!strcmp(optarg, "ubuf"))
				o->kind = KUBUF_MEM_UBUF;
			else if (!strcmp(optarg, "kbuf"))
				o->kind = KUBUF_MEM_KBUF;
			else
				ret = usage_error("stream",
						  "--kind %s: ubuf or kbuf", optarg);
			break;
		case BUSY_POLL:
			o->busy_poll = 1;
			break;
		case LOSSLESS:
			o->lossless = 1;
			break;
		case JSON:
			o->json = 1;
			break;
		case QUIET:
			o->quiet = 1;
			break;
		case 'h':
			printf("%s", stream_usage);
			return 1;
		case ':':
			ret = usage_error("stream",
					  "%s needs a value", argv[optind - 1]);
			break;
		default:
			ret = usage_error("stream",
					  "unknown option '%s'", argv[optind - 1]);
			break;
		}
	}
	if (ret)
		return ret;
	if (optind < argc)
		return usage_error("stream", "unexpected argument '%s'",
				   argv[optind]);
	if (!o->rate)
		o->lossless = 1;
	/*
	 * Unless the caller said otherwise: room for two batches, so the
	 * device fills one while the program takes the other, and for 4
	 * records at least, within 4 MiB (the default RLIMIT_MEMLOCK of a
	 * user registering it is 8 MiB).
	 */
	rec = kubuf_rec_size(sizeof(struct kubuf_stream_rec) + o->size);
	want = rec * (o->wake_records < 2 ? 4 : 2 * o->wake_records);
	if (want > STREAM_RING_DEFAULT_MAX)
		want = STREAM_RING_DEFAULT_MAX;
	while (!o->ring_size_set && o->ring_size < want)
		o->ring_size *= 2;
	return 0;
}

static int on_record(void *arg, const struct kubuf_rec *rec,
		     const void *payload)
{
	struct stream_run *s = arg;
	uint64_t expected = s->check.next_seq;

	if (kubuf_stream_verify(&s->check, rec, payload) &&
	    s->check.corrupt == 1)
		s->first_bad = expected;
	return 0;
}

static void show_progress(struct stream_run *s, int last)
{
	double t, dt;

	if (!s->progress)
		return;
	t = now_s();
	dt = t - s->start;
	if (!last && t - s->last_progress < 0.25)
		return;
	s->last_progress = t;
	s->own_syscalls++;	/* one write */
	fprintf(stderr, "\r  %llu records, %.1f MB/s, %llu missing%s",
		(unsigned long long)s->check.records,
		dt > 0 ? s->check.bytes / dt / 1e6 : 0.0,
		(unsigned long long)s->check.missing, last ? "\n" : "   ");
}

static const char *ring_err_name(unsigned int err)
{
	switch (err) {
	case KUBUF_RING_ERR_TAIL:
		return "tail outside [last tail, head]";
	case KUBUF_RING_ERR_HEAD:
		return "head outside [last head, tail + size]";
	case KUBUF_RING_ERR_REC:
		return "a record header is not valid";
	default:
		return "unknown";
	}
}

/*
 * Consume until the stream has ended (or was stopped on SIGINT) and the
 * ring is empty. 0, or -errno with the reason printed.
 */
static int stream_loop(struct stream_run *s, struct kubuf_ring *r)
{
	struct kubuf_ring_query q;
	int n, stopping = 0;

	for (;;) {
		n = kubuf_ring_consume(r, on_record, s, 0);
		if (n < 0)
			goto broken;
		if (s->o.count && s->check.next_seq >= s->o.count)
			break;		/* the last record is in */
		show_progress(s, 0);
		if (n > 0)
			continue;
		if (interrupted && !stopping) {
			stopping = 1;
			n = kubuf_stream_stop(r);
			if (n)
				goto failed;
		}
		n = kubuf_ring_wait(r, s->o.busy_poll ? 100 : 1000);
		if (n == -EINTR || n > 0)
			continue;
		if (n < 0)
			goto broken;
		/* Nothing came: a change of state, or a quiet stream. */
		n = kubuf_ring_query(r, &q);
		if (n)
			goto failed;
		if (q.state != KUBUF_RING_ACTIVE) {
			fprintf(stderr, "\nkubuf: the ring is %s (error %u)\n",
				q.state == KUBUF_RING_DEAD ? "dead" : "broken",
				q.error);
			return -EPIPE;
		}
		if (q.stream == KUBUF_STREAM_RUNNING)
			continue;
		/*
		 * Ended or stopped. STOP waits for the device's last burst
		 * to be published; then whatever is left is taken.
		 */
		n = kubuf_stream_stop(r);
		if (n)
			goto failed;
		n = kubuf_ring_consume(r, on_record, s, 0);
		if (n < 0)
			goto broken;
		break;
	}
	show_progress(s, 1);
	return 0;

broken:
	if (n == -EPROTO)
		fprintf(stderr, "\nkubuf: the device broke the ring: %s\n",
			ring_err_name(kubuf_ring_error(r)));
	else
		fprintf(stderr, "\nkubuf: waiting for records: %s\n",
			strerror(-n));
	return n;
failed:
	fprintf(stderr, "\nkubuf: stream: %s\n", strerror(-n));
	return n;
}

/* What the run cost and found, and whether that is a pass. */
static int stream_report(struct stream_run *s, struct kubuf_ring *r,
			 const struct kubuf_ring_query *q, double elapsed)
{
	const struct kubuf_stream_check *c = &s->check;
	struct kubuf_ring_counters rc;
	uint64_t seqs = q->records + q->dropped, syscalls, lost;
	double per = c->records ? 1.0 / c->records : 0.0;
	int ok;

	kubuf_ring_counters(r, &rc);
	syscalls = rc.syscalls + s->own_syscalls;
	/* Every sequence number given out: seen, or counted as dropped. */
	lost = seqs - c->records - q->dropped;
	ok = c->corrupt == 0 && c->records == q->records &&
	     c->missing + (seqs - c->next_seq) == q->dropped &&
	     !(s->o.lossless && q->dropped) &&
	     (interrupted || !s->o.count || seqs == s->o.count);

	if (s->o.json) {
		printf("{\"records\": %llu, \"bytes\": %llu, \"dropped\": %llu, "
		       "\"missing\": %llu, \"corrupt\": %llu, \"lost\": %lld, "
		       "\"syscalls\": %llu, \"syscalls_per_record\": %.6f, "
		       "\"library_syscalls\": %llu, \"waits\": %llu, "
		       "\"ioctls\": %llu, \"yields\": %llu, "
		       "\"wakeups\": %llu, \"device_wakeups\": %llu, "
		       "\"wakeups_per_record\": %.6f, \"room_kicks\": %llu, "
		       "\"room_wakeups\": %llu, \"elapsed_s\": %.3f, "
		       "\"mb_per_s\": %.3f, \"ok\": %s}\n",
		       (unsigned long long)c->records,
		       (unsigned long long)c->bytes,
		       (unsigned long long)q->dropped,
		       (unsigned long long)c->missing,
		       (unsigned long long)c->corrupt, (long long)lost,
		       (unsigned long long)syscalls, syscalls * per,
		       (unsigned long long)rc.syscalls,
		       (unsigned long long)rc.waits,
		       (unsigned long long)rc.ioctls,
		       (unsigned long long)rc.yields,
		       (unsigned long long)rc.wakeups,
		       (unsigned long long)q->wakeups, rc.wakeups * per,
		       (unsigned long long)rc.kicks,
		       (unsigned long long)q->room_wakeups,
		       elapsed, elapsed > 0 ? c->bytes / elapsed / 1e6 : 0.0,
		       ok ? "true" : "false");
		return ok ? 0 : 1;
	}
	printf("kubuf stream: %llu records of %llu bytes, %s ring of %llu KiB, %s",
	       (unsigned long long)c->records, (unsigned long long)s->o.size,
	       s->o.kind == KUBUF_MEM_UBUF ? "ubuf" : "kbuf",
	       (unsigned long long)s->o.ring_size >> 10,
	       s->o.lossless ? "lossless" : "may drop");
	if (s->o.busy_poll)
		printf(", busy-poll\n");
	else
		printf(", wake every %llu records or %llu us\n",
		       (unsigned long long)s->o.wake_records,
		       (unsigned long long)s->o.wake_usecs);
	printf("  records       %llu checked, %llu corrupt%s\n",
	       (unsigned long long)c->records, (unsigned long long)c->corrupt,
	       interrupted ? " (interrupted)" : "");
	if (c->corrupt)
		printf("                first bad record after sequence %llu\n",
		       (unsigned long long)s->first_bad);
	printf("  data          %llu bytes, %.1f MB/s\n",
	       (unsigned long long)c->bytes,
	       elapsed > 0 ? c->bytes / elapsed / 1e6 : 0.0);
	printf("  dropped       %llu by the device; %llu sequence numbers missing,"
	       " %lld lost\n", (unsigned long long)q->dropped,
	       (unsigned long long)(seqs - c->records), (long long)lost);
	printf("  system calls  %llu, %.6f per record (library %llu: %llu waits,"
	       " %llu ioctls, %llu yields; program %llu)\n",
	       (unsigned long long)syscalls, syscalls * per,
	       (unsigned long long)rc.syscalls, (unsigned long long)rc.waits,
	       (unsigned long long)rc.ioctls, (unsigned long long)rc.yields,
	       (unsigned long long)s->own_syscalls);
	printf("  wakeups       %llu, %.6f per record (the device sent %llu)\n",
	       (unsigned long long)rc.wakeups, rc.wakeups * per,
	       (unsigned long long)q->wakeups);
	if (s->o.lossless)
		printf("  room          %llu kicks to the device waiting for room"
		       " (%llu woke it)\n", (unsigned long long)rc.kicks,
		       (unsigned long long)q->room_wakeups);
	printf("  elapsed       %.2f s\n", elapsed);
	printf("  result        %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

int cmd_stream(int argc, char **argv)
{
	KUBUF_RING_OPTS(ro);
	struct kubuf_stream st = { 0 };
	struct stream_run s = { 0 };
	struct kubuf_ring_query q;
	struct sigaction sa = { 0 };
	struct kubuf_ring *r;
	struct kubuf *k;
	double elapsed;
	int ret, rc = 1;

	ret = parse_stream_opts(argc, argv, &s.o);
	if (ret)
		return ret < 0 ? 2 : 0;
	s.progress = !s.o.quiet && isatty(STDERR_FILENO);
	if (open_dev(0, &k))
		return 1;
	s.own_syscalls = 1;	/* open */

	ro.dir = KUBUF_RING_TO_APP;
	ro.kind = s.o.kind;
	ro.data_size = s.o.ring_size;
	if (s.o.busy_poll) {
		ro.flags = KUBUF_RING_BUSY_POLL;
	} else {
		ro.wake_records = s.o.wake_records;
		ro.wake_usecs = s.o.wake_usecs;
	}
	ret = kubuf_ring_create(k, &ro, &r);
	if (ret) {
		report_error("ring", ret);
		goto out_close;
	}

	sa.sa_handler = on_sigint;	/* no SA_RESTART: waits return */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s.own_syscalls += 2;

	kubuf_stream_check_init(&s.check, 0x6b627374, s.o.size);
	st.flags = s.o.lossless ? KUBUF_STREAM_LOSSLESS : 0;
	st.rec_size = s.o.size;
	st.seed = s.check.seed;
	st.rate = s.o.rate;
	st.count = s.o.count;
	s.start = s.last_progress = now_s();
	ret = kubuf_stream_start(r, &st);
	if (ret) {
		fprintf(stderr, "kubuf: stream start: %s\n", strerror(-ret));
		goto out_detach;
	}
	if (stream_loop(&s, r))
		goto out_detach;
	elapsed = now_s() - s.start;
	ret = kubuf_ring_query(r, &q);
	if (ret) {
		fprintf(stderr, "kubuf: ring query: %s\n", strerror(-ret));
		goto out_detach;
	}
	rc = stream_report(&s, r, &q, elapsed);

out_detach:
	kubuf_ring_detach(r);
out_close:
	kubuf_close(k);
	return rc;
}
