package io.ferry.tee;

import io.ferry.spi.TeeBackendConfig;
import io.ferry.tee.image.TaImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.List;

/**
 * A ready-to-run software TEE under one directory, for the demo, benchmarks and tests: a signing key pair
 * ({@code keys/ta-signing.key|.pub}, made once), the built-in TAs signed with it ({@code ta/}), a storage root key
 * ({@code root.key}, made once, mode 0600), sealed storage ({@code storage/guests/NAME/UUID/}, per guest and TA)
 * and lane files ({@code run/}).
 * Production hosts configure their own keys and sign TAs with {@code ./ferry ta sign}.
 */
public final class DevTee {
    private DevTee() {
    }

    /** What {@link #prepare} made. */
    public record Setup(TeeBackendConfig config, PrivateKey signingKey) {
    }

    public static Setup prepare(Path dir, int threads) throws IOException {
        Files.createDirectories(dir);
        Path keys = dir.resolve("keys");
        Files.createDirectories(keys);
        Path priv = keys.resolve("ta-signing.key");
        Path pub = keys.resolve("ta-signing.pub");
        PrivateKey signing;
        byte[] publicKey;
        try {
            if (Files.exists(priv) && Files.exists(pub)) {
                signing = TaImage.privateKey(Files.readAllBytes(priv));
                publicKey = Files.readAllBytes(pub);
            } else {
                KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
                writePrivate(priv, kp.getPrivate().getEncoded());
                Files.write(pub, kp.getPublic().getEncoded());
                signing = kp.getPrivate();
                publicKey = kp.getPublic().getEncoded();
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("bad TA signing key in " + keys + ": " + e.getMessage(), e);
        }
        Path root = dir.resolve("root.key");
        if (!Files.exists(root)) {
            byte[] k = new byte[32];
            new SecureRandom().nextBytes(k);
            writePrivate(root, k);
        }
        Path taDir = dir.resolve("ta");
        BuiltinTas.install(taDir, signing);
        TeeBackendConfig cfg = new TeeBackendConfig(dir.resolve("run"), taDir, dir.resolve("storage"),
                List.of(publicKey), Files.readAllBytes(root), threads, Path.of("/dev/tee0"));
        return new Setup(cfg, signing);
    }

    private static void writePrivate(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, bytes);
    }
}
