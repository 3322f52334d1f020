package io.ferry.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;

/**
 * Just enough of a C preprocessor to read {@code cuda.h} and {@code nvrtc.h} in tests ({@link CHeader} uses it):
 * strips comments, joins continued lines, follows {@code #if/#ifdef/#ifndef/#elif/#else} with the predefined macros
 * of the build it imitates, keeps {@code #define/#undef}, and expands object- and function-like macros ({@code ##}
 * included; no {@code #} stringizing, no {@code #include}).
 *
 * <p>One exception to plain evaluation: a block opened by exactly {@code #if defined(__CUDA_API_VERSION_INTERNAL)}
 * (the end of {@code cuda.h}, where older versions are declared by their literal names after {@code #undef}s) is read,
 * and its lines are flagged internal; its {@code #elif/#else} branches are not. Everywhere else that macro is
 * undefined, as in a user's build.
 */
final class CPreprocessor {
    /** The condition, without spaces, that opens {@code cuda.h}'s section of older-version prototypes. */
    static final String INTERNAL = "defined(__CUDA_API_VERSION_INTERNAL)";

    /** Receives each line of active code (no directives, no comments) with its 1-based number. */
    interface Sink {
        void line(int number, String text, boolean internal);
    }

    /** A macro: {@code params} is null for an object-like one. */
    record Macro(List<String> params, List<String> body) {
    }

    private static final class Frame {
        final boolean parentActive;
        final boolean internal;
        boolean taken;
        boolean active;

        Frame(boolean parentActive, boolean active, boolean internal) {
            this.parentActive = parentActive;
            this.active = parentActive && active;
            this.taken = !parentActive || active;
            this.internal = internal;
        }
    }

    private final Map<String, Macro> macros = new HashMap<>();
    /** Object-like defines outside the internal section whose expansion is one other identifier: API name → symbol. */
    final Map<String, String> mappings = new LinkedHashMap<>();
    private final Deque<Frame> stack = new ArrayDeque<>();

    CPreprocessor(Map<String, String> predefined) {
        predefined.forEach((name, value) -> macros.put(name, new Macro(null, CTokens.tokenize(value))));
    }

