/**
 * FRR needs CAP_SYS_ADMIN, and with it Docker's default seccomp profile lets root in the container
 * mount, e.g. remount /proc/sys read-write and reach host-wide sysctls such as kernel.core_pattern.
 * Nodes that carry SYS_ADMIN get this profile instead: everything allowed except the syscalls that
 * mount, load kernel code or reach past the container, none of which FRR uses.
 */
const DENIED_SYSCALLS = [
  // mounting, in every flavour
  'mount',
  'umount',
  'umount2',
  'pivot_root',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'open_tree',
  'mount_setattr',
  // loading or replacing kernel code
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
  'create_module',
  'bpf',
  // namespaces: a new mount or user namespace is where container escapes start
  'unshare',
  'setns',
  // reaching other processes, the host's clock, keys, logs and devices
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'keyctl',
  'add_key',
  'request_key',
  'syslog',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
  'reboot',
  'swapon',
  'swapoff',
  'acct',
  'quotactl',
  'lookup_dcookie',
  'perf_event_open',
  'open_by_handle_at',
  'name_to_handle_at',
  'iopl',
  'ioperm',
  'userfaultfd',
  'vhangup',
  'uselib',
  'nfsservctl',
  'personality',
] as const;

export const NO_MOUNT_SECCOMP = {
  name: 'no-mount',
  description: 'all syscalls but mount, module/kexec/bpf, unshare/setns, ptrace and host clock/keys/logs',
  profile: JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: DENIED_SYSCALLS, action: 'SCMP_ACT_ERRNO' }],
  }),
} as const;
