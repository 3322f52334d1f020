package io.ferry.cli;

import io.ferry.tee.image.TaImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./ferry ta keygen|sign|verify}: make signing keys and signed trusted-application images. */
@Command(name = "ta", mixinStandardHelpOptions = true, description = "Sign trusted applications for the software TEE.",
        subcommands = {TaCommand.Keygen.class, TaCommand.Sign.class, TaCommand.Verify.class})
final class TaCommand {

    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = "Make an Ed25519 signing key pair: KEY (PKCS#8, mode 0600) and KEY.pub (X.509, the host trusts it).")
    static final class Keygen implements Callable<Integer> {
        @Option(names = "--out", required = true, paramLabel = "KEY") Path out;

        @Override
        public Integer call() throws Exception {
            KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            Files.deleteIfExists(out);
            Files.createFile(out, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(out, kp.getPrivate().getEncoded());
            Path pub = out.resolveSibling(out.getFileName() + ".pub");
            Files.write(pub, kp.getPublic().getEncoded());
            System.out.println("wrote " + out + " (private, keep it off the host) and " + pub
                    + " (add it to the host's trusted TA keys)");
            return 0;
        }
    }

    @Command(name = "sign", mixinStandardHelpOptions = true,
            description = "Sign a TA: the class files of a jar or directory, with the TA class and UUID, into UUID.ta.")
    static final class Sign implements Callable<Integer> {
        @Option(names = "--key", required = true, description = "private key from 'ta keygen'") Path key;
        @Option(names = "--uuid", required = true) UUID uuid;
        @Option(names = "--name", required = true) String name;
        @Option(names = "--class", required = true, description = "the class implementing io.ferry.tee.ta.TrustedApp")
        String className;
        @Option(names = "--classes", required = true, description = "jar or directory of the TA's class files")
        Path classes;
        @Option(names = "--version", defaultValue = "1.0") String version;
        @Option(names = "--instance", defaultValue = "guest", paramLabel = "guest|session",
                description = "guest (default): one instance serves all of a guest's sessions; session: an instance per session")
        String instance;
        @Option(names = "--out", description = "output file or directory (default: ./UUID.ta)") Path out;

        @Override
        public Integer call() throws Exception {
            Map<String, byte[]> files = TaImage.classesOf(classes);
            if (!files.containsKey(className)) {
                System.err.println("ferry ta sign: " + classes + " has no class " + className);
                return 2;
            }
            if (!instance.equals("guest") && !instance.equals("session")) {
                System.err.println("ferry ta sign: --instance " + instance + " must be guest or session");
                return 2;
            }
            byte[] image = TaImage.sign(uuid, name, className, version, files, TaImage.privateKey(Files.readAllBytes(key)),
                    instance.equals("session"));
            Path target = out == null ? Path.of(uuid + TaImage.SUFFIX)
                    : Files.isDirectory(out) ? out.resolve(uuid + TaImage.SUFFIX) : out;
            Files.write(target, image);
            System.out.println("signed " + name + " (" + uuid + ", " + files.size() + " classes) into " + target);
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, description = "Check a TA image against a public key.")
    static final class Verify implements Callable<Integer> {
        @Option(names = "--key", required = true, description = "public key (KEY.pub)") Path key;
        @Option(names = "--image", required = true) Path image;

        @Override
        public Integer call() throws Exception {
            try {
                TaImage t = TaImage.verify(Files.readAllBytes(image),
                        java.util.List.of(TaImage.publicKey(Files.readAllBytes(key))));
                System.out.println("ok: " + t.name() + " " + t.uuid() + " version " + t.version() + ", class " + t.className());
                return 0;
            } catch (TaImage.RefusedException e) {
                System.out.println("refused: " + e.getMessage());
                return 1;
            }
        }
    }
}
