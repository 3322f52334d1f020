package io.ferry.client.net;

import io.ferry.client.FerryException;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A guest's TLS bundle (docs/network.md): the directory {@code ferry guest add NAME --tls} writes, holding
 * {@code ca.pem} (the host's CA: the only issuer the guest trusts for the host), {@code guest.pem} (the guest's
 * certificate, CN {@code ferry-guest:NAME}) and {@code guest.key} (its PKCS#8 key). Found at {@code FERRY_TLS_BUNDLE},
 * else {@code ~/.config/ferry/tls/GUEST/}.
 */
public record TlsBundle(Path dir, List<X509Certificate> ca, List<X509Certificate> chain, PrivateKey key) {
    public static final String CA = "ca.pem";
    public static final String CERTIFICATE = "guest.pem";
    public static final String KEY = "guest.key";

    /** The bundle directory of {@code guest}: {@code FERRY_TLS_BUNDLE} in {@code env}, else under {@code home}. */
    public static Path directory(Map<String, String> env, String home, String guest) {
        String dir = env.get("FERRY_TLS_BUNDLE");
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir.strip());
        }
        return Path.of(home, ".config", "ferry", "tls", guest);
    }

    /** Reads the bundle of {@code guest} as this process's environment names it. */
    public static TlsBundle forGuest(String guest) {
        return read(directory(System.getenv(), System.getProperty("user.home"), guest), guest);
    }

    /**
     * Reads the bundle in {@code dir}.
     *
     * @throws FerryException NOT_CONFIGURED when a file is missing, INVALID_ARGUMENT when one does not parse; the
     *                        message names the file and how to get a bundle
     */
    public static TlsBundle read(Path dir, String guest) {
        String how = "; the host's operator makes a bundle with 'ferry guest add " + guest + " --tls': install it at ~/.config/ferry/tls/" + guest + "/ or point "
                + "FERRY_TLS_BUNDLE at it";
        try {
            List<X509Certificate> ca = Pem.certificates(Pem.text(read(dir, CA, how)), dir.resolve(CA).toString());
            List<X509Certificate> chain = Pem.certificates(Pem.text(read(dir, CERTIFICATE, how)),
                    dir.resolve(CERTIFICATE).toString());
            PrivateKey key = Pem.privateKey(Pem.text(read(dir, KEY, how)), dir.resolve(KEY).toString());
            return new TlsBundle(dir, ca, chain, key);
        } catch (IllegalArgumentException e) {
            throw new FerryException(Status.INVALID_ARGUMENT, "the TLS bundle of guest '" + guest + "' at " + dir
                    + " is not usable: " + e.getMessage() + how);
        }
    }

    private static byte[] read(Path dir, String file, String how) {
        Path p = dir.resolve(file);
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new FerryException(Status.NOT_CONFIGURED, "no " + file + " in the TLS bundle directory " + dir
                    + how);
        } catch (IOException e) {
            throw new FerryException(Status.NOT_CONFIGURED, "cannot read " + p + ": " + e + how);
        }
    }

    /**
     * A TLS 1.3 context that presents this bundle's certificate and trusts only its CA for the host (hostname
     * verification is the socket's: see {@link Links#tls}).
     */
    public SSLContext context() {
        try {
            char[] none = new char[0];
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, none);
            keys.setKeyEntry("guest", key, none, chain.toArray(new X509Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, none);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, none);
            for (int i = 0; i < ca.size(); i++) {
                trust.setCertificateEntry("ferry-ca-" + i, ca.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new FerryException(Status.INVALID_ARGUMENT, "the TLS bundle at " + dir + " cannot be used: " + e
                    + " (does guest.key belong to guest.pem?)");
        }
    }
}
