package io.ferry.tee.storage;

import io.ferry.protocol.TeeWire;
import io.ferry.tee.ta.TaException;
import io.ferry.tee.ta.TaStorage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Sealed storage of the software TEE: one directory per guest and TA, every object and the index sealed with
 * AES-GCM under a key derived with HKDF-SHA256 from the host root key, the guest's name and the TA's UUID. So no TA
 * can read another's objects, no guest can read, replace or delete another guest's objects through the same TA, and
 * the host's file system sees only ciphertext. The TEE process of one (guest, TA) instance is handed only that
 * pair's derived key and directory ({@link #open}), never the root key.
 *
 * <pre>
 * key = HKDF-SHA256(root key, salt "ferry-tee storage v2", info "guest=NAME\nta=UUID", 32)
 * DIR/guests/NAME/UUID/index     "FTI1" | generation | nonce (12) | GCM(map id → version)  AAD "index" | uuid | guest | generation
 * DIR/guests/NAME/UUID/HASH.obj  "FTO1" | version    | nonce (12) | GCM(data)              AAD "obj" | uuid | guest | id | version
 * </pre>
 * (Layout v2; the per-TA layout v1 of earlier versions is not read: there is no migration.)
 * Tampering with any byte fails the GCM tag: MAC_INVALID. Rollback: every write takes a new version from the TA's
 * monotonic generation counter and records it in the index; an object file older (or newer) than its index entry
 * is CORRUPT_OBJECT. The index is kept in memory once loaded, so replacing the index file while the TEE runs has
 * no effect; replacing the index and all objects together while the TEE is down is not detected: that needs a
 * hardware monotonic counter (RPMB), which this software TEE does not have.
 */
