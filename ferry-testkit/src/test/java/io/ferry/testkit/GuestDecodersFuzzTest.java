package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.AfterAll;

/**
 * Coverage-guided fuzzing (Jazzer) of every decoder a guest reaches. In a plain {@code mvn test} each method runs
 * its seed corpus ({@code src/test/resources/io/ferry/testkit/GuestDecodersFuzzTestInputs/<method>/}) as a regression
 * test; with {@code JAZZER_FUZZ=1} Jazzer fuzzes the first one selected (see docs/security.md, "Fuzzing").
 * The targets and their invariants are in {@link FuzzTargets}; the bounded run inside {@code ./ferry test} is
 * ferry-bench's FuzzProbesTest.
 */
class GuestDecodersFuzzTest {

    /** (a) The ring frame: HEAD, TAIL and every record byte written by a hostile peer. */
    @FuzzTest(maxDuration = "30s")
    void ring(FuzzedDataProvider d) {
        FuzzTargets.ring(d);
    }

    /** (b) Each call's arguments, flags, blob and framing, after a valid HELLO. */
    @FuzzTest(maxDuration = "30s")
    void calls(FuzzedDataProvider d) {
        FuzzTargets.calls(d);
    }

    /** (c) TEE parameter blocks, memrefs and shared-memory registrations. */
    @FuzzTest(maxDuration = "30s")
    void tee(FuzzedDataProvider d) {
        FuzzTargets.tee(d);
    }

    /** (e) The region header the host reads when it re-attaches a region a guest has written. */
    @FuzzTest(maxDuration = "30s")
    void header(FuzzedDataProvider d) {
        FuzzTargets.header(d);
    }

    /** (d) HELLO: magic, version, credential and name. */
    @FuzzTest(maxDuration = "30s")
    void hello(FuzzedDataProvider d) {
        FuzzTargets.hello(d);
    }

    /**
     * After the corpus ran as a regression test: the seeds decoded (with Jazzer's own provider) to the valid frames
     * they claim to be, so they reach the deep code: HELLOs opened sessions, compute and TEE calls succeeded, bad
     * credentials were refused, the device refused an argument it does not have, rings handed out records, a valid
     * region header opened and broken ones were refused. Skipped
     * when fuzzing (a fuzzing run selects one method).
     */
    @AfterAll
    static void theSeedsReachedTheDeepCode() {
        if (System.getenv("JAZZER_FUZZ") != null && !System.getenv("JAZZER_FUZZ").isEmpty()) {
            return;
        }
        var r = FuzzTargets.REPLIES;
        if (r.isEmpty() && FuzzTargets.RING_RECORDS.get() == 0) {
            return; // a single method was selected and it was not one of ours
        }
        assertTrue(r.getOrDefault(Status.OK, 0L) >= 45, "OK replies from the seeds: " + r);
        assertTrue(r.getOrDefault(Status.BAD_CREDENTIAL, 0L) >= 1, r.toString());
        assertTrue(r.getOrDefault(Status.INVALID_KERNEL_ARGS, 0L) >= 1, r.toString());
        assertTrue(FuzzTargets.RING_RECORDS.get() >= 4, "ring records: " + FuzzTargets.RING_RECORDS);
        assertTrue(FuzzTargets.HEADERS_OPENED.get() >= 1 && FuzzTargets.HEADERS_REFUSED.get() >= 3,
                "region headers opened " + FuzzTargets.HEADERS_OPENED + ", refused " + FuzzTargets.HEADERS_REFUSED);
        System.err.println("fuzz corpus replies by status: " + r + ", ring records " + FuzzTargets.RING_RECORDS);
    }
}
