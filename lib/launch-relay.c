/*
 * A launch's port relay: connections accepted on 127.0.0.1:<hostPort>
 * and copied both ways to the app, through sockets made in its network
 * namespace.
 */
#include "launch-internal.h"

/* ---- the relay ---- */

/* A TCP socket made in the app's network namespace. */
static int app_socket(struct sup *s)
{
	int fd;

	if (s->app_net < 0)
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (setns(s->app_net, CLONE_NEWNET) < 0)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (setns(s->host_net, CLONE_NEWNET) < 0) {
		/* Never stay in the app's namespace. */
		if (fd >= 0)
			close(fd);
		abort();
	}
	return fd;
}

/* Connects to the app's port inside its namespace; a connected fd or -1. */
int sup_app_connect(struct sup *s)
{
	struct sockaddr_in sa;
	struct timeval tv = { 2, 0 };
	int fd = app_socket(s);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	/* An engine publishes the port on the host itself. */
	sa.sin_port = htons((uint16_t)(s->container ? s->host_port : s->port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sup_listen_host(struct sup *s, struct ah_err *err)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		return ah_internal(err, "cannot make a socket: %s", strerror(errno));
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 128) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) < 0)
		return ah_internal(err, "cannot listen on 127.0.0.1: %s", strerror(errno));
	s->host_port = ntohs(sa.sin_port);
	return 0;
}

void sup_conn_close(struct sup *s, size_t i)
{
	close(s->conns[i]->fd[0]);
	close(s->conns[i]->fd[1]);
	free(s->conns[i]);
	s->conns[i] = s->conns[--s->nr_conns];
}

void sup_relay_accept(struct sup *s)
{
	int fd, app;
	struct conn *c;

	while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (s->nr_conns >= RELAY_MAX || (app = sup_app_connect(s)) < 0) {
			close(fd);
			continue;
		}
		fcntl(app, F_SETFL, fcntl(app, F_GETFL) | O_NONBLOCK);
		c = xcalloc(1, sizeof(*c));
		c->fd[0] = fd;
		c->fd[1] = app;
		s->conns[s->nr_conns++] = c;
	}
}

/* Moves what it can on a connection; 1 when it is finished. */
int sup_relay_step(struct conn *c, const struct pollfd *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		int o = 1 - i;
		ssize_t n;

		if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof[i] && !c->len[i]) {
			n = read(c->fd[i], c->buf[i], RELAY_BUF);
			if (n > 0) {
				c->len[i] = (size_t)n;
				c->off[i] = 0;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->eof[i] = 1;
				if (n < 0)
					return 1;
			}
		}
		if (c->len[i]) {
			n = write(c->fd[o], c->buf[i] + c->off[i], c->len[i]);
			if (n > 0) {
				c->off[i] += (size_t)n;
				c->len[i] -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return 1;
			}
		}
		if (c->eof[i] && !c->len[i] && !c->shut[o]) {
			shutdown(c->fd[o], SHUT_WR);
			c->shut[o] = 1;
		}
	}
	return c->shut[0] && c->shut[1];
}
