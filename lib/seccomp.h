#ifndef SECCOMP_H
#define SECCOMP_H

#include "err.h"

/*
 * The one confinement profile of what apphub runs from an image: a
 * Dockerfile's RUN steps, launched apps (and jobs). Modelled on the default
 * profiles of Docker and podman: root inside keeps Docker's default
 * capabilities (ah_sandbox_caps, for bwrap's --cap-add), and a seccomp
 * filter refuses (EPERM) what reaches past the sandbox: namespaces (unshare,
 * setns, clone with namespace flags), mounts, kernel keyrings, modules,
 * kexec, bpf, perf, raw handles, clocks, swap, reboot, io_uring,
 * userfaultfd and the like. clone3 fails with ENOSYS so that libc falls
 * back to clone, whose flags the filter can see.
 */

/* Docker's default capabilities, for bwrap's --cap-add. */
extern const char *const ah_sandbox_caps[];

/*
 * A file descriptor (a memfd at offset 0, close-on-exec) holding the
 * filter as BPF, for bwrap's --seccomp; -1 with err.
 */
int ah_seccomp_bpf_fd(struct ah_err *err);

#endif
