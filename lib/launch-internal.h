/*
 * What the files of the launch supervisor (lib/launch-run.c, launch-rootfs.c,
 * launch-relay.c) share: its state and the functions one file offers the
 * others. Private to them; the supervisor's interface is launch.h.
 */
#ifndef LAUNCH_INTERNAL_H
#define LAUNCH_INTERNAL_H

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cgroup.h"
#include "exec-path.h"
#include "fsutil.h"
#include "run-command.h"
#include "image.h"
#include "launch.h"
#include "sandbox.h"
#include "seccomp.h"
#include "strbuf.h"
#include "timeutil.h"

#define RELAY_BUF 65536
#define RELAY_MAX 512

struct conn {
	int fd[2];		/* 0: the client on the host, 1: the app */
	char buf[2][RELAY_BUF];	/* buf[i]: read from fd[i], to write to fd[1 - i] */
	size_t len[2], off[2];
	int eof[2];		/* fd[i] gave EOF */
	int shut[2];		/* fd[i] was shut for writing */
};

struct sup {
	struct ah_state *st;
	const char *state_dir, *id;
	char *dir;
	/* the request */
	char *image, *network, *command, *engine;
	json_t *env, *profile;
	int64_t ttl_ms;
	int port;		/* the app's, inside */
	int host_port;
	/* the sandbox */
	pid_t child;
	int child_status;
	int host_net, app_net;	/* network namespace fds */
	int listen_fd, sig_fd, out_fd, log_fd;
	int notify_fd;		/* closed once past starting: wakes a waiting request */
	int64_t log_bytes, log_max;
	int log_dropped;
	json_t *cgroups;	/* directories */
	int cgroup_v2;		/* index in cgroups of the unified one, -1 */
	int mounted_rootfs, mounted_rw;
	struct conn *conns[RELAY_MAX];
	size_t nr_conns;
	char *container;	/* podman/docker: the container's name */
	char *user_spec;	/* the request's user, else the image's User */
	uid_t uid;		/* the app's, inside its user namespace */
	gid_t gid;
	char *home;		/* its passwd entry's, NULL: none */
};

/* An image as the launch sees it (see launch-rootfs.c). */
struct launch_image {
	char *name;		/* canonical; NULL when given by digest */
	char *digest;		/* the manifest's */
	json_t *config;		/* the image config document */
};

#define HELPER_OUT_MAX (8u << 20)
#define HELPER_ERR_MAX 4096

/* the supervisor (lib/launch-run.c) */
void sup_logf(struct sup *s, const char *fmt, ...) APPHUB_FMT(2, 3);

/* the image and its root file system (lib/launch-rootfs.c) */
void launch_image_release(struct launch_image *img);
int sup_image_resolve(struct sup *s, struct launch_image *img, struct ah_err *err);
int sup_private_mounts(struct ah_err *err);
int sup_mount_rootfs(struct sup *s, const char *cache, int64_t disk, const char **how,
		     struct ah_err *err);
char *sup_visible_root(struct sup *s, const char *bwrap, struct ah_err *err);

/* the port relay (lib/launch-relay.c) */
int sup_app_connect(struct sup *s);
int sup_listen_host(struct sup *s, struct ah_err *err);
void sup_conn_close(struct sup *s, size_t i);
void sup_relay_accept(struct sup *s);
int sup_relay_step(struct conn *c, const struct pollfd *p);

#endif
