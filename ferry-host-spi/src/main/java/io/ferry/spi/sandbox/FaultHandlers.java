package io.ferry.spi.sandbox;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Who handles SIGSEGV in this process. The JVM relies on its own SIGSEGV handler (safepoint polls, implicit null
 * checks, crash reports); LLVM, which PoCL loads, installs its own over it when PoCL starts, a one-shot handler
 * ({@code SA_RESETHAND}) that puts the previous one back when it runs: two threads faulting at once (a safepoint
 * poll, a guest's wild kernel on two device threads) can then meet the default action and the process dies without
 * a word. HotSpot's signal chaining library ({@code libjsig.so}, preloaded) keeps the JVM's handler in place and
 * calls LLVM's only for faults the JVM does not own: {@code ./ferry} and the sandboxed JVMs preload it. This asks the
 * kernel (not the C library, which libjsig answers for) and says which mapped file the handler lies in.
 */
public final class FaultHandlers {
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private FaultHandlers() {
    }

    /** The file that holds this process's SIGSEGV handler as the kernel has it, or null where it cannot tell. */
    public static String segvOwner() {
        long nr = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 13; // rt_sigaction
            case "aarch64" -> 134;
            default -> -1;
        };
        if (nr < 0) {
            return null;
        }
        long handler;
        try (Arena a = Arena.ofConfined()) {
            Linker l = Linker.nativeLinker();
            MethodHandle syscall = l.downcallHandle(l.defaultLookup().find("syscall").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                    Linker.Option.firstVariadicArg(1));
            MemorySegment old = a.allocate(64, 8); // the kernel's struct sigaction: the handler comes first
            long rc = (long) syscall.invokeExact(nr, 11L, MemorySegment.NULL, old, 8L);
            if (rc != 0) {
                return null;
            }
            handler = old.get(ValueLayout.JAVA_LONG, 0);
        } catch (Throwable e) {
            return null;
        }
        if (handler == 0 || handler == 1) {
            return handler == 0 ? "(default action)" : "(ignored)";
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String[] f = line.trim().split("\\s+");
                String[] range = f[0].split("-");
                if (Long.compareUnsigned(Long.parseUnsignedLong(range[0], 16), handler) <= 0
                        && Long.compareUnsigned(handler, Long.parseUnsignedLong(range[1], 16)) < 0) {
                    return f.length > 5 ? f[5] : "(anonymous memory)";
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /**
     * Logs a warning, once per process, when a native library holds SIGSEGV instead of the JVM ({@code who} names
     * the process: "the host", "the device worker").
     */
    public static void warnIfTaken(Logger log, String who) {
        if (WARNED.get()) {
            return; // said: no need to ask the kernel again
        }
        String owner = segvOwner();
        if (owner == null || owner.endsWith("/libjvm.so") || !WARNED.compareAndSet(false, true)) {
            return;
        }
        log.warning(who + ": SIGSEGV is handled by " + owner + ", not by the JVM (a native library, LLVM under PoCL, "
                + "replaced its handler): two faults at once can end this process without a crash report. Start "
                + "Ferry through ./ferry, which preloads the JVM's signal chaining library, or set LD_PRELOAD="
                + jsig(Bubblewrap.javaHome()));
    }

    /** The running JDK's signal chaining library, where it has one. */
    public static Path chainingLibrary() {
        return chainingLibrary(Bubblewrap.javaHome());
    }

    /** The signal chaining library of the JDK at {@code javaHome}, where it has one. */
    public static Path chainingLibrary(Path javaHome) {
        Path p = jsig(javaHome);
        return Files.isRegularFile(p) ? p : null;
    }

    private static Path jsig(Path javaHome) {
        return javaHome.resolve("lib/libjsig.so");
    }
}
