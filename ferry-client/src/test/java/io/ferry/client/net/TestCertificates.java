package io.ferry.client.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Certificates for the TLS tests, made by the JDK's own keytool (the guest library has no certificate issuer): a
 * CA, then keys whose certificates it signs, written as PEM the way a Ferry bundle holds them.
 */
final class TestCertificates {
    static final String PASS = "changeit";
    private final Path dir;

    TestCertificates(Path dir) throws Exception {
        this.dir = dir;
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=ferry-test-ca",
                "-ext", "bc:c", "-validity", "2", "-keystore", store("ca").toString());
    }

    Path store(String name) {
        return dir.resolve(name + ".p12");
    }

    /** A key {@code name} (algorithm {@code alg}) with a certificate for {@code cn} signed by the CA; {@code san} or null. */
    void issue(String name, String alg, String cn, String san) throws Exception {
        List<String> gen = new ArrayList<>(List.of("-genkeypair", "-alias", name, "-keyalg", alg, "-dname", "CN=" + cn,
                "-validity", "2", "-keystore", store(name).toString()));
        keytool(gen.toArray(new String[0]));
        keytool("-certreq", "-alias", name, "-keystore", store(name).toString(), "-file", dir.resolve(name + ".csr")
                .toString());
        List<String> sign = new ArrayList<>(List.of("-gencert", "-alias", "ca", "-keystore", store("ca").toString(),
                "-infile", dir.resolve(name + ".csr").toString(), "-outfile", dir.resolve(name + ".crt").toString(),
                "-rfc", "-validity", "2"));
        if (san != null) {
            sign.addAll(List.of("-ext", "san=" + san));
        }
        keytool(sign.toArray(new String[0]));
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", pem("ca", caCertificate()).toString(),
                "-keystore", store(name).toString());
        keytool("-importcert", "-alias", name, "-file", dir.resolve(name + ".crt").toString(), "-keystore",
                store(name).toString());
    }

    Certificate caCertificate() throws Exception {
        return load("ca").getCertificate("ca");
    }

    KeyStore load(String name) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(store(name))) {
            ks.load(in, PASS.toCharArray());
        }
        return ks;
    }

    Key key(String name) throws Exception {
        return load(name).getKey(name, PASS.toCharArray());
    }

    /** A bundle directory for {@code name}: ca.pem, guest.pem, guest.key. */
    Path bundle(String name) throws Exception {
        Path b = Files.createDirectories(dir.resolve("bundle-" + name));
        Files.writeString(b.resolve(TlsBundle.CA), block("CERTIFICATE", caCertificate().getEncoded()));
        Files.copy(dir.resolve(name + ".crt"), b.resolve(TlsBundle.CERTIFICATE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(b.resolve(TlsBundle.KEY), block("PRIVATE KEY", key(name).getEncoded()));
        return b;
    }

    private Path pem(String name, Certificate c) throws Exception {
        Path p = dir.resolve(name + ".pem");
        Files.writeString(p, block("CERTIFICATE", c.getEncoded()));
        return p;
    }

    static String block(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass", PASS, "-storetype", "PKCS12"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("keytool " + String.join(" ", args) + " failed: " + out);
        }
    }
}
