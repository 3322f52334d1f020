package io.ferry.host.worker;

import io.ferry.host.sched.SchedClass;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Real-time execution for a CRITICAL guest's CPU path, where the OS allows it: its host endpoint thread and its
 * device worker run under {@code SCHED_FIFO} (priority {@link #FIFO_PRIORITY}, above every normal thread, below the
 * kernel's own real-time threads), the worker's memory is locked ({@code mlockall}, current and future pages, as
 * they are touched), and a class may be confined to a CPU set ({@code sched_setaffinity}) so best-effort workers
 * never share a core with the critical path.
 *
 * <p><b>Safety net:</b> {@code RLIMIT_RTTIME} (soft) is set to {@link #RTTIME_LIMIT_MICROS}: a real-time thread that
 * runs that long without blocking makes the kernel send SIGXCPU, on which this class demotes every
 * real-time thread of the process to nice {@code -10} and logs it, so a runaway critical thread cannot hold a core
 * for good (and the process is not killed, as SIGXCPU's default would).
 *
 * <p><b>Refusal:</b> without CAP_SYS_NICE (or a sufficient {@code RLIMIT_RTPRIO}) the kernel answers EPERM: the
 * process says so once, naming what to grant, and the caller falls back to today's nice levels
 * ({@link OsPriority}). A CPU set the OS refuses (a CPU outside the allowed set) is logged once and ignored.
 *
 * <p>The OS is behind {@link Os}, so tests can make every call fail without needing or lacking root.
 */
public final class RealTime {
    public static final int FIFO_PRIORITY = 10;
    /** RLIMIT_RTTIME soft limit: 2 s of CPU without a blocking call (a program build in the worker fits). */
    public static final long RTTIME_LIMIT_MICROS = 2_000_000;
    static final int EPERM = 1;

    /** The calls, each returning 0 or the errno. */
    public interface Os {
        int tid();

        int setFifo(int tid, int priority);

        int setRtTimeLimit(long softMicros);

        int lockMemory();

        int setAffinity(int tid, BitSet cpus);

        /** Moves every SCHED_FIFO thread of this process back to SCHED_OTHER at nice -10; returns how many. */
        int demoteRealTimeThreads();
    }

    /** For one class: whether to try real time (CRITICAL only), and its CPU set (null: any CPU). */
    public record Settings(boolean realtime, BitSet cpus) {
        public static final Settings NONE = new Settings(false, null);

        /** Class {@code c}'s settings under the host's scheduling: real time for CRITICAL only. */
        public static Settings of(io.ferry.host.config.HostConfig.Scheduling s, SchedClass c) {
            return new Settings(s.realtime() && c == SchedClass.CRITICAL, s.cpusOf(c));
        }

        /** For a worker's command line: {@code rt} or {@code -}, then {@code @} and the CPU list if any. */
        public String encode() {
            return (realtime ? "rt" : "-") + (cpus == null || cpus.isEmpty() ? ""
                    : "@" + io.ferry.host.config.CpuList.format(cpus));
        }

        /** The inverse of {@link #encode}; null or empty gives {@link #NONE}. From the host, still checked. */
        public static Settings decode(String s) {
            if (s == null || s.isEmpty()) {
                return NONE;
            }
            int at = s.indexOf('@');
            String flag = at < 0 ? s : s.substring(0, at);
            return new Settings(flag.equals("rt"), at < 0 ? null
                    : io.ferry.host.config.CpuList.parse(s.substring(at + 1), "worker CPU set"));
        }
    }

    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final RealTime NATIVE = new RealTime(RealTimeNative.load());

    private final Os os;
    private final AtomicBoolean refusalSaid = new AtomicBoolean();
    private final AtomicBoolean cpusRefusalSaid = new AtomicBoolean();
    private final AtomicBoolean lockRefusalSaid = new AtomicBoolean();
    private final AtomicBoolean armed = new AtomicBoolean();
    private volatile int demotions;

    public RealTime(Os os) {
        this.os = os;
    }

    /** The process's instance over the real OS (null calls: FFM unavailable, every call refused). */
    public static RealTime os() {
        return NATIVE;
    }

    /**
     * Confines the calling thread to {@code s.cpus()} (if any), then for a CRITICAL class with {@code realtime}
     * puts it under SCHED_FIFO with the RTTIME net and, in a device worker, locks the process's memory.
     *
     * @return true if the thread now runs under SCHED_FIFO; false where the caller should apply nice levels
     */
    public boolean apply(SchedClass c, Settings s, boolean worker) {
        int tid = os.tid();
        if (s.cpus() != null && !s.cpus().isEmpty()) {
            int e = os.setAffinity(tid, s.cpus());
            if (e != 0 && cpusRefusalSaid.compareAndSet(false, true)) {
                LOG.warning("the CPU set " + s.cpus() + " for " + c + " was refused (errno " + e + "): check the "
                        + "scheduler's cpus: against the CPUs this host may use (taskset -p, cgroup cpuset); "
                        + "running on any CPU");
            }
        }
        if (c != SchedClass.CRITICAL || !s.realtime()) {
            return false;
        }
        int e = os.setFifo(tid, FIFO_PRIORITY);
        if (e != 0) {
            if (refusalSaid.compareAndSet(false, true)) {
                LOG.warning("real-time priority (SCHED_FIFO " + FIFO_PRIORITY + ") for the CRITICAL guests was "
                        + "refused (errno " + e + (e == EPERM ? ", EPERM" : "") + "): grant the host CAP_SYS_NICE "
                        + "(AmbientCapabilities=CAP_SYS_NICE in its systemd unit, or setcap cap_sys_nice+ep on its "
                        + "java) or an RLIMIT_RTPRIO of at least " + FIFO_PRIORITY + " (LimitRTPRIO=); falling back "
                        + "to nice -10");
            }
            return false;
        }
        arm();
        if (worker) {
            int m = os.lockMemory();
            if (m != 0 && lockRefusalSaid.compareAndSet(false, true)) {
                LOG.warning("the critical device worker's memory was not locked (mlockall: errno " + m + "): grant "
                        + "CAP_IPC_LOCK or raise RLIMIT_MEMLOCK (LimitMEMLOCK=infinity); page faults may delay it");
            }
        }
        return true;
    }

    /**
     * Handles SIGXCPU (demote and log), then sets RLIMIT_RTTIME; once per instance. Without the handler the limit is
     * not set: SIGXCPU's default action would end the process.
     */
    private void arm() {
        if (!armed.compareAndSet(false, true)) {
            return;
        }
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("XCPU"), sig -> onRtTimeExceeded());
        } catch (IllegalArgumentException | UnsupportedOperationException ex) {
            LOG.warning("SIGXCPU cannot be handled here (" + ex.getMessage() + "), so RLIMIT_RTTIME is not set: a "
                    + "runaway real-time thread is not stopped");
            return;
        }
        int e = os.setRtTimeLimit(RTTIME_LIMIT_MICROS);
        if (e != 0) {
            LOG.warning("RLIMIT_RTTIME not set (errno " + e + "): a runaway real-time thread is not stopped");
        }
    }

    /** SIGXCPU: a real-time thread ran {@link #RTTIME_LIMIT_MICROS} without blocking. */
    void onRtTimeExceeded() {
        int n = os.demoteRealTimeThreads();
        demotions++;
        LOG.warning("a real-time thread of this process ran " + RTTIME_LIMIT_MICROS / 1000 + " ms without blocking "
                + "(RLIMIT_RTTIME): " + n + " thread(s) demoted from SCHED_FIFO to nice -10 for the rest of its life");
    }

    /** How many times the RTTIME net demoted this process's real-time threads. */
    public int demotions() {
        return demotions;
    }
}
