package io.ferry.host.session;

import io.ferry.protocol.Wire;

/** Text as the blob of a completion. */
public final class CompletionText {
    private CompletionText() {
    }

    /**
     * {@code text} as the blob of a completion, which carries at most {@link Wire#MAX_COMPLETION_BLOB} bytes: a
     * longer text (a build log, a message naming guest strings) is cut with a note, and never encoded whole.
     */
    public static byte[] of(String text) {
        int max = Wire.MAX_COMPLETION_BLOB;
        if (text.length() <= max / 3) {
            return Wire.utf8(text); // at most 3 bytes per char: fits
        }
        byte[] b = Wire.utf8(text.length() > max ? text.substring(0, max) : text);
        if (b.length <= max && text.length() <= max) {
            return b;
        }
        byte[] note = Wire.utf8("\n[cut: a reply carries at most " + max + " bytes; the text had "
                + text.length() + " characters]");
        int keep = max - note.length;
        while (keep > 0 && (b[keep] & 0xC0) == 0x80) {
            keep--; // do not split a UTF-8 sequence
        }
        byte[] out = java.util.Arrays.copyOf(b, keep + note.length);
        System.arraycopy(note, 0, out, keep, note.length);
        return out;
    }
}
