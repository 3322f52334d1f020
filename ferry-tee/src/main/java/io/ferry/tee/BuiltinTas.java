package io.ferry.tee;

import io.ferry.tee.image.TaImage;
import io.ferry.tee.ta.builtin.AttestTa;
import io.ferry.tee.ta.builtin.HelloTa;
import io.ferry.tee.ta.builtin.KeysTa;
import io.ferry.tee.ta.builtin.StorageTa;
import io.ferry.tee.ta.examples.AcipherTa;
import io.ferry.tee.ta.examples.AesTa;
import io.ferry.tee.ta.examples.BaseShaTa;
import io.ferry.tee.ta.examples.EcdhTa;
import io.ferry.tee.ta.examples.HelloWorldTa;
import io.ferry.tee.ta.examples.HotpTa;
import io.ferry.tee.ta.examples.RandomTa;
import io.ferry.tee.ta.examples.SecureStorageTa;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The built-in trusted applications: their UUIDs, command numbers, and signed images. */
public final class BuiltinTas {
    private BuiltinTas() {
    }

    public static final UUID HELLO = UUID.fromString("f3a1e7c0-0001-4e11-8f00-0000000000a1");
    public static final UUID STORAGE = UUID.fromString("f3a1e7c0-0002-4e11-8f00-0000000000a2");
    public static final UUID KEYS = UUID.fromString("f3a1e7c0-0003-4e11-8f00-0000000000a3");
    public static final UUID ATTEST = UUID.fromString("f3a1e7c0-0004-4e11-8f00-0000000000a4");

    /** hello: value inout 0 gets a + 1. */
    public static final int HELLO_INCREMENT = 0;
    /** hello: the TA panics. */
    public static final int HELLO_PANIC = 1;
    /** hello: waits up to value in 0 (a = ms) for cancellation; CANCEL if cancelled. */
    public static final int HELLO_WAIT_FOR_CANCEL = 2;
    /** hello: memref out 0 = login (u32 LE) | client UUID (16 bytes BE). */
    public static final int HELLO_IDENTITY = 3;
    /** hello: memref in 0 copied to memref out 1. */
    public static final int HELLO_ECHO = 4;
    /** hello: memref in 0 summed into value out 1. */
    public static final int HELLO_CHECKSUM = 5;
    /** hello: value in 0 (a = byte) fills memref out 1. */
    public static final int HELLO_FILL = 6;

    public static final int STORAGE_CREATE = 0;
    public static final int STORAGE_READ = 1;
    public static final int STORAGE_WRITE = 2;
    public static final int STORAGE_DELETE = 3;

    public static final int KEYS_GENERATE = 0;
    public static final int KEYS_SIGN = 1;
    public static final int KEYS_PUBLIC_KEY = 2;
    public static final int KEYS_SEAL = 3;
    public static final int KEYS_UNSEAL = 4;

    public static final int ATTEST_EXTEND = 0;
    public static final int ATTEST_READ = 1;
    public static final int ATTEST_QUOTE = 2;
    public static final int ATTEST_PUBLIC_KEY = 3;

    /*
     * OP-TEE's example TAs (optee_examples), ported with their own UUIDs and commands so that their client programs
     * run unmodified (io.ferry.tee.ta.examples; the command numbers are in each class).
     */
    public static final UUID OPTEE_HELLO_WORLD = UUID.fromString("8aaaf200-2450-11e4-abe2-0002a5d5c51b");
    public static final UUID OPTEE_RANDOM = UUID.fromString("b6c53aba-9669-4668-a7f2-205629d00f86");
    public static final UUID OPTEE_SECURE_STORAGE = UUID.fromString("f4e750bb-1437-4fbf-8785-8d3580c34994");
    public static final UUID OPTEE_HOTP = UUID.fromString("484d4143-2d53-4841-3120-4a6f636b6542");
    public static final UUID OPTEE_AES = UUID.fromString("5dbac793-f574-4871-8ad3-04331ec17f24");
    public static final UUID OPTEE_ACIPHER = UUID.fromString("a734eed9-d6a1-4244-aa50-7c99719e7b7b");
    public static final UUID OPTEE_BASE_SHA = UUID.fromString("abb97be3-f56b-46d5-b7fd-70f28cfed992");
    public static final UUID OPTEE_ECDH = UUID.fromString("50c82425-94da-4072-a3e0-58ef063767c0");

    /** One built-in: its UUID, name and class. */
    public record Builtin(UUID uuid, String name, Class<?> type) {
    }

    public static final List<Builtin> ALL = List.of(
            new Builtin(HELLO, "hello", HelloTa.class),
            new Builtin(STORAGE, "storage", StorageTa.class),
            new Builtin(KEYS, "keys", KeysTa.class),
            new Builtin(ATTEST, "attest", AttestTa.class),
            new Builtin(OPTEE_HELLO_WORLD, "hello_world", HelloWorldTa.class),
            new Builtin(OPTEE_RANDOM, "random", RandomTa.class),
            new Builtin(OPTEE_SECURE_STORAGE, "secure_storage", SecureStorageTa.class),
            new Builtin(OPTEE_HOTP, "hotp", HotpTa.class),
            new Builtin(OPTEE_AES, "aes", AesTa.class),
            new Builtin(OPTEE_ACIPHER, "acipher", AcipherTa.class),
            new Builtin(OPTEE_BASE_SHA, "base_sha", BaseShaTa.class),
            new Builtin(OPTEE_ECDH, "ecdh", EcdhTa.class));

    /** A signed image of one built-in. */
    public static byte[] image(Builtin ta, PrivateKey key) {
        return TaImage.sign(ta.uuid(), ta.name(), ta.type().getName(), "1.0", classes(ta.type()), key);
    }

    /** The class files of a TA: its class and the classes nested in it, by binary name. */
    public static Map<String, byte[]> classes(Class<?> type) {
        Map<String, byte[]> classes = new LinkedHashMap<>();
        for (Class<?> c : type.getNestMembers()) {
            String resource = "/" + c.getName().replace('.', '/') + ".class";
            try (InputStream in = type.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("class file of " + c.getName() + " not found");
                }
                classes.put(c.getName(), in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return classes;
    }

    /** Writes signed images of every built-in into {@code taDir} as {@code UUID.ta}. */
    public static void install(Path taDir, PrivateKey key) throws IOException {
        Files.createDirectories(taDir);
        for (Builtin ta : ALL) {
            Files.write(taDir.resolve(ta.uuid() + TaImage.SUFFIX), image(ta, key));
        }
    }
}
