package io.ferry.cli;

import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeSession;
import io.ferry.client.tee.TeeTransport;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.image.TaImage;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The TEE part of {@code ./ferry demo}: through a connected guest it stores a secret in the {@code storage} TA and
 * reads it back, and signs data in the {@code keys} TA and verifies the signature with the exported public key.
 * The host must run a TEE service whose policy lets the guest open both TAs (PUBLIC login).
 */
final class DemoTee {
    private DemoTee() {
    }

    /** One verified (or failed) step. */
    record Row(String step, boolean ok, String detail) {
    }

    static List<Row> run(TeeTransport transport) {
        List<Row> rows = new ArrayList<>();
        try (TeeContext tee = TeeContext.initialize(null, transport)) {
            rows.add(storage(tee));
            rows.add(sign(tee));
        } catch (RuntimeException e) {
            rows.add(new Row("tee", false, e.getMessage()));
        }
        return rows;
    }

    private static Row storage(TeeContext tee) {
        byte[] secret = ("demo secret " + System.nanoTime()).getBytes(StandardCharsets.UTF_8);
        MemorySegment id = MemorySegment.ofArray("demo-secret".getBytes(StandardCharsets.UTF_8));
        try (TeeSession s = tee.openSession(BuiltinTas.STORAGE)) {
            s.invoke(BuiltinTas.STORAGE_WRITE, TeeOperation.of(TeeParam.input(id), TeeParam.input(MemorySegment.ofArray(secret))));
            byte[] back = new byte[256];
            TeeOperation read = TeeOperation.of(TeeParam.input(id), TeeParam.output(MemorySegment.ofArray(back)));
            s.invoke(BuiltinTas.STORAGE_READ, read);
            boolean ok = Arrays.equals(secret, Arrays.copyOf(back, (int) read.size(1)));
            s.invoke(BuiltinTas.STORAGE_DELETE, TeeOperation.of(TeeParam.input(id)));
            return new Row("tee storage: sealed secret stored and read back", ok, secret.length + " bytes");
        } catch (RuntimeException e) {
            return new Row("tee storage", false, e.getMessage());
        }
    }

    private static Row sign(TeeContext tee) {
        byte[] data = "signed inside the TEE".getBytes(StandardCharsets.UTF_8);
        try (TeeSession s = tee.openSession(BuiltinTas.KEYS)) {
            byte[] pub = new byte[256];
            TeeOperation exp = TeeOperation.of(TeeParam.output(MemorySegment.ofArray(pub)));
            s.invoke(BuiltinTas.KEYS_PUBLIC_KEY, exp);
            byte[] sig = new byte[64];
            s.invoke(BuiltinTas.KEYS_SIGN, TeeOperation.of(TeeParam.input(MemorySegment.ofArray(data)),
                    TeeParam.output(MemorySegment.ofArray(sig))));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(TaImage.publicKey(Arrays.copyOf(pub, (int) exp.size(0))));
            v.update(data);
            return new Row("tee keys: Ed25519 signature made in the TEE verifies", v.verify(sig), "exported key "
                    + exp.size(0) + " bytes");
        } catch (RuntimeException | java.security.GeneralSecurityException e) {
            return new Row("tee keys", false, e.getMessage());
        }
    }
}
