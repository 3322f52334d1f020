package io.ferry.tee.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;

/**
 * A signed trusted-application image: a manifest, the TA's class files, and an Ed25519 signature over both.
 *
 * <pre>
 * "FERRYTA1"                         8 bytes
 * manifest length u32, manifest      UTF-8 lines: uuid=, name=, class=, version=, and optionally instance=
 * class count u32
 *   per class: name length u16, binary name (UTF-8), length u32, class file bytes
 * signature                          64 bytes: Ed25519 over every byte before it
 * </pre>
 * {@code instance=session} asks for an instance per session (OP-TEE's TA without TA_FLAG_SINGLE_INSTANCE); absent
 * or {@code instance=guest}, one instance serves all sessions of a guest (single instance, multi session, per guest).
 * {@link #verify} checks the signature against the trusted keys before it parses a single field, so an image
 * with any flipped bit is refused as a whole (SECURITY), and a parser bug cannot be reached by unsigned input.
 */
public record TaImage(UUID uuid, String name, String className, String version, Map<String, byte[]> classes,
                      byte[] sha256, boolean instancePerSession) {
    public static final String SUFFIX = ".ta";
    private static final byte[] MAGIC = "FERRYTA1".getBytes(StandardCharsets.US_ASCII);
    private static final int SIGNATURE = 64;
    private static final int MAX_IMAGE = 16 * 1024 * 1024;

    /** The image was refused: unsigned, signed by an untrusted key, altered, or malformed. */
    public static final class RefusedException extends Exception {
        public RefusedException(String message) {
            super(message, null, false, false);
        }
    }

    /** Builds and signs an image of a TA with one instance per guest. */
    public static byte[] sign(UUID uuid, String name, String className, String version, Map<String, byte[]> classes,
                              PrivateKey key) {
        return sign(uuid, name, className, version, classes, key, false);
    }

    /** Builds and signs an image; {@code instancePerSession}: each session gets an instance of its own. */
    public static byte[] sign(UUID uuid, String name, String className, String version, Map<String, byte[]> classes,
                              PrivateKey key, boolean instancePerSession) {
        if (!classes.containsKey(className)) {
            throw new IllegalArgumentException("the image's classes do not include its TA class " + className);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(MAGIC);
        byte[] manifest = ("uuid=" + uuid + "\nname=" + name + "\nclass=" + className + "\nversion=" + version + "\n"
                + (instancePerSession ? "instance=session\n" : "")).getBytes(StandardCharsets.UTF_8);
        out.writeBytes(u32(manifest.length));
        out.writeBytes(manifest);
        out.writeBytes(u32(classes.size()));
        for (Map.Entry<String, byte[]> c : classes.entrySet()) {
            byte[] n = c.getKey().getBytes(StandardCharsets.UTF_8);
            out.writeBytes(new byte[] {(byte) n.length, (byte) (n.length >>> 8)});
            out.writeBytes(n);
            out.writeBytes(u32(c.getValue().length));
            out.writeBytes(c.getValue());
        }
        byte[] body = out.toByteArray();
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(body);
            out.writeBytes(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot sign with this key (Ed25519 expected): " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** Verifies {@code image} against {@code trusted} keys, then parses it. */
    public static TaImage verify(byte[] image, List<PublicKey> trusted) throws RefusedException {
        if (image.length <= SIGNATURE + MAGIC.length || image.length > MAX_IMAGE) {
            throw new RefusedException("TA image of " + image.length + " bytes is not a signed image");
        }
        int bodyLength = image.length - SIGNATURE;
        boolean ok = false;
        for (PublicKey k : trusted) {
            try {
                Signature s = Signature.getInstance("Ed25519");
                s.initVerify(k);
                s.update(image, 0, bodyLength);
                if (s.verify(image, bodyLength, SIGNATURE)) {
                    ok = true;
                    break;
                }
            } catch (GeneralSecurityException e) {
                // a key of another algorithm or a malformed signature: this key does not vouch for the image
            }
        }
        if (!ok) {
            throw new RefusedException("TA image signature does not verify against any of the " + trusted.size()
                    + " trusted key(s)");
        }
        return parse(image, bodyLength);
    }

    private static TaImage parse(byte[] image, int bodyLength) throws RefusedException {
        try {
            ByteBuffer b = ByteBuffer.wrap(image, 0, bodyLength).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new RefusedException("not a TA image (magic)");
            }
            byte[] manifest = new byte[b.getInt()];
            b.get(manifest);
            Map<String, String> m = new LinkedHashMap<>();
            for (String line : new String(manifest, StandardCharsets.UTF_8).split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    m.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            int count = b.getInt();
            if (count < 1 || count > 4096) {
                throw new RefusedException("TA image has " + count + " classes");
            }
            Map<String, byte[]> classes = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                byte[] n = new byte[b.getShort() & 0xFFFF];
                b.get(n);
                byte[] bytes = new byte[b.getInt()];
                b.get(bytes);
                classes.put(new String(n, StandardCharsets.UTF_8), bytes);
            }
            if (b.hasRemaining()) {
                throw new RefusedException("TA image has trailing bytes");
            }
            String cls = m.get("class");
            if (m.get("uuid") == null || cls == null || !classes.containsKey(cls)) {
                throw new RefusedException("TA image manifest lacks uuid or class");
            }
            String instance = m.getOrDefault("instance", "guest");
            if (!instance.equals("guest") && !instance.equals("session")) {
                throw new RefusedException("TA image manifest has instance=" + instance + " (guest or session)");
            }
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(image);
            return new TaImage(UUID.fromString(m.get("uuid")), m.getOrDefault("name", ""), cls,
                    m.getOrDefault("version", ""), Collections.unmodifiableMap(classes), sha, instance.equals("session"));
        } catch (BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException e) {
            throw new RefusedException("TA image is malformed: " + e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    /** Class files of a jar (or of a directory tree), by binary name. */
    public static Map<String, byte[]> classesOf(Path jarOrDir) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        if (Files.isDirectory(jarOrDir)) {
            try (var files = Files.walk(jarOrDir)) {
                for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class")).sorted()::iterator) {
                    String rel = jarOrDir.relativize(p).toString().replace('\\', '/');
                    out.put(binaryName(rel), Files.readAllBytes(p));
                }
            }
            return out;
        }
        try (InputStream in = Files.newInputStream(jarOrDir); JarInputStream jar = new JarInputStream(in)) {
            JarEntry e;
            while ((e = jar.getNextJarEntry()) != null) {
                if (e.getName().endsWith(".class") && !e.getName().endsWith("module-info.class")) {
                    out.put(binaryName(e.getName()), jar.readAllBytes());
                }
            }
        }
        return out;
    }

    private static String binaryName(String path) {
        return path.substring(0, path.length() - ".class".length()).replace('/', '.');
    }

    /** An Ed25519 public key from its X.509 encoding. */
    public static PublicKey publicKey(byte[] x509) throws GeneralSecurityException {
        return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(x509));
    }

    /** An Ed25519 private key from its PKCS#8 encoding. */
    public static PrivateKey privateKey(byte[] pkcs8) throws GeneralSecurityException {
        return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    }

    private static byte[] u32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