    void run(String source, Sink sink) {
        String[] lines = CTokens.stripComments(source).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int number = i + 1;
            StringBuilder line = new StringBuilder(lines[i]);
            while (line.toString().stripTrailing().endsWith("\\") && i + 1 < lines.length) {
                line.setLength(line.toString().stripTrailing().length() - 1);
                line.append(' ').append(lines[++i]);
            }
            String text = line.toString().strip();
            if (text.startsWith("#")) {
                directive(text.substring(1).strip(), number);
            } else if (active() && !text.isEmpty()) {
                sink.line(number, text, internal());
            }
        }
        if (!stack.isEmpty()) {
            throw new IllegalStateException(stack.size() + " #if blocks are not closed");
        }
    }

    private boolean active() {
        return stack.isEmpty() || stack.peek().active;
    }

    private boolean internal() {
        return stack.stream().anyMatch(f -> f.internal && f.active);
    }

    private void directive(String text, int line) {
        List<String> t = CTokens.tokenize(text);
        if (t.isEmpty()) {
            return;
        }
        List<String> rest = t.subList(1, t.size());
        switch (t.get(0)) {
            case "if" -> {
                boolean internal = String.join("", rest).equals(INTERNAL);
                stack.push(new Frame(active(), internal || active() && condition(rest), internal));
            }
            case "ifdef" -> stack.push(new Frame(active(), macros.containsKey(rest.get(0)), false));
            case "ifndef" -> stack.push(new Frame(active(), !macros.containsKey(rest.get(0)), false));
            case "elif", "else" -> {
                Frame f = stack.peek();
                if (f == null) {
                    throw new IllegalStateException("line " + line + ": #" + t.get(0) + " without #if");
                }
                f.active = !f.taken && (t.get(0).equals("else") || condition(rest));
                f.taken |= f.active;
            }
            case "endif" -> {
                if (stack.poll() == null) {
                    throw new IllegalStateException("line " + line + ": #endif without #if");
                }
            }
            case "define" -> {
                if (active()) {
                    define(text.substring("define".length()).strip());
                }
            }
            case "undef" -> {
                if (active()) {
                    macros.remove(rest.get(0));
                    if (!internal()) {
                        mappings.remove(rest.get(0));
                    }
                }
            }
            case "error" -> {
                if (active()) {
                    throw new IllegalStateException("line " + line + ": #" + text);
                }
            }
            default -> {
                // #include, #pragma, #line, #warning: nothing to keep
            }
        }
    }

    private void define(String text) {
        int end = 0;
        while (end < text.length() && (Character.isLetterOrDigit(text.charAt(end)) || text.charAt(end) == '_')) {
            end++;
        }
        String name = text.substring(0, end);
        List<String> params = null;
        String body = text.substring(end);
        if (body.startsWith("(")) {
            int close = body.indexOf(')');
            params = new ArrayList<>();
            for (String p : body.substring(1, close).split(",")) {
                if (!p.isBlank()) {
                    params.add(p.strip());
                }
            }
            body = body.substring(close + 1);
        }
        macros.put(name, new Macro(params, CTokens.tokenize(body)));
        if (params == null && !internal()) {
            List<String> target = expand(List.of(name));
            if (target.size() == 1 && CTokens.isIdentifier(target.get(0)) && !target.get(0).equals(name)) {
                mappings.put(name, target.get(0));
            }
        }
    }

    /** An {@code #if} condition: {@code defined} first, then macros; identifiers left over count as 0. */
    private boolean condition(List<String> tokens) {
        List<String> t = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            if (tokens.get(i).equals("defined")) {
                boolean paren = tokens.get(i + 1).equals("(");
                String name = tokens.get(paren ? i + 2 : i + 1);
                t.add(macros.containsKey(name) ? "1" : "0");
                i += paren ? 3 : 1;
            } else {
                t.add(tokens.get(i));
            }
        }
        return new CExpression(expand(t), name -> 0L).evaluate() != 0;
    }

    /** Expands the macros in {@code tokens} as they are defined now. */
    List<String> expand(List<String> tokens) {
        return expand(tokens, Set.of());
    }

    private List<String> expand(List<String> in, Set<String> hidden) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            String t = in.get(i);
            Macro m = macros.get(t);
            if (m == null || hidden.contains(t)) {
                out.add(t);
                continue;
            }
            Set<String> inner = new HashSet<>(hidden);
            inner.add(t);
            if (m.params() == null) {
                out.addAll(expand(m.body(), inner));
                continue;
            }
            List<List<String>> args = new ArrayList<>();
            int close = arguments(in, i + 1, args);
            if (close < 0) {
                out.add(t); // a function-like macro's name without arguments stays as it is
                continue;
            }
            List<String> body = new ArrayList<>();
            for (String b : m.body()) {
                int p = m.params().indexOf(b);
                body.addAll(p >= 0 && p < args.size() ? expand(args.get(p), hidden) : List.of(b));
            }
            out.addAll(expand(paste(body), inner));
            i = close;
        }
        return out;
    }

    /** Reads {@code ( a, b )} from {@code open}; returns the index of {@code )}, or -1 when there is none. */
    private static int arguments(List<String> in, int open, List<List<String>> args) {
        if (open >= in.size() || !in.get(open).equals("(")) {
            return -1;
        }
        List<String> current = new ArrayList<>();
        int depth = 0;
        for (int i = open + 1; i < in.size(); i++) {
            String t = in.get(i);
            if (depth == 0 && (t.equals(",") || t.equals(")"))) {
                args.add(current);
                current = new ArrayList<>();
                if (t.equals(")")) {
                    return i;
                }
                continue;
            }
            depth += t.equals("(") ? 1 : t.equals(")") ? -1 : 0;
            current.add(t);
        }
        return -1;
    }

    private static List<String> paste(List<String> body) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < body.size(); i++) {
            if (body.get(i).equals("##") && !out.isEmpty() && i + 1 < body.size()) {
                out.add(out.removeLast() + body.get(++i));
            } else {
                out.add(body.get(i));
            }
        }
        return out;
    }

    /** The integer value of an object-like macro, or empty when it has none (a cast, a string, nothing). */
    OptionalLong value(String name, Function<String, Long> identifiers) {
        Macro m = macros.get(name);
        if (m == null || m.params() != null) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(new CExpression(expand(List.of(name)), identifiers).evaluate());
        } catch (IllegalArgumentException e) {
            return OptionalLong.empty();
        }
    }
}