public final class SecureStorage {
    static final int MAX_OBJECT = 4 * 1024 * 1024;
    static final int MAX_OBJECTS = 1024;
    private static final byte[] SALT = "ferry-tee storage v2".getBytes(StandardCharsets.UTF_8);
    /** Guest names as the host accepts them (GuestNames): safe as a single path element, never "." or "..". */
    private static final java.util.regex.Pattern GUEST = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    private static final byte[] OBJECT_MAGIC = {'F', 'T', 'O', '1'};
    private static final byte[] INDEX_MAGIC = {'F', 'T', 'I', '1'};
    private static final int HEADER = 4 + 8 + 12;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] rootKey;
    private final Path dir;
    private final Map<String, Store> stores = new ConcurrentHashMap<>();

    public SecureStorage(byte[] rootKey, Path dir) {
        if (rootKey.length != 32) {
            throw new IllegalArgumentException("root key must be 32 bytes");
        }
        this.rootKey = rootKey.clone();
        this.dir = dir;
    }

    /** The storage of TA {@code ta} for guest {@code guest}: nothing in it is visible to any other pair. */
    public TaStorage forTa(String guest, UUID ta) {
        checkGuest(guest);
        return stores.computeIfAbsent(guest + "/" + ta,
                k -> new Store(guest, ta, storageKey(rootKey, guest, ta), storeDir(dir, guest, ta)));
    }

    /**
     * The storage of one (guest, TA) pair from its derived key and directory alone: what the TEE process of that
     * pair's TA instance uses, so it never holds the root key or another pair's key.
     */
    public static TaStorage open(byte[] storageKey, Path storeDir, String guest, UUID ta) {
        checkGuest(guest);
        if (storageKey.length != 32) {
            throw new IllegalArgumentException("a storage key must be 32 bytes");
        }
        return new Store(guest, ta, storageKey.clone(), storeDir);
    }

    /**
     * As {@link #open(byte[], Path, String, UUID)}, for a TA with an instance per session, whose instances (processes)
     * share the pair's storage: each operation holds an exclusive lock on {@code storeDir/lock} (across processes)
     * and reads the index afresh under it, so no instance writes from a stale index.
     */
    public static TaStorage openShared(byte[] storageKey, Path storeDir, String guest, UUID ta) {
        Store store = (Store) open(storageKey, storeDir, guest, ta);
        return new SharedStore(store, storeDir.resolve("lock"));
    }

    /** A {@link Store} whose every operation runs under the directory's lock with the index read afresh. */
    private static final class SharedStore implements TaStorage {
        private final Store store;
        private final Path lockFile;

        SharedStore(Store store, Path lockFile) {
            this.store = store;
            this.lockFile = lockFile;
        }

        private synchronized <T> T locked(java.util.function.Supplier<T> op) {
            try {
                Files.createDirectories(lockFile.getParent(), PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lockFile,
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
                     java.nio.channels.FileLock l = ch.lock()) {
                    store.forgetIndex();
                    return op.get();
                }
            } catch (IOException e) {
                throw new TaException(TeeWire.ERROR_STORAGE_NOT_AVAILABLE, "cannot lock the shared storage: " + e);
            }
        }

        @Override
        public byte[] read(String id) {
            return locked(() -> store.read(id));
        }

        @Override
        public void write(String id, byte[] data) {
            locked(() -> {
                store.write(id, data);
                return null;
            });
        }

        @Override
        public boolean delete(String id) {
            return locked(() -> store.delete(id));
        }

        @Override
        public boolean exists(String id) {
            return locked(() -> store.exists(id));
        }
    }

    /** The AES-256 key of the storage of {@code ta} for {@code guest}. */
    public static byte[] storageKey(byte[] rootKey, String guest, UUID ta) {
        checkGuest(guest);
        return Hkdf.derive(SALT, rootKey, ("guest=" + guest + "\nta=" + ta).getBytes(StandardCharsets.UTF_8), 32);
    }

    /** The directory of the storage of {@code ta} for {@code guest} under storage directory {@code dir}. */
    public static Path storeDir(Path dir, String guest, UUID ta) {
        checkGuest(guest);
        return dir.resolve("guests").resolve(guest).resolve(ta.toString());
    }

    /** The file an object of {@code ta} for {@code guest} is sealed in (for tests and operators). */
    public Path objectFile(String guest, UUID ta, String id) {
        return objectFile(dir, guest, ta, id);
    }

    /** The file an object of {@code ta} for {@code guest} is sealed in under storage directory {@code dir}. */
    public static Path objectFile(Path dir, String guest, UUID ta, String id) {
        return storeDir(dir, guest, ta).resolve(hash(id) + ".obj");
    }

    /** Whether {@code guest} is a valid guest name (and so a safe directory name). */
    public static boolean validGuest(String guest) {
        return guest != null && GUEST.matcher(guest).matches();
    }

    private static void checkGuest(String guest) {
        if (!validGuest(guest)) {
            throw new IllegalArgumentException("'" + guest + "' is not a valid guest name");
        }
    }

    private static String hash(String id) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class Store implements TaStorage {
        private final UUID ta;
        private final String guest;
        private final byte[] uuidBytes;
        private final byte[] guestBytes;
        private final SecretKeySpec key;
        private final Path taDir;
        private Map<String, Long> index;
        private long generation;

        Store(String guest, UUID ta, byte[] key, Path taDir) {
            this.ta = ta;
            this.guest = guest;
            this.uuidBytes = TeeWire.toBytes(ta);
            byte[] g = guest.getBytes(StandardCharsets.UTF_8);
            this.guestBytes = new byte[g.length + 1];
            this.guestBytes[0] = (byte) g.length;
            System.arraycopy(g, 0, guestBytes, 1, g.length);
            this.key = new SecretKeySpec(key, "AES");
            this.taDir = taDir;
        }

        private Path objectFile(String id) {
            return taDir.resolve(hash(id) + ".obj");
        }

        /** Drops the cached index: the next operation reads it from its file (shared storage, under its lock). */
        synchronized void forgetIndex() {
            index = null;
        }

        @Override
        public synchronized byte[] read(String id) {
            check(id);
            Long version = index().get(id);
            if (version == null) {
                throw new TaException(TeeWire.ERROR_ITEM_NOT_FOUND, "no object '" + id + "'");
            }
            byte[] file;
            try {
                file = Files.readAllBytes(objectFile(id));
            } catch (NoSuchFileException e) {
                throw new TaException(TeeWire.ERROR_CORRUPT_OBJECT, "object '" + id + "' is in the index but its file is gone");
            } catch (IOException e) {
                throw new TaException(TeeWire.ERROR_STORAGE_NOT_AVAILABLE, "cannot read object '" + id + "': " + e);
            }
            if (file.length < HEADER + 16 || !startsWith(file, OBJECT_MAGIC)) {
                throw new TaException(TeeWire.ERROR_MAC_INVALID, "object '" + id + "' is not a sealed object");
            }
            long fileVersion = ByteBuffer.wrap(file, 4, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] plain = open(file, objectAad(id, fileVersion));
            if (fileVersion != version) {
                throw new TaException(TeeWire.ERROR_CORRUPT_OBJECT, "object '" + id + "' has version " + fileVersion
                        + " but the index expects " + version + ": rolled back");
            }
            return plain;
        }

        @Override
        public synchronized void write(String id, byte[] data) {
            check(id);
            if (data.length > MAX_OBJECT) {
                throw new TaException(TeeWire.ERROR_STORAGE_NO_SPACE, "object of " + data.length + " bytes exceeds "
                        + MAX_OBJECT);
            }
            Map<String, Long> idx = index();
            if (!idx.containsKey(id) && idx.size() >= MAX_OBJECTS) {
                throw new TaException(TeeWire.ERROR_STORAGE_NO_SPACE, "a TA keeps at most " + MAX_OBJECTS + " objects");
            }
            long version = generation + 1;
            writeAtomically(objectFile(id), seal(OBJECT_MAGIC, version, data, objectAad(id, version)));
            idx.put(id, version);
            generation = version;
            saveIndex();
        }

        @Override
        public synchronized boolean delete(String id) {
            check(id);
            Map<String, Long> idx = index();
            if (idx.remove(id) == null) {
                return false;
            }
            generation++;
            saveIndex();
            try {
                Files.deleteIfExists(objectFile(id));
            } catch (IOException e) {
                // The index no longer names it: a stale file is unreadable garbage, not a leak of live data.
            }
            return true;
        }

        @Override
        public synchronized boolean exists(String id) {
            check(id);
            return index().containsKey(id);
        }

        private void check(String id) {
            if (id == null || id.isEmpty() || id.getBytes(StandardCharsets.UTF_8).length > MAX_ID) {
                throw new TaException(TeeWire.ERROR_BAD_PARAMETERS, "object id must be 1.." + MAX_ID + " bytes");
            }
        }

        private byte[] objectAad(String id, long version) {
            ByteArrayOutputStream aad = new ByteArrayOutputStream();
            aad.writeBytes("obj".getBytes(StandardCharsets.UTF_8));
            aad.writeBytes(uuidBytes);
            aad.writeBytes(guestBytes);
            aad.writeBytes(id.getBytes(StandardCharsets.UTF_8));
            aad.writeBytes(le(version));
            return aad.toByteArray();
        }

        private byte[] indexAad(long gen) {
            ByteArrayOutputStream aad = new ByteArrayOutputStream();
            aad.writeBytes("index".getBytes(StandardCharsets.UTF_8));
            aad.writeBytes(uuidBytes);
            aad.writeBytes(guestBytes);
            aad.writeBytes(le(gen));
            return aad.toByteArray();
        }

        private Map<String, Long> index() {
            if (index != null) {
                return index;
            }
            Path file = taDir.resolve("index");
            Map<String, Long> idx = new LinkedHashMap<>();
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (NoSuchFileException e) {
                index = idx;
                return idx;
            } catch (IOException e) {
                throw new TaException(TeeWire.ERROR_STORAGE_NOT_AVAILABLE, "cannot read the index: " + e);
            }
            if (bytes.length < HEADER + 16 || !startsWith(bytes, INDEX_MAGIC)) {
                throw new TaException(TeeWire.ERROR_MAC_INVALID, "the storage index is not sealed");
            }
            long gen = ByteBuffer.wrap(bytes, 4, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            ByteBuffer plain = ByteBuffer.wrap(open(bytes, indexAad(gen))).order(ByteOrder.LITTLE_ENDIAN);
            int n = plain.getInt();
            for (int i = 0; i < n; i++) {
                byte[] name = new byte[plain.getShort() & 0xFFFF];
                plain.get(name);
                idx.put(new String(name, StandardCharsets.UTF_8), plain.getLong());
            }
            generation = gen;
            index = idx;
            return idx;
        }

        private void saveIndex() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer n = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(index.size());
            out.writeBytes(n.array());
            for (Map.Entry<String, Long> e : index.entrySet()) {
                byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
                out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) name.length).array());
                out.writeBytes(name);
                out.writeBytes(le(e.getValue()));
            }
            writeAtomically(taDir.resolve("index"), seal(INDEX_MAGIC, generation, out.toByteArray(), indexAad(generation)));
        }

        private byte[] seal(byte[] magic, long version, byte[] data, byte[] aad) {
            byte[] nonce = new byte[12];
            RANDOM.nextBytes(nonce);
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
                c.updateAAD(aad);
                byte[] ct = c.doFinal(data);
                ByteBuffer b = ByteBuffer.allocate(HEADER + ct.length).order(ByteOrder.LITTLE_ENDIAN);
                b.put(magic).putLong(version).put(nonce).put(ct);
                return b.array();
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM failed", e);
            }
        }

        private byte[] open(byte[] file, byte[] aad) {
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, file, 12, 12));
                c.updateAAD(aad);
                return c.doFinal(file, HEADER, file.length - HEADER);
            } catch (AEADBadTagException e) {
                throw new TaException(TeeWire.ERROR_MAC_INVALID, "sealed data of TA " + ta + " for guest " + guest
                        + " failed its MAC: tampered");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM failed", e);
            }
        }

        private void writeAtomically(Path file, byte[] bytes) {
            try {
                if (!Files.isDirectory(taDir)) {
                    Files.createDirectories(taDir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                }
                Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
                Files.write(tmp, bytes);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (IOException e) {
                throw new TaException(TeeWire.ERROR_STORAGE_NOT_AVAILABLE, "cannot write sealed storage " + file + ": " + e);
            }
        }
    }

    private static boolean startsWith(byte[] b, byte[] magic) {
        for (int i = 0; i < magic.length; i++) {
            if (b[i] != magic[i]) {
                return false;
            }
        }
        return true;
    }

    private static byte[] le(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }
}
