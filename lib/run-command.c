/*
 * Running another program (see run-command.h): podman and docker, the
 * helpers apphub-image and apphub-remote, cp. One fork and exec with the
 * standard streams set up, one wait, one loop that feeds and collects.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fsutil.h"
#include "run-command.h"

/* Where one of its streams goes, in the child: 0 done, -1 failed. */
static int redirect(int how, int pipe_end, int null_fd, int to)
{
	int from = how == AH_CHILD_NULL ? null_fd : how == AH_CHILD_CAPTURE ? pipe_end : how;

	if (how == AH_CHILD_INHERIT || from == to)
		return 0;
	return dup2(from, to) < 0 ? -1 : 0;
}

static _Noreturn void child(struct ah_child *c, int in, int out, int err, int null_fd,
			    pid_t parent)
{
	const char *const *e;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (c->death_sig) {
		prctl(PR_SET_PDEATHSIG, c->death_sig);
		if (getppid() != parent)
			_exit(127);
	}
	if (dup2(c->in ? in : null_fd, 0) < 0 ||
	    redirect(c->out, out, null_fd, 1) < 0 ||
	    (c->err_to_out ? dup2(1, 2) < 0 : redirect(c->err, err, null_fd, 2) < 0))
		_exit(127);
	for (e = c->env; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq) {
			char *name = strndup(*e, (size_t)(eq - *e));

			if (name)
				setenv(name, eq + 1, 1);
			free(name);
		} else {
			unsetenv(*e);
		}
	}
	if (c->file)
		execv(c->file, (char *const *)c->argv);
	else if (strchr(c->argv[0], '/'))
		execv(c->argv[0], (char *const *)c->argv);
	else
		execvp(c->argv[0], (char *const *)c->argv);
	dprintf(2, "apphub: cannot run '%s': %s\n", c->file ? c->file : c->argv[0], strerror(errno));
	_exit(127);
}

int ah_child_start(struct ah_child *c, struct ah_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, null_fd, ret = -1;
	pid_t parent = getpid();

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || (c->in && pipe2(in, O_CLOEXEC) < 0) ||
	    (c->out == AH_CHILD_CAPTURE && pipe2(out, O_CLOEXEC) < 0) ||
	    (c->err == AH_CHILD_CAPTURE && !c->err_to_out && pipe2(er, O_CLOEXEC) < 0)) {
		ah_internal(err, "cannot run '%s': %s", c->argv[0], strerror(errno));
		goto done;
	}
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid < 0) {
		ah_internal(err, "cannot run '%s': cannot fork: %s", c->argv[0], strerror(errno));
		goto done;
	}
	if (!c->pid)
		child(c, in[0], out[1], er[1], null_fd, parent);
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = er[0];
	in[1] = out[0] = er[0] = -1;
	ret = 0;
done:
	ah_close_pair(in);
	ah_close_pair(out);
	ah_close_pair(er);
	if (null_fd >= 0)
		close(null_fd);
	return ret;
}

int ah_child_finish(struct ah_child *c)
{
	int status = 0;

	if (c->pid <= 0)
		return 127;
	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	c->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads what fd has into sb, keeping at most max (0: all): 0 at its end. */
static int collect(int fd, struct strbuf *sb, size_t max)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n > 0 && (!max || sb->len < max))
		strbuf_add(sb, buf, !max || sb->len + (size_t)n <= max ? (size_t)n : max - sb->len);
	return n > 0;
}

int ah_child_run(struct ah_child *c, struct ah_err *err)
{
	const char *in = c->in;
	size_t left = in ? strlen(in) : 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int status;

	if (ah_child_start(c, err) < 0)
		return -1;
	/* A child that stops reading its input is an exit status, not our SIGPIPE. */
	sigaction(SIGPIPE, &ign, &old);
	if (c->in_fd >= 0 && !left) {
		close(c->in_fd);
		c->in_fd = -1;
	}
	/* Fed and read at once: neither side waits on a full pipe. */
	while (c->in_fd >= 0 || c->out_fd >= 0 || c->err_fd >= 0) {
		struct pollfd p[3] = { { c->in_fd, POLLOUT, 0 }, { c->out_fd, POLLIN, 0 },
				       { c->err_fd, POLLIN, 0 } };

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			ssize_t w = (p[0].revents & POLLOUT) ? write(c->in_fd, in, left) : -1;

			if (w > 0) {
				in += w;
				left -= (size_t)w;
			}
			/* all written, or it stopped reading: its status tells */
			if (!left || (w < 0 && errno != EINTR && errno != EAGAIN)) {
				close(c->in_fd);
				c->in_fd = -1;
			}
		}
		if (p[1].revents && !collect(c->out_fd, &c->out_buf, c->out_max)) {
			close(c->out_fd);
			c->out_fd = -1;
		}
		if (p[2].revents && !collect(c->err_fd, &c->err_buf, c->err_max)) {
			close(c->err_fd);
			c->err_fd = -1;
		}
	}
	sigaction(SIGPIPE, &old, NULL);
	status = ah_child_finish(c);
	return status;
}

void ah_child_release(struct ah_child *c)
{
	int *fds[] = { &c->in_fd, &c->out_fd, &c->err_fd };
	size_t i;

	for (i = 0; i < 3; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	strbuf_release(&c->out_buf);
	strbuf_release(&c->err_buf);
}
