package io.ferry.host.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Wire;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What one completion carries back is bounded: a long text is cut, with a note, on a UTF-8 boundary. */
class CompletionTextTest {

    @Test
    void shortTextIsKeptWhole() {
        assertArrayEquals(Wire.utf8("build ok"), CompletionText.of("build ok"));
        String exact = "x".repeat(Wire.MAX_COMPLETION_BLOB);
        assertEquals(Wire.MAX_COMPLETION_BLOB, CompletionText.of(exact).length);
    }

    @Test
    void longTextIsCutWithANoteNamingTheLimit() {
        for (String unit : new String[] {"a", "\u00e9", "\u20ac", "\ud83d\ude00"}) {
            String text = unit.repeat(10_000_000 / unit.length());
            byte[] b = CompletionText.of(text);
            assertTrue(b.length <= Wire.MAX_COMPLETION_BLOB, unit + ": " + b.length);
            String back = new String(b, StandardCharsets.UTF_8);
            assertTrue(back.endsWith("[cut: a reply carries at most " + Wire.MAX_COMPLETION_BLOB
                    + " bytes; the text had " + text.length() + " characters]"), back.substring(back.length() - 100));
            assertTrue(back.startsWith(unit.repeat(100)), unit);
            assertTrue(!back.contains("\ufffd"), unit + ": a UTF-8 sequence was split");
        }
    }
}
