package io.ferry.tee.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.tee.BuiltinTas;
import io.ferry.tee.ta.builtin.HelloTa;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaImageTest {
    static final KeyPair KEYS;
    static final KeyPair OTHER;

    static {
        try {
            KEYS = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            OTHER = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static byte[] image() {
        return TaImage.sign(BuiltinTas.HELLO, "hello", HelloTa.class.getName(), "1.0",
                BuiltinTas.classes(HelloTa.class), KEYS.getPrivate());
    }

    @Test
    void aSignedImageVerifiesAndParses() throws Exception {
        TaImage t = TaImage.verify(image(), List.of(OTHER.getPublic(), KEYS.getPublic()));
        assertEquals(BuiltinTas.HELLO, t.uuid());
        assertEquals(HelloTa.class.getName(), t.className());
        assertArrayEquals(BuiltinTas.classes(HelloTa.class).get(HelloTa.class.getName()),
                t.classes().get(HelloTa.class.getName()));
    }

    @Test
    void anyOneFlippedBitIsRefused() {
        byte[] good = image();
        for (int at : new int[] {0, 9, 20, good.length / 3, good.length / 2, good.length - 65, good.length - 1}) {
            for (int bit = 0; bit < 8; bit += 3) {
                byte[] bad = good.clone();
                bad[at] ^= (byte) (1 << bit);
                assertThrows(TaImage.RefusedException.class, () -> TaImage.verify(bad, List.of(KEYS.getPublic())),
                        "flip at byte " + at + " bit " + bit);
            }
        }
    }

    @Test
    void anImageSignedByAnUntrustedKeyIsRefused() {
        assertThrows(TaImage.RefusedException.class, () -> TaImage.verify(image(), List.of(OTHER.getPublic())));
        assertThrows(TaImage.RefusedException.class, () -> TaImage.verify(image(), List.of()));
    }

    @Test
    void truncatedImagesAreRefused() {
        assertThrows(TaImage.RefusedException.class, () -> TaImage.verify(new byte[10], List.of(KEYS.getPublic())));
    }
}
