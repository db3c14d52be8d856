// SPDX-License-Identifier: MIT
/*
 * Descriptors and ids: the device's files a worker holds (opened, closed,
 * dup'ed, sent to itself and its children with SCM_RIGHTS), the ids it
 * learned on each, and kubuf's ioctls where they do not belong.
 */
#include "fuzz.h"

/* The fds the poller threads look at: a copy they read without a lock. */
int poll_fds[MAX_FDS];

static void sync_poll_fds(void)
{
	int i;

	for (i = 0; i < MAX_FDS; i++)
		__atomic_store_n(&poll_fds[i], W.fds[i].live ? W.fds[i].fd : -1,
				 __ATOMIC_RELAXED);
}

/* --- descriptors and ids -------------------------------------------------- */

static int slot_add(int fd, int mode, bool is_shared)
{
	int i;

	for (i = 0; i < MAX_FDS; i++)
		if (!W.fds[i].live) {
			W.fds[i] = (struct fd_slot){ true, fd, mode, is_shared };
			sync_poll_fds();
			return i;
		}
	close(fd);
	return -1;
}

/* The file of slot @i is gone from it: so are the ids learned there. */
static void forget_ids(int i)
{
	int j;

	for (j = 0; j < MAX_IDS; j++) {
		if (W.ubufs[j].live && W.ubufs[j].fdi == i)
			W.ubufs[j].live = false;
		if (W.rings[j].live && W.rings[j].fdi == i)
			W.rings[j].live = false;
		if (W.kbufs[j].live && W.kbufs[j].fdi == i) {
			W.kbufs[j].live = false;
			W.kbuf_bytes -= W.kbufs[j].len;
		}
	}
}

static void slot_close(int i)
{
	close(W.fds[i].fd);
	W.fds[i].live = false;
	forget_ids(i);
	sync_poll_fds();
}

/* A slot, mostly one open for reading and writing. */
int slot_pick(void)
{
	int i, n = 0, pick = -1;

	for (i = 0; i < MAX_FDS; i++)
		if (W.fds[i].live && below(++n) == 0)
			pick = i;
	if (pick >= 0 && (W.fds[pick].mode == O_RDWR || one_in(8)))
		return pick;
	for (i = 0; i < MAX_FDS; i++)
		if (W.fds[i].live && W.fds[i].mode == O_RDWR)
			return i;
	i = kt_open_dev(O_RDWR);
	if (i >= 0)
		i = slot_add(i, O_RDWR, false);
	return i < 0 ? SPARE : i;
}

int fd_of(int slot)
{
	return W.fds[slot].fd;
}

struct id_ent *id_add(struct id_ent *tab, int fdi, uint32_t id)
{
	int i;

	for (i = 0; i < MAX_IDS; i++)
		if (!tab[i].live) {
			memset(&tab[i], 0, sizeof(tab[i]));
			tab[i].live = true;
			tab[i].fdi = fdi;
			tab[i].id = id;
			return &tab[i];
		}
	return NULL;
}

struct id_ent *id_pick(struct id_ent *tab)
{
	int i, n = 0;
	struct id_ent *pick = NULL;

	for (i = 0; i < MAX_IDS; i++)
		if (tab[i].live && below(++n) == 0)
			pick = &tab[i];
	return pick;
}

/* An id to name: a known one (maybe stale), or a guess. */
uint32_t id_guess(struct id_ent *tab, uint32_t max_seen, int *fdi)
{
	struct id_ent *e = one_in(5) ? NULL : id_pick(tab);

	if (e) {
		*fdi = e->fdi;
		return e->id;
	}
	*fdi = slot_pick();
	switch (below(4)) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)rnd();
	default:
		return 1 + below(max_seen + 2);
	}
}

void op_open(int op)
{
	static const int modes[] = { O_RDWR, O_RDWR, O_RDWR, O_RDONLY,
				     O_WRONLY };
	int mode = modes[below(5)];
	struct log_ent *e = log_begin(op, "%s", mode == O_RDWR ? "O_RDWR" :
				      mode == O_RDONLY ? "O_RDONLY" : "O_WRONLY");
	int fd = kt_open_dev(mode);

	expect(e, fd, E_OPEN);
	count(op, fd);
	if (fd >= 0)
		slot_add(fd, mode, false);
}

void op_close(int op)
{
	int i = slot_pick();
	struct log_ent *e;

	if (i == SPARE)
		return;
	e = log_begin(op, "fd %d", W.fds[i].fd);
	slot_close(i);
	log_end(e, 0, 0);
	count(op, 0);
}

/* dup, or dup2 over another slot (which closes that file there). */
void op_dup(int op)
{
	int i = slot_pick(), j = below(MAX_FDS), fd;
	struct log_ent *e;

	if (W.fds[j].live && j != i && i != SPARE && one_in(3)) {
		e = log_begin(op, "dup2(%d, %d)", W.fds[i].fd, W.fds[j].fd);
		fd = dup3(W.fds[i].fd, W.fds[j].fd, O_CLOEXEC);
		log_end(e, fd, errno);
		count(op, fd);
		if (fd < 0)
			fuzz_fail("dup3: %s", strerror(errno));
		forget_ids(j);
		W.fds[j] = W.fds[i];
		W.fds[j].fd = fd;
		sync_poll_fds();
		return;
	}
	e = log_begin(op, "dup(%d)", W.fds[i].fd);
	fd = fcntl(W.fds[i].fd, F_DUPFD_CLOEXEC, 0);
	log_end(e, fd, errno);
	count(op, fd);
	if (fd < 0)
		fuzz_fail("dup: %s", strerror(errno));
	slot_add(fd, W.fds[i].mode, W.fds[i].shared);
}

