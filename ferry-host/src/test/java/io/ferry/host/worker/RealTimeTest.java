package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.sched.SchedClass;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real-time execution through the OS seam: the refusal and its fallback, the safety net, CPU sets. */
class RealTimeTest {
    /** An OS that records every call and answers with the configured errno. */
    static final class ScriptedOs implements RealTime.Os {
        int fifoErrno;
        int affinityErrno;
        final List<String> calls = new ArrayList<>();

        @Override public int tid() { return 42; }
        @Override public int setFifo(int tid, int priority) { calls.add("fifo " + tid + " " + priority); return fifoErrno; }
        @Override public int setRtTimeLimit(long softMicros) { calls.add("rttime " + softMicros); return 0; }
        @Override public int lockMemory() { calls.add("mlockall"); return 0; }
        @Override public int setAffinity(int tid, BitSet cpus) { calls.add("cpus " + cpus); return affinityErrno; }
        @Override public int demoteRealTimeThreads() { calls.add("demote"); return 3; }
    }

    final List<String> warnings = new ArrayList<>();
    final Handler capture = new Handler() {
        @Override public void publish(LogRecord r) { warnings.add(r.getMessage()); }
        @Override public void flush() { }
        @Override public void close() { }
    };
    final ScriptedOs os = new ScriptedOs();
    final RealTime rt = new RealTime(os);

    @BeforeEach
    void listen() {
        Logger.getLogger("ferry.host").addHandler(capture);
    }

    @AfterEach
    void stop() {
        Logger.getLogger("ferry.host").removeHandler(capture);
    }

    static final RealTime.Settings ON = new RealTime.Settings(true, null);

    @Test
    void aRefusalIsSaidOnceNamingTheCapabilityAndTheCallerFallsBack() {
        os.fifoErrno = RealTime.EPERM;
        assertFalse(rt.apply(SchedClass.CRITICAL, ON, true), "refused: the caller applies nice levels");
        assertFalse(rt.apply(SchedClass.CRITICAL, ON, false));
        assertEquals(1, warnings.size(), "said once: " + warnings);
        assertTrue(warnings.get(0).contains("CAP_SYS_NICE") && warnings.get(0).contains("EPERM")
                && warnings.get(0).contains("nice -10"), warnings.get(0));
        assertEquals(List.of("fifo 42 10", "fifo 42 10"), os.calls, "no safety net or mlockall without real time");
    }

    @Test
    void aWorkerGetsFifoTheRtTimeNetOnceAndLockedMemory() {
        assertTrue(rt.apply(SchedClass.CRITICAL, ON, true));
        assertTrue(rt.apply(SchedClass.CRITICAL, ON, false));
        assertEquals(List.of("fifo 42 " + RealTime.FIFO_PRIORITY, "rttime " + RealTime.RTTIME_LIMIT_MICROS,
                "mlockall", "fifo 42 " + RealTime.FIFO_PRIORITY), os.calls, "the host's thread locks nothing");
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void onlyCriticalGuestsWithRealtimeOnTryFifo() {
        assertFalse(rt.apply(SchedClass.HIGH, ON, true));
        assertFalse(rt.apply(SchedClass.CRITICAL, RealTime.Settings.NONE, true));
        assertEquals(List.of(), os.calls);
    }

    @Test
    void aClassIsConfinedToItsCpuSetAndARefusedSetIsSaidOnceAndIgnored() {
        BitSet zero = new BitSet();
        zero.set(0);
        assertFalse(rt.apply(SchedClass.BEST_EFFORT, new RealTime.Settings(false, zero), true));
        assertEquals(List.of("cpus {0}"), os.calls);
        os.affinityErrno = 22;
        assertTrue(rt.apply(SchedClass.CRITICAL, new RealTime.Settings(true, zero), false), "real time still applies");
        rt.apply(SchedClass.CRITICAL, new RealTime.Settings(true, zero), false);
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("cpus:"), warnings.get(0));
    }

    @Test
    void theRtTimeNetDemotesTheProcessesRealTimeThreadsAndSaysSo() {
        rt.onRtTimeExceeded();
        assertEquals(List.of("demote"), os.calls);
        assertEquals(1, rt.demotions());
        assertTrue(warnings.get(0).contains("RLIMIT_RTTIME") && warnings.get(0).contains("3 thread(s) demoted"),
                warnings.get(0));
    }

    @Test
    void settingsTravelToTheWorkerAsText() {
        BitSet cpus = new BitSet();
        cpus.set(1);
        cpus.set(3, 6);
        RealTime.Settings s = new RealTime.Settings(true, cpus);
        assertEquals("rt@1,3-5", s.encode());
        assertEquals(s, RealTime.Settings.decode(s.encode()));
        assertEquals(RealTime.Settings.NONE, RealTime.Settings.decode(RealTime.Settings.NONE.encode()));
        assertEquals(RealTime.Settings.NONE, RealTime.Settings.decode(null));
        assertNull(RealTime.Settings.decode("-").cpus());
    }

    /**
     * The real OS, on a thread of its own that does nothing after the call and ends at once (no real-time thread
     * is left to spin). As root the thread runs under SCHED_FIFO; without CAP_SYS_NICE the call is refused and the
     * thread keeps its policy. Either way the answer matches what the kernel reports for the thread.
     */
    @Test
    void theRealOsAgreesWithTheAnswer() throws Exception {
        RealTime real = new RealTime(RealTimeNative.load());
        boolean[] answer = new boolean[1];
        String[] policy = new String[1];
        Thread t = new Thread(() -> {
            answer[0] = real.apply(SchedClass.CRITICAL, new RealTime.Settings(true, null), false);
            try {
                String stat = Files.readString(Path.of("/proc/thread-self/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                policy[0] = f[41 - 3]; // field 41 (policy), counted from field 3 (state)
            } catch (Exception e) {
                policy[0] = e.toString();
            }
        });
        t.start();
        t.join();
        assertEquals(answer[0] ? "1" : "0", policy[0], "SCHED_FIFO is 1, SCHED_OTHER 0; answered " + answer[0]);
    }
}
