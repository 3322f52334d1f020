package io.ferry.host.net.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import io.ferry.host.config.GuestNames;

/**
 * The two text lists of the certificate authority, one certificate a line, {@code #} starting a comment:
 * {@code tls/issued.txt} ({@code SERIAL GUEST NOT-AFTER}: every certificate issued to a guest) and
 * {@code tls/revoked.txt} ({@code SERIAL GUEST REVOKED-AT}). SERIAL is the certificate's serial number in hex (as
 * {@code openssl x509 -serial} prints it, any case), times are ISO-8601 instants ({@code 2027-01-31T12:00:00Z}).
 * In the revocation list only the serial is required, so an operator may add a line by hand.
 */
public final class SerialList {
    /** One line: the serial, the guest (null when the line names none), the time (null when none). */
    public record Entry(BigInteger serial, String guest, Instant time) {
        /** The serial in hex, as the lists write it. */
        public String serialHex() {
            return hex(serial);
        }

        /** The line as this class writes it. */
        String line() {
            return hex(serial) + " " + (guest == null ? "-" : guest) + " " + (time == null ? "-" : time);
        }
    }

    private SerialList() {
    }

    /** The serial as upper-case hex, the form the lists and log lines use. */
    static String hex(BigInteger serial) {
        return serial.toString(16).toUpperCase(java.util.Locale.ROOT);
    }

    /**
     * The entries of {@code text}; a line that is not {@code SERIAL [GUEST [TIME]]} throws IllegalArgumentException
     * naming {@code source} and the line number.
     */
    static List<Entry> parse(String text, String source) {
        List<Entry> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\\s+");
            String where = source + " line " + (i + 1) + " ('" + lines[i].strip() + "')";
            if (f.length > 3) {
                throw new IllegalArgumentException(where + ": expected SERIAL [GUEST [TIME]], found " + f.length
                        + " fields");
            }
            BigInteger serial;
            try {
                serial = new BigInteger(f[0].replace(":", ""), 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": '" + f[0] + "' is not a hexadecimal serial number");
            }
            String guest = f.length > 1 && !f[1].equals("-") ? f[1] : null;
            if (guest != null && !GuestNames.valid(guest)) {
                throw new IllegalArgumentException(where + ": '" + guest + "' is not a guest name ("
                        + GuestNames.RULE + ")");
            }
            Instant time = null;
            if (f.length > 2 && !f[2].equals("-")) {
                try {
                    time = Instant.parse(f[2]);
                } catch (DateTimeParseException e) {
                    throw new IllegalArgumentException(where + ": '" + f[2] + "' is not an ISO-8601 instant such as "
                            + "2027-01-31T12:00:00Z");
                }
            }
            out.add(new Entry(serial, guest, time));
        }
        return out;
    }

    /** The entries of {@code file}; none when it does not exist. */
    static List<Entry> read(Path file) throws IOException {
        try {
            return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    /**
     * Writes {@code entries} to {@code file} under a header comment (whole, then moved into place, so the host never
     * reads half a list).
     */
    static void write(Path file, String header, List<Entry> entries) throws IOException {
        StringBuilder b = new StringBuilder();
        for (String h : header.split("\n")) {
            b.append("# ").append(h).append('\n');
        }
        for (Entry e : entries) {
            b.append(e.line()).append('\n');
        }
        Pem.write(file, b.toString(), Pem.PUBLIC);
    }
}
