package io.ferry.spi.sandbox;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The seccomp filter of a sandboxed process (a device worker of the host, a TA instance of the software TEE): a
 * classic-BPF program (what {@code bwrap --seccomp FD} loads just before it executes the sandboxed JVM) that denies,
 * with EPERM, the system calls such a process never needs and an attacker who runs machine code in it would want: debugging or reading other processes, mounting, new namespaces, kernel
 * keyrings, eBPF, perf, userfaultfd, io_uring, module and kexec loading, sockets of the IP and Unix families, and
 * the terminal ioctls that inject input ({@code TIOCSTI}, {@code TIOCLINUX}: the sandbox shares the host's session,
 * see {@link Bubblewrap}).
 *
 * <p>Why a deny list and not an allow list: the worker is a JVM plus PoCL plus LLVM, whose set of system calls
 * changes with each release; an allow list that misses one kills a guest's work at random. The namespaces
 * (mount, pid, net, user) are the walls; this filter takes away the tools to climb them.
 *
 * <p>Program, x86-64 only (other architectures get no filter and the host logs so):
 * <pre>
 *   A = arch;   A != AUDIT_ARCH_X86_64          → KILL_PROCESS
 *   A = nr;     A ≥ 0x40000000 (x32 ABI)         → ERRNO(EPERM)
 *               A ∈ DENIED                       → ERRNO(EPERM)
 *               A == clone3                      → ERRNO(ENOSYS)   (glibc falls back to clone, checked below)
 *               A == clone:  args[0] & CLONE_NEW* → ERRNO(EPERM)
 *               A == socket, socketpair: args[0] ∈ {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET} → ERRNO(EPERM)
 *               A == ioctl:  (u32) args[1] ∈ {TIOCSTI, TIOCLINUX} → ERRNO(EPERM)   (the kernel reads cmd as u32)
 *                                                → ALLOW
 * </pre>
 * The bytes are {@code struct sock_filter} records (u16 code, u8 jt, u8 jf, u32 k), little-endian.
 */
public final class SeccompFilter {
    public static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    private static final int LD_W_ABS = 0x20;
    private static final int JEQ_K = 0x15;
    private static final int JGE_K = 0x35;
    private static final int JSET_K = 0x45;
    private static final int RET_K = 0x06;
    private static final int RET_KILL_PROCESS = 0x80000000;
    private static final int RET_ERRNO = 0x00050000;
    private static final int RET_ALLOW = 0x7fff0000;
    private static final int EPERM = 1;
    private static final int ENOSYS = 38;
    private static final int CLONE_NEW_ANY = 0x7E020000; // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
    private static final int SYS_CLONE = 56;
    private static final int SYS_CLONE3 = 435;
    private static final int SYS_SOCKET = 41;
    private static final int SYS_SOCKETPAIR = 53;
    private static final int SYS_IOCTL = 16;
    private static final int TIOCSTI = 0x5412;
    private static final int TIOCLINUX = 0x541C;
    private static final int[] DENIED_FAMILIES = {1 /* AF_UNIX */, 2 /* AF_INET */, 10 /* AF_INET6 */,
            16 /* AF_NETLINK */, 17 /* AF_PACKET */};

    /** x86-64 system calls denied with EPERM, by name for the docs and the log. */
    static final String[][] DENIED = {
            {"ptrace", "101"}, {"process_vm_readv", "310"}, {"process_vm_writev", "311"}, {"kcmp", "312"},
            {"mount", "165"}, {"umount2", "166"}, {"pivot_root", "155"}, {"chroot", "161"},
            {"open_tree", "428"}, {"move_mount", "429"}, {"fsopen", "430"}, {"fsconfig", "431"},
            {"fsmount", "432"}, {"fspick", "433"}, {"mount_setattr", "442"},
            {"unshare", "272"}, {"setns", "308"},
            {"kexec_load", "246"}, {"kexec_file_load", "320"}, {"init_module", "175"}, {"finit_module", "313"},
            {"delete_module", "176"}, {"reboot", "169"}, {"swapon", "167"}, {"swapoff", "168"}, {"acct", "163"},
            {"bpf", "321"}, {"perf_event_open", "298"}, {"userfaultfd", "323"},
            {"keyctl", "250"}, {"add_key", "248"}, {"request_key", "249"},
            {"io_uring_setup", "425"}, {"io_uring_enter", "426"}, {"io_uring_register", "427"},
            {"open_by_handle_at", "304"}, {"name_to_handle_at", "303"}, {"fanotify_init", "300"},
            {"syslog", "103"}, {"quotactl", "179"}, {"iopl", "172"}, {"ioperm", "173"}, {"uselib", "134"},
            {"settimeofday", "164"}, {"clock_settime", "227"}, {"adjtimex", "159"}, {"vhangup", "153"},
    };

