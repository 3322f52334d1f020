package io.ferry.host.config;

import java.util.regex.Pattern;

/** The rule for guest names (they become file names). */
public final class GuestNames {
    public static final String RULE = "1–63 characters of letters, digits, '_', '.', '-', starting with a letter or digit";
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

    private GuestNames() {
    }

    public static boolean valid(String name) {
        return name != null && VALID.matcher(name).matches();
    }
}
