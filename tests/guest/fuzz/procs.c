// SPDX-License-Identifier: MIT
/*
 * Processes: a worker forks children that run operations on what they
 * inherited, and kills them with SIGKILL at random.
 */
#include "fuzz.h"

void op_fork(int op)
{
	struct log_ent *e;
	int k, i;
	pid_t pid;

	if (me.depth)
		return;
	for (k = 0; k < MAX_KIDS && W.kids[k] > 0; k++)
		;
	if (k == MAX_KIDS)
		return;
	e = log_begin(op, "child %d", k);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		kt_storm_child();
		me.depth = 1;
		me.stream = rnd();
		rnd_state = me.stream;
		/* What MADV_DONTFORK kept out of the child is not here. */
		for (i = 0; i < MAX_MAPS; i++)
			if (W.maps[i].live && W.maps[i].dontfork)
				W.maps[i].live = false;
		for (i = 0; i < MAX_REGIONS; i++) {
			if (W.regions[i].live && W.regions[i].dontfork)
				W.regions[i].live = false;
			/*
			 * A private huge page written after fork() is copied
			 * for the child only if the pool has one to spare:
			 * SIGBUS otherwise, the kernel's rule, not kubuf's.
			 */
			if (W.regions[i].kind == R_HUGETLB)
				W.regions[i].touchable = false;
		}
		for (i = 0; i < MAX_KIDS; i++)
			W.kids[i] = 0;
		all_shared();
		log_end(e, 0, 0);
		run_ops(1 + below(KID_OPS));
		_exit(0);
	}
	log_end(e, pid, errno);
	count(op, pid);
	if (pid < 0) {
		if (errno != EAGAIN && errno != ENOMEM)
			fuzz_fail("fork: %s", strerror(errno));
		return;
	}
	W.kids[k] = pid;
	W.kid_killed[k] = false;
	all_shared();
	__atomic_add_fetch(&shared->kids, 1, __ATOMIC_RELAXED);
}

/* Reap the children that ended; @wait: all of them, killing them first. */
void reap_kids(bool wait)
{
	int k, status;
	pid_t r;

	for (k = 0; k < MAX_KIDS; k++) {
		if (W.kids[k] <= 0)
			continue;
		if (wait && !W.kid_killed[k]) {
			kill(W.kids[k], SIGKILL);
			W.kid_killed[k] = true;
		}
		r = waitpid(W.kids[k], &status, wait ? 0 : WNOHANG);
		if (r == 0)
			continue;
		if (r < 0)
			fuzz_fail("waitpid: %s", strerror(errno));
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			fuzz_fail("child %d failed (its report is above)", r);
		if (WIFSIGNALED(status) &&
		    !(WTERMSIG(status) == SIGKILL && W.kid_killed[k]))
			fuzz_fail("child %d died of signal %d (%s)", r,
				  WTERMSIG(status), strsignal(WTERMSIG(status)));
		W.kids[k] = 0;
	}
}

void op_kill(int op)
{
	struct log_ent *e;
	int k = below(MAX_KIDS);

	if (W.kids[k] <= 0 || W.kid_killed[k]) {
		reap_kids(false);
		return;
	}
	e = log_begin(op, "SIGKILL child %d", W.kids[k]);
	kill(W.kids[k], SIGKILL);
	W.kid_killed[k] = true;
	log_end(e, 0, 0);
	count(op, 0);
	__atomic_add_fetch(&shared->kills, 1, __ATOMIC_RELAXED);
	reap_kids(false);
}
