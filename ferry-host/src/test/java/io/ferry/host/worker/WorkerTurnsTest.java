package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.host.sched.Hint;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class WorkerTurnsTest {
    /** A host that answers from a script; {@code onGrant} plays what the host does to the words meanwhile. */
    private static final class ScriptedLink implements GrantLink {
        final ArrayDeque<Grant> answers = new ArrayDeque<>();
        final List<Long> done = new ArrayList<>();
        Consumer<Grant> onGrant = g -> { };
        int requests;

        @Override
        public Grant request(Hint hint) {
            requests++;
            Grant g = answers.removeFirst();
            onGrant.accept(g);
            return g;
        }

        @Override
        public void done(long deviceNanos) {
            done.add(deviceNanos);
        }
    }

    private static LeaseWords words() {
        return new LeaseWords(MemorySegment.ofArray(new long[(int) LeaseWords.SIZE / 8]), 0);
    }

    @Test
    void aSingleGrantRunsOneCommandAndReportsIt() throws Exception {
        LeaseWords words = words();
        ScriptedLink link = new ScriptedLink();
        link.answers.add(Grant.SINGLE);
        int[] ran = new int[1];
        new WorkerTurns(words, link).run(Hint.NONE, () -> ran[0]++);
        assertEquals(1, ran[0]);
        assertEquals(1, link.done.size());
        assertEquals(0, words.commands());
        assertEquals(0, words.busySince());
    }

    @Test
    void aLeaseRevokedBeforeTheCommandStartsMeansAskingAgain() throws Exception {
        LeaseWords words = words();
        ScriptedLink link = new ScriptedLink();
        link.answers.add(Grant.LEASED); // and another guest revoked it at once: MODE stays ASK
        link.answers.add(Grant.LEASED);
        link.onGrant = g -> words.storeMode(link.requests == 2 ? LeaseWords.LEASED : LeaseWords.ASK);
        WorkerTurns turns = new WorkerTurns(words, link);
        int[] ran = new int[1];
        turns.run(Hint.NONE, () -> ran[0]++);
        turns.run(Hint.NONE, () -> ran[0]++);
        assertEquals(2, ran[0]);
        assertEquals(2, link.requests, "asked again after the revoke, then ran under the lease");
        assertEquals(2, words.commands());
        assertEquals(0, words.busySince());
        assertEquals(List.of(), link.done);
    }

    @Test
    void aFailingCommandStillCountsAndLeavesTheWorkerIdle() {
        LeaseWords words = words();
        words.storeMode(LeaseWords.LEASED);
        WorkerTurns turns = new WorkerTurns(words, new ScriptedLink());
        assertThrows(BackendException.class, () -> turns.run(Hint.NONE, () -> {
            throw new BackendException(io.ferry.protocol.Status.DEVICE_LOST, "gone");
        }));
        assertEquals(1, words.commands());
        assertEquals(0, words.busySince());
    }

    @Test
    void theWordsMustFitAndBeAligned() {
        MemorySegment s = MemorySegment.ofArray(new long[64]);
        new LeaseWords(s, s.byteSize() - LeaseWords.SIZE);
        assertThrows(IllegalArgumentException.class, () -> new LeaseWords(s, s.byteSize() - LeaseWords.SIZE + 8));
        assertThrows(IllegalArgumentException.class, () -> new LeaseWords(s, 4));
        assertThrows(IllegalArgumentException.class, () -> new LeaseWords(s, -64));
        assertThrows(IllegalArgumentException.class,
                () -> new LeaseWords(MemorySegment.ofArray(new byte[512]), 0));
    }
}
