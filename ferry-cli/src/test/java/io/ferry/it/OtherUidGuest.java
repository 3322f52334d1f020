package io.ferry.it;

import io.ferry.channel.os.UnixSocket;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;

/**
 * A guest process run under another uid by {@link OtherUidIT}:
 * {@code OtherUidGuest SOCKET GUEST SECRET OTHER_REGION OTHER_FILE ADMIN_SOCKET OTHER_GUEST ROOT_ONLY_GUEST ROOT_SECRET}.
 * Prints one line per attempt ({@code VADD true}, {@code OPEN_OTHER denied ...}, ...) for the test to check.
 */
public final class OtherUidGuest {
    private OtherUidGuest() {
    }

    public static void main(String[] a) {
        Path socket = Path.of(a[0]);
        byte[] secret = Base64.getDecoder().decode(a[2]);
        try (Ferry ferry = Ferry.connect(socket, a[1], secret)) {
            System.out.println("VADD " + RegionChecks.vaddVerifies(ferry));
        } catch (RuntimeException e) {
            System.out.println("VADD failed " + e);
        }
        System.out.println("OPEN_OTHER " + tryOpen(Path.of(a[3])));
        System.out.println("OPEN_FILE " + tryOpen(Path.of(a[4])));
        try (UnixSocket admin = UnixSocket.connect(Path.of(a[5]))) {
            System.out.println("ADMIN connected");
        } catch (Exception e) {
            System.out.println("ADMIN denied " + e.getMessage());
        }
        try (Ferry other = Ferry.connect(socket, a[6], secret)) {
            System.out.println("AS_OTHER connected");
        } catch (FerryException e) {
            System.out.println("AS_OTHER refused " + e.status());
        }
        try (Ferry root = Ferry.connect(socket, a[7], Base64.getDecoder().decode(a[8]))) {
            System.out.println("ROOT_ONLY connected");
        } catch (FerryException e) {
            System.out.println("ROOT_ONLY refused " + e.status() + " " + e.getMessage());
        }
        System.out.flush();
    }

    private static String tryOpen(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return "opened";
        } catch (Exception e) {
            return "denied " + e;
        }
    }
}
