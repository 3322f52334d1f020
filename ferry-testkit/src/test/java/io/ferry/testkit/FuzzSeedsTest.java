package io.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The seed corpus of {@link GuestDecodersFuzzTest}: written by {@link #main} from {@link FuzzSeeds} (run it after
 * changing how a target reads its input), and checked here: the committed files are what FuzzSeeds writes.
 * {@link GuestDecodersFuzzTest} checks, with Jazzer's own {@code FuzzedDataProvider}, that they decode to the valid
 * frames they claim to be (HELLO opens the session, TEE calls succeed, ring records arrive).
 */
class FuzzSeedsTest {
    static final Path DIR = Path.of("src/test/resources/io/ferry/testkit/GuestDecodersFuzzTestInputs");

    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : DIR;
        for (var target : FuzzSeeds.all().entrySet()) {
            Files.createDirectories(dir.resolve(target.getKey()));
            for (var seed : target.getValue().entrySet()) {
                Files.write(dir.resolve(target.getKey()).resolve(seed.getKey()), seed.getValue());
            }
        }
    }

    @Test
    void theCommittedCorpusIsWhatTheEncoderWrites() throws IOException {
        for (var target : FuzzSeeds.all().entrySet()) {
            for (var seed : target.getValue().entrySet()) {
                Path f = DIR.resolve(target.getKey()).resolve(seed.getKey());
                assertTrue(Files.exists(f), f + " is missing: run FuzzSeedsTest.main");
                assertArrayEquals(seed.getValue(), Files.readAllBytes(f), f + " differs: run FuzzSeedsTest.main");
            }
        }
    }
}
