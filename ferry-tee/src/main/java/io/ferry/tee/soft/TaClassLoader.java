package io.ferry.tee.soft;

import java.util.Map;

/**
 * Loads one TA's classes from its verified image. A TA sees the JDK and the TA API package
 * ({@code io.ferry.tee.ta}, not its subpackages) and nothing else of the TEE: its storage keys, other TAs and the
 * runtime are out of reach by name. Each TA instance gets a fresh loader, so a panicked instance's static state is
 * gone with it.
 */
final class TaClassLoader extends ClassLoader {
    private static final String API_PACKAGE = "io.ferry.tee.ta";
    private static final String PROTOCOL_CONSTANTS = "io.ferry.protocol.TeeWire";

    private final Map<String, byte[]> classes;

    TaClassLoader(String name, Map<String, byte[]> classes) {
        super("ta-" + name, ClassLoader.getPlatformClassLoader());
        this.classes = classes;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                byte[] bytes = classes.get(name);
                if (bytes != null) {
                    c = defineClass(name, bytes, 0, bytes.length);
                } else if (isApi(name)) {
                    c = TaClassLoader.class.getClassLoader().loadClass(name);
                } else {
                    // JDK only (the platform loader); anything else of the TEE's class path is refused.
                    c = getParent().loadClass(name);
                }
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    private static boolean isApi(String name) {
        int dot = name.lastIndexOf('.');
        return (dot > 0 && name.substring(0, dot).equals(API_PACKAGE)) || name.equals(PROTOCOL_CONSTANTS);
    }
}