/* A kubuf ioctl where it does not belong, or a command kubuf lacks. */
void op_bad_ioctl(int op)
{
	char arg[256] = { 0 };
	unsigned long cmd;
	struct log_ent *e;
	int fd, i = slot_pick();
	unsigned int k;
	long ret;

	if (below(2)) {
		/* Right number, wrong direction or size; or a free number. */
		k = below(KT_NR_DEFINED_CMDS);
		cmd = below(2) ? _IOC(below(4), KUBUF_IOC_MAGIC,
				      _IOC_NR(kt_defined_cmds[k]), below(200)) :
		      _IOC(below(4), KUBUF_IOC_MAGIC, 0x40 + below(0xc0),
			   below(64));
		/* A mangled command may come out as a defined one. */
		for (k = 0; k < KT_NR_DEFINED_CMDS; k++)
			if (cmd == kt_defined_cmds[k])
				return;
		e = log_begin(op, "fd %d cmd %#lx", fd_of(i), cmd);
		ret = ioctl(fd_of(i), cmd, arg);
		expect_errno(e, ret, ENOTTY);
		count(op, ret);
		return;
	}
	/* kubuf's commands on an eventfd, a socket, nothing. */
	fd = below(3) == 0 ? W.sock[1] : below(2) ? -1 : W.efds[below(MAX_EFDS)];
	cmd = below(2) ? KUBUF_IOC_GET_EVENTS : KUBUF_IOC_UBUF_REGISTER;
	e = log_begin(op, "not-kubuf fd %d cmd %#lx", fd, cmd);
	ret = expect(e, ioctl(fd, cmd, arg), E_NOT_KUBUF);
	count(op, ret);
	if (ret >= 0)
		fuzz_fail("a kubuf command worked on fd %d", fd);
}

/* --- descriptors passed around -------------------------------------------- */

/* Everything this process holds is now held by another one too. */
void all_shared(void)
{
	int i;

	for (i = 0; i <= MAX_FDS; i++)
		W.fds[i].shared = true;
}

/* SCM_RIGHTS: a device fd or an eventfd, to ourselves or a child. */
void op_scm_send(int op)
{
	char kind = below(4) ? 'k' : 'e';
	int i = slot_pick(), *efd = efd_slot(true);
	int fd = kind == 'k' ? fd_of(i) : efd ? *efd : -1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &kind, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct log_ent *e;
	long ret;

	if (fd < 0)
		return;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	e = log_begin(op, "send %c fd %d", kind, fd);
	ret = log_end(e, sendmsg(W.sock[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL),
		      errno);
	count(op, ret);
	if (ret < 0 && errno != EAGAIN && errno != ENOBUFS &&
	    errno != ETOOMANYREFS)
		fuzz_fail("sendmsg: %s", strerror(errno));
	if (ret > 0 && kind == 'k')
		W.fds[i].shared = true;
}

/* Is @fd what the message said: the device ('k') or an eventfd ('e')? */
bool fd_is(int fd, char kind)
{
	char path[32], link[64];
	struct stat st;
	ssize_t n;

	if (kind == 'k')
		return !fstat(fd, &st) && S_ISCHR(st.st_mode) &&
		       st.st_rdev == W.dev_rdev;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, "anon_inode:[eventfd]");
}

void op_scm_recv(int op)
{
	char kind, cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { &kind, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	struct log_ent *e = log_begin(op, "recv");
	int fd, *efd;
	long ret;

	ret = log_end(e, recvmsg(W.sock[1], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC),
		      errno);
	count(op, ret);
	if (ret < 0) {
		if (errno != EAGAIN)
			fuzz_fail("recvmsg: %s", strerror(errno));
		return;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	snprintf(e->args, sizeof(e->args), "recv %c fd %d", kind, fd);
	/* A cycle's message ('c'), sent before a reset: close what came. */
	if (cm->cmsg_len > CMSG_LEN(sizeof(int)) || !fd_is(fd, kind)) {
		int fds[2], k, n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (k = 0; k < n; k++)
			close(fds[k]);
		return;
	}
	if (kind == 'k') {
		slot_add(fd, fcntl(fd, F_GETFL) & O_ACCMODE, true);
		return;
	}
	efd = efd_slot(false);
	if (efd)
		*efd = fd;
	else
		close(fd);
}

/*
 * A new socket pair. What is in flight in the old one goes with it; now
 * and then the pair first sends itself, with a device fd, so only the
 * garbage collector of unix sockets can release them: the device's
 * release then runs in a kernel worker.
 */
void op_scm_reset(int op)
{
	struct log_ent *e = log_begin(op, "sockets %d %d%s", W.sock[0],
				      W.sock[1], "");
	int fd = below(2) ? fd_of(slot_pick()) : -1;
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	char kind = 'c';
	struct iovec iov = { &kind, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[2] = { W.sock[1], fd };

	if (fd >= 0) {
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		snprintf(e->args, sizeof(e->args), "cycle with fd %d", fd);
		sendmsg(W.sock[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		all_shared();
	}
	close(W.sock[0]);
	close(W.sock[1]);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, W.sock))
		fuzz_fail("socketpair: %s", strerror(errno));
	log_end(e, 0, 0);
	count(op, 0);
}
