package io.ferry.spi.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The filter's bytes, run through a small classic-BPF interpreter: what the kernel would answer. */
class SeccompFilterTest {
    private static final int ALLOW = 0x7fff0000;
    private static final int EPERM = 0x00050001;

    /** Runs the program over seccomp_data {nr, arch, ip, args}. */
    private static int run(int nr, int arch, long arg0) {
        return run(nr, arch, arg0, 0);
    }

    private static int run(int nr, int arch, long arg0, long arg1) {
        ByteBuffer p = ByteBuffer.wrap(SeccompFilter.program()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(16, arg0).putLong(24, arg1);
        int a = 0;
        int pc = 0;
        for (int steps = 0; steps < 1000; steps++) {
            int code = p.getShort(pc * 8) & 0xffff;
            int jt = p.get(pc * 8 + 2) & 0xff;
            int jf = p.get(pc * 8 + 3) & 0xff;
            int k = p.getInt(pc * 8 + 4);
            switch (code) {
                case 0x20 -> { a = data.getInt(k); pc++; }
                case 0x15 -> pc += 1 + (a == k ? jt : jf);
                case 0x35 -> pc += 1 + (Integer.compareUnsigned(a, k) >= 0 ? jt : jf);
                case 0x45 -> pc += 1 + ((a & k) != 0 ? jt : jf);
                case 0x06 -> { return k; }
                default -> throw new AssertionError("unknown BPF code " + code);
            }
        }
        throw new AssertionError("no return");
    }

    private static final int X86_64 = SeccompFilter.AUDIT_ARCH_X86_64;

    @Test
    void deniesTheToolsOfAnEscapeAndAllowsTheRest() {
        assertEquals(EPERM, run(101, X86_64, 0), "ptrace");
        assertEquals(EPERM, run(310, X86_64, 0), "process_vm_readv");
        assertEquals(EPERM, run(165, X86_64, 0), "mount");
        assertEquals(EPERM, run(272, X86_64, 0), "unshare");
        assertEquals(EPERM, run(321, X86_64, 0), "bpf");
        assertEquals(EPERM, run(0x40000000 | 2, X86_64, 0), "x32 open");
        assertEquals(ALLOW, run(0, X86_64, 0), "read");
        assertEquals(ALLOW, run(9, X86_64, 0), "mmap");
        assertEquals(ALLOW, run(257, X86_64, 0), "openat");
    }

    @Test
    void socketsOfNetworkAndUnixFamiliesAreDenied() {
        assertEquals(EPERM, run(41, X86_64, 2), "AF_INET");
        assertEquals(EPERM, run(41, X86_64, 10), "AF_INET6");
        assertEquals(EPERM, run(41, X86_64, 1), "AF_UNIX");
        assertEquals(EPERM, run(53, X86_64, 1), "socketpair AF_UNIX");
        assertEquals(ALLOW, run(41, X86_64, 38), "AF_ALG stays");
    }

    @Test
    void cloneMayMakeThreadsButNoNamespaces() {
        assertEquals(ALLOW, run(56, X86_64, 0x3d0f00), "pthread_create's flags");
        assertEquals(EPERM, run(56, X86_64, 0x10000000), "CLONE_NEWUSER");
        assertEquals(0x00050000 | 38, run(435, X86_64, 0), "clone3 says ENOSYS so glibc uses clone");
    }

    @Test
    void noTerminalInputFromTheSandbox() {
        assertEquals(EPERM, run(16, X86_64, 0, 0x5412), "TIOCSTI");
        assertEquals(EPERM, run(16, X86_64, 2, 0x541C), "TIOCLINUX");
        assertEquals(EPERM, run(16, X86_64, 0, 0xFFFF_FFFF_0000_5412L), "TIOCSTI with high bits (the kernel drops them)");
        assertEquals(ALLOW, run(16, X86_64, 0, 0x5401), "TCGETS stays");
        assertEquals(ALLOW, run(16, X86_64, 3, 0x541B), "FIONREAD stays");
    }

    @Test
    void anotherArchitectureIsKilled() {
        assertTrue(run(0, 0xC00000B7, 0) == 0x80000000, "aarch64 numbers must not pass an x86-64 filter");
    }
}
