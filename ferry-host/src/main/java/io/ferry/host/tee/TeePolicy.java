package io.ferry.host.tee;

import io.ferry.protocol.TeeWire;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The mandatory access policy of the TEE service: deny by default; each rule allows one guest (or every guest) to
 * open one TA (or every TA) with some login methods, optionally only for a range of commands and, for GROUP
 * logins, only for listed group ids. Immutable.
 *
 * <p>Text form, one rule per line ({@code #} starts a comment):
 * <pre>
 * allow guest=alice ta=f3a1e7c0-0001-4e11-8f00-0000000000a1 login=public,user commands=0-3
 * allow guest=* ta=* login=group groups=100,101
 * </pre>
 */
public final class TeePolicy {

    /** One allow rule. {@code guest}/{@code ta} null mean any; {@code logins} is a bit set of login methods. */
    public record Rule(String guest, UUID ta, int logins, long firstCommand, long lastCommand, List<Long> groups) {
        public Rule {
            groups = List.copyOf(groups);
        }

        boolean matches(String g, UUID t, int login, long gid) {
            return (guest == null || guest.equals(g)) && (ta == null || ta.equals(t)) && login >= 0 && login < 32
                    && (logins & (1 << login)) != 0
                    && (login != TeeWire.LOGIN_GROUP || groups.contains(gid));
        }

        boolean allowsCommand(long command) {
            return command >= firstCommand && command <= lastCommand;
        }

        @Override
        public String toString() {
            return "allow guest=" + (guest == null ? "*" : guest) + " ta=" + (ta == null ? "*" : ta) + " login="
                    + loginNames(logins) + " commands=" + firstCommand + "-" + lastCommand
                    + (groups.isEmpty() ? "" : " groups=" + groups);
        }
    }

    private final List<Rule> rules;

    private TeePolicy(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** The policy that allows nothing. */
    public static TeePolicy denyAll() {
        return new TeePolicy(List.of());
    }

    public static TeePolicy of(List<Rule> rules) {
        return new TeePolicy(rules);
    }

    /** A rule allowing {@code guest} (null: any) to use {@code ta} (null: any) with PUBLIC and USER logins. */
    public static Rule allow(String guest, UUID ta) {
        return new Rule(guest, ta, (1 << TeeWire.LOGIN_PUBLIC) | (1 << TeeWire.LOGIN_USER), 0, 0xFFFF_FFFFL, List.of());
    }

    public List<Rule> rules() {
        return rules;
    }

    /** The rules that let {@code guest} open {@code ta} with {@code login} (and {@code gid} for GROUP); empty: denied. */
    public List<Rule> matching(String guest, UUID ta, int login, long gid) {
        List<Rule> out = new ArrayList<>();
        for (Rule r : rules) {
            if (r.matches(guest, ta, login, gid)) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * Whether one of {@code granted} allows every command (no {@code commands=} range): then no invoke of the session
     * needs the host's check, and its invokes may bypass the host (a direct lane). Rules that only together cover
     * every command count as limiting.
     */
    public static boolean allowsEveryCommand(List<Rule> granted) {
        for (Rule r : granted) {
            if (r.firstCommand() <= 0 && r.lastCommand() >= 0xFFFF_FFFFL) {
                return true;
            }
        }
        return false;
    }

    /** Whether any of {@code granted} allows {@code command}. */
    public static boolean allowsCommand(List<Rule> granted, long command) {
        for (Rule r : granted) {
            if (r.allowsCommand(command)) {
                return true;
            }
        }
        return false;
    }

    public static TeePolicy load(Path file) throws IOException {
        return parse(Files.readString(file));
    }

    /** Parses the text form; the message of an {@link IllegalArgumentException} names the line. */
    public static TeePolicy parse(String text) {
        List<Rule> rules = new ArrayList<>();
        int n = 0;
        for (String raw : text.split("\n")) {
            n++;
            String line = raw.contains("#") ? raw.substring(0, raw.indexOf('#')) : raw;
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            try {
                rules.add(parseRule(line));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("TEE policy line " + n + ": " + e.getMessage() + ": " + raw.strip());
            }
        }
        return new TeePolicy(rules);
    }

    private static Rule parseRule(String line) {
        String[] words = line.split("\\s+");
        if (!words[0].equals("allow")) {
            throw new IllegalArgumentException("a rule starts with 'allow' (everything else is denied)");
        }
        String guest = null;
        UUID ta = null;
        int logins = 1 << TeeWire.LOGIN_PUBLIC;
        long first = 0;
        long last = 0xFFFF_FFFFL;
        List<Long> groups = new ArrayList<>();
        boolean sawGuest = false;
        boolean sawTa = false;
        for (int i = 1; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("expected key=value, got '" + words[i] + "'");
            }
            String k = words[i].substring(0, eq);
            String v = words[i].substring(eq + 1);
            switch (k) {
                case "guest" -> {
                    guest = v.equals("*") ? null : v;
                    sawGuest = true;
                }
                case "ta" -> {
                    ta = v.equals("*") ? null : UUID.fromString(v);
                    sawTa = true;
                }
                case "login" -> {
                    logins = 0;
                    for (String l : v.split(",")) {
                        logins |= 1 << login(l);
                    }
                }
                case "commands" -> {
                    int dash = v.indexOf('-');
                    first = Long.parseLong(dash < 0 ? v : v.substring(0, dash));
                    last = Long.parseLong(dash < 0 ? v : v.substring(dash + 1));
                    if (first < 0 || last > 0xFFFF_FFFFL || first > last) {
                        throw new IllegalArgumentException("bad command range " + v);
                    }
                }
                case "groups" -> {
                    for (String g : v.split(",")) {
                        groups.add(Long.parseLong(g));
                    }
                }
                default -> throw new IllegalArgumentException("unknown key " + k);
            }
        }
        if (!sawGuest || !sawTa) {
            throw new IllegalArgumentException("a rule names guest= and ta= (use * for any)");
        }
        return new Rule(guest, ta, logins, first, last, groups);
    }

    static int login(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "public" -> TeeWire.LOGIN_PUBLIC;
            case "user" -> TeeWire.LOGIN_USER;
            case "group" -> TeeWire.LOGIN_GROUP;
            default -> throw new IllegalArgumentException("unknown login method " + name
                    + " (public, user, group; application logins are not supported)");
        };
    }

    static String loginName(int login) {
        return switch (login) {
            case TeeWire.LOGIN_PUBLIC -> "public";
            case TeeWire.LOGIN_USER -> "user";
            case TeeWire.LOGIN_GROUP -> "group";
            case TeeWire.LOGIN_APPLICATION -> "application";
            case TeeWire.LOGIN_USER_APPLICATION -> "user-application";
            case TeeWire.LOGIN_GROUP_APPLICATION -> "group-application";
            default -> "0x" + Integer.toHexString(login);
        };
    }

    private static String loginNames(int bits) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            if ((bits & (1 << i)) != 0) {
                names.add(loginName(i));
            }
        }
        return String.join(",", names);
    }
}
