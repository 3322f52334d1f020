package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SerialLogTest {

    @Test
    void firmwareAndKernelLinesAreNotGuestLines() {
        SerialLog log = new SerialLog();

        assertNull(log.accept("\u001bc\u001b[?7l\u001b[2J\u001b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)", 0.1));
        assertNull(log.accept("[    3.49] reboot: Power down", 9));
        assertFalse(log.booted());
    }

    @Test
    void initsFirstLineMarksTheBootEvenBehindTerminalEscapes() {
        SerialLog log = new SerialLog();

        String msg = log.accept("\u001bc\u001b[?7l\u001b[2Jvm-init: up 2.47 s, 1 cpu, 983744 kB\r", 5.5);

        assertEquals("vm-init: up 2.47 s, 1 cpu, 983744 kB", msg);
        assertTrue(log.booted());
        assertEquals(5.5, log.bootSeconds());
        assertEquals(2.47, log.guestUptimeAtInit());
    }

    @Test
    void resultsAreCountedAndTheRunIsTimedToTheFinalLine() {
        SerialLog log = new SerialLog();
        log.accept("vm-init: up 2.6 s, 2 cpu, 981476 kB", 5.0);
        log.accept("vm-guest: result vadd verified 1M floats 37.13 ms (build 74.2 ms) max rel. error 0.00e+00", 7);
        log.accept("vm-guest: result matmul FAILED 256×256×256 NaN ms (build NaN ms) max rel. error NaN: boom", 8);
        log.accept("vm-guest: done 1 verified, 1 failed in 2.70 s", 8.5);
        log.accept("vm-init: guest exited with status 1 at 6.54 s", 8.6);

        assertEquals(1, log.verified());
        assertEquals(1, log.failed());
        assertTrue(log.done());
        assertEquals(3.5, log.runSeconds(), 1e-9);
        assertEquals(1, log.guestExit());
        assertEquals(List.of("vm-guest: result matmul FAILED 256×256×256 NaN ms (build NaN ms) max rel. error NaN: "
                + "boom"), log.failures());
        assertEquals(5, log.guestLines().size());
    }

    @Test
    void aGuestThatDiesWithoutItsFinalLineIsNotDone() {
        SerialLog log = new SerialLog();
        log.accept("vm-init: up 2.6 s, 2 cpu, 981476 kB", 5.0);
        log.accept("vm-init: guest exited with status 134 at 9.1 s", 11.0);

        assertFalse(log.done());
        assertEquals(134, log.guestExit());
        assertEquals(6.0, log.runSeconds(), 1e-9);
    }
}
