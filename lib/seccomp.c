/*
 * The sandbox's seccomp filter and capabilities: see seccomp.h.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "seccomp.h"

const char *const ah_sandbox_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
	"CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP", NULL,
};

/* Refused with EPERM whatever their arguments (Docker's default profile, less CAP_SYS_ADMIN's). */
static const char *const denied[] = {
	/* namespaces: a sandbox never makes or joins one */
	"unshare", "setns",
	/* mounts, old and new API */
	"mount", "umount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen",
	"fsconfig", "fsmount", "fspick", "mount_setattr",
	/* kernel keyrings are not namespaced */
	"keyctl", "add_key", "request_key",
	/* the kernel itself */
	"bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "create_module", "get_kernel_syms", "query_module", "lookup_dcookie",
	"uselib", "nfsservctl", "sysfs", "_sysctl", "syslog", "acct", "reboot", "swapon", "swapoff",
	"quotactl", "quotactl_fd", "vhangup", "fanotify_init",
	/* files by handle reach past the root */
	"open_by_handle_at", "name_to_handle_at",
	/* clocks are the host's */
	"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
	"clock_adjtime64", "adjtimex",
	/* hardware and old or risky interfaces */
	"iopl", "ioperm", "vm86", "vm86old", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register",
	NULL,
};

/* clone with any of these makes a namespace. */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	CLONE_NEWNET,
};

static int deny_name(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* not a system call on this architecture */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

/*
 * personality(2) but for what Docker allows: 0, PER_LINUX32 (bit 3),
 * UNAME26 (bit 17), both, and the query 0xffffffff. A rule compares an
 * argument once, so by bits: one outside those two with bit 31 clear, or
 * bit 31 with any other bit clear (not the query).
 */
static int deny_personality(scmp_filter_ctx ctx)
{
	const uint64_t top = 1u << 31;
	unsigned b;
	int rc = 0;

	for (b = 0; b < 31 && rc >= 0; b++) {
		uint64_t bit = 1u << b;

		if (b != 3 && b != 17)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
					      SCMP_A0(SCMP_CMP_MASKED_EQ, bit | top, bit));
		if (rc >= 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
					      SCMP_A0(SCMP_CMP_MASKED_EQ, bit | top, top));
	}
	return rc;
}

int ah_seccomp_bpf_fd(struct ah_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const char *what = "cannot make the seccomp filter";
	size_t i;
	int fd = -1, rc = 0;

	if (!ctx) {
		ah_internal(err, "%s: out of memory", what);
		return -1;
	}
	/* 32-bit programs get the same rules (else they would pass by) */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	for (i = 0; denied[i] && rc >= 0; i++)
		rc = deny_name(ctx, denied[i]);
	for (i = 0; i < sizeof(ns_flags) / sizeof(*ns_flags) && rc >= 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	/* clone3's flags are in memory the filter cannot read: libc falls back to clone */
	if (rc >= 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc >= 0)
		rc = deny_personality(ctx);
	if (rc < 0) {
		ah_internal(err, "%s: %s", what, strerror(-rc));
		goto done;
	}
	fd = memfd_create("apphub-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		ah_internal(err, "%s: %s", what, strerror(errno));
		goto done;
	}
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		ah_internal(err, "%s: %s", what, strerror(rc < 0 ? -rc : errno));
		close(fd);
		fd = -1;
	}
done:
	seccomp_release(ctx);
	return fd;
}
