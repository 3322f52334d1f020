package io.ferry.cli;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The Main-Class of {@code ferry.jar}: compiled for Java 8 (a second execution of the compiler in ferry-cli's pom),
 * so that any JVM can load it. On a JVM older than Java 25 it says so in one line and exits 1, where loading
 * {@link Main} would end in an {@code UnsupportedClassVersionError} ("class file version 69.0") that names no fix;
 * on Java 25 or newer it runs {@link Main}.
 *
 * <p>{@link Main} is named by a string and invoked reflectively: a direct reference would make this class fail to
 * link on the old JVM it is there to explain.
 */
public final class Launcher {
    /** The Java feature release Ferry is compiled for (maven.compiler.release). */
    static final int REQUIRED = 25;

    private Launcher() {
    }

    public static void main(String[] args) throws Throwable {
        String problem = problem(System.getProperty("java.specification.version"), System.getProperty("java.version"),
                System.getProperty("java.home"));
        if (problem != null) {
            System.err.println(problem);
            System.exit(1);
        }
        Method main = Class.forName("io.ferry.cli.Main").getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** The one line for a JVM of {@code specVersion} ("1.8", "17", "25"), or null when it is new enough. */
    static String problem(String specVersion, String version, String home) {
        int feature = feature(specVersion);
        if (feature >= REQUIRED) {
            return null;
        }
        return "ferry needs Java " + REQUIRED + " or newer; this is Java " + (feature > 0 ? feature : specVersion)
                + " (" + version + " at " + home + "). Set JAVA_HOME to a JDK " + REQUIRED + " or use ./ferry";
    }

    /** "1.8" → 8, "17" → 17; 0 when unreadable (then the line says so rather than guessing). */
    static int feature(String specVersion) {
        if (specVersion == null) {
            return 0;
        }
        String s = specVersion.startsWith("1.") ? specVersion.substring(2) : specVersion;
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) {
            end++;
        }
        try {
            return Integer.parseInt(s.substring(0, end));
        } catch (NumberFormatException e) {
            return 0; // empty: not a version we can read
        }
    }
}