    private SeccompFilter() {
    }

    /** True where this filter is written for the machine (x86-64). */
    public static boolean supported() {
        String arch = System.getProperty("os.arch");
        return "amd64".equals(arch) || "x86_64".equals(arch);
    }

    /** The names of the denied system calls, for docs and logs. */
    public static List<String> deniedNames() {
        List<String> out = new ArrayList<>();
        for (String[] d : DENIED) {
            out.add(d[0]);
        }
        out.add("clone/clone3 with new namespaces");
        out.add("socket/socketpair of AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET");
        out.add("ioctl TIOCSTI and TIOCLINUX (terminal input)");
        return out;
    }

    /** The compiled program, {@code struct sock_filter[]}, little-endian. */
    public static byte[] program() {
        Asm a = new Asm();
        a.ld(4);                                             // arch
        a.jeq(AUDIT_ARCH_X86_64, "nr", null);
        a.ret(RET_KILL_PROCESS);
        a.label("nr");
        a.ld(0);                                             // syscall number
        a.jge(0x40000000, "deny", null);
        for (String[] d : DENIED) {
            a.jeq(Integer.parseInt(d[1]), "deny", null);
        }
        a.jeq(SYS_CLONE3, "enosys", null);
        a.jeq(SYS_CLONE, "clone", null);
        a.jeq(SYS_SOCKET, "socket", null);
        a.jeq(SYS_SOCKETPAIR, "socket", null);
        a.jeq(SYS_IOCTL, "ioctl", null);
        a.ret(RET_ALLOW);
        a.label("ioctl");
        a.ld(24);                                            // args[1], low 32 bits: the request
        a.jeq(TIOCSTI, "deny", null);
        a.jeq(TIOCLINUX, "deny", null);
        a.ret(RET_ALLOW);
        a.label("clone");
        a.ld(16);                                            // args[0], low 32 bits: the flags
        a.jset(CLONE_NEW_ANY, "deny", null);
        a.ret(RET_ALLOW);
        a.label("socket");
        a.ld(16);                                            // args[0]: the address family
        for (int f : DENIED_FAMILIES) {
            a.jeq(f, "deny", null);
        }
        a.ret(RET_ALLOW);
        a.label("enosys");
        a.ret(RET_ERRNO | ENOSYS);
        a.label("deny");
        a.ret(RET_ERRNO | EPERM);
        return a.assemble();
    }

    /** A two-pass assembler: conditional jumps name labels, resolved to forward offsets. */
    private static final class Asm {
        private final List<Object[]> code = new ArrayList<>(); // {op, k, jtLabel, jfLabel}
        private final java.util.Map<String, Integer> labels = new java.util.HashMap<>();

        void ld(int offset) {
            code.add(new Object[] {LD_W_ABS, offset, null, null});
        }

        void jeq(int k, String t, String f) {
            code.add(new Object[] {JEQ_K, k, t, f});
        }

        void jge(int k, String t, String f) {
            code.add(new Object[] {JGE_K, k, t, f});
        }

        void jset(int k, String t, String f) {
            code.add(new Object[] {JSET_K, k, t, f});
        }

        void ret(int k) {
            code.add(new Object[] {RET_K, k, null, null});
        }

        void label(String name) {
            labels.put(name, code.size());
        }

        byte[] assemble() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 0; i < code.size(); i++) {
                Object[] c = code.get(i);
                int op = (Integer) c[0];
                int k = (Integer) c[1];
                int jt = jump(i, (String) c[2]);
                int jf = jump(i, (String) c[3]);
                out.write(op & 0xff);
                out.write(op >>> 8 & 0xff);
                out.write(jt);
                out.write(jf);
                out.write(k & 0xff);
                out.write(k >>> 8 & 0xff);
                out.write(k >>> 16 & 0xff);
                out.write(k >>> 24 & 0xff);
            }
            return out.toByteArray();
        }

        private int jump(int from, String label) {
            if (label == null) {
                return 0;
            }
            int to = labels.get(label);
            int d = to - from - 1;
            if (d < 0 || d > 255) {
                throw new IllegalStateException("BPF jump from " + from + " to " + label + " out of range");
            }
            return d;
        }
    }
}
