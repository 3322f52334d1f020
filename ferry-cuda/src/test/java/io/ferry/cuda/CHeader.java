package io.ferry.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The declarations of a C header as a Linux LP64 C compiler (GCC) sees them, for checking FFM bindings against
 * {@code cuda.h} and {@code nvrtc.h}: function prototypes by the symbol they declare (after macro expansion, so
 * {@code cuMemAlloc(...)} under {@code #define cuMemAlloc cuMemAlloc_v2} declares {@code cuMemAlloc_v2}), the
 * API-name → symbol defines, typedefs (resolved to a width and a floating/integer class) and enumerator values.
 * Prototypes in {@code cuda.h}'s {@code __CUDA_API_VERSION_INTERNAL} section are read too (see {@link CPreprocessor}).
 */
final class CHeader {
    /** A gcc -std=c17 build on 64-bit Linux, with no CUDA options defined. */
    static final Map<String, String> LP64_GCC = Map.of("__LP64__", "1", "__linux__", "1", "__GNUC__", "13",
            "__GNUC_MINOR__", "2", "__STDC__", "1", "__STDC_VERSION__", "201710L");

    private enum Kind { POINTER, ENUM, BY_VALUE, ALIAS }

    private record Typedef(Kind kind, List<String> base) {
    }

    /** A parameter's or result's type as the LP64 C ABI passes it: its width in bytes (0: void) and its class. */
    record CType(String spelling, int size, boolean floating) {
        @Override
        public String toString() {
            return spelling + " (" + (size == 0 ? "void" : size + "-byte " + (floating ? "floating" : "integer")) + ")";
        }
    }

    /** One prototype: the symbol it declares, its return and parameter tokens, where it is, as written. */
    record Prototype(String symbol, List<String> returns, List<List<String>> params, int line, boolean internal,
            String text) {
        @Override
        public String toString() {
            return "line " + line + (internal ? " (__CUDA_API_VERSION_INTERNAL section)" : "") + ": " + text;
        }
    }

    private static final Set<String> QUALIFIERS = Set.of("const", "volatile", "restrict", "__restrict",
            "__restrict__", "register");
    private static final Set<String> PRIMITIVES = Set.of("void", "char", "short", "int", "long", "signed",
            "unsigned", "float", "double", "_Bool");
    private static final Map<String, Integer> STANDARD = Map.ofEntries(Map.entry("size_t", 8), Map.entry("ssize_t", 8),
            Map.entry("ptrdiff_t", 8), Map.entry("intptr_t", 8), Map.entry("uintptr_t", 8), Map.entry("int8_t", 1),
            Map.entry("uint8_t", 1), Map.entry("int16_t", 2), Map.entry("uint16_t", 2), Map.entry("int32_t", 4),
            Map.entry("uint32_t", 4), Map.entry("int64_t", 8), Map.entry("uint64_t", 8), Map.entry("bool", 1));

    final CPreprocessor pp;
    private final Map<String, Typedef> typedefs = new HashMap<>();
    private final Map<String, Long> enumerators = new LinkedHashMap<>();
    private final Map<String, List<Prototype>> prototypes = new LinkedHashMap<>();
    private final List<String> decl = new ArrayList<>();
    private int declLine;
    private boolean declInternal;
    private int depth;
    private boolean inBody;

    private CHeader(Map<String, String> predefined) {
        pp = new CPreprocessor(predefined);
    }

    static CHeader parse(String source) {
        CHeader h = new CHeader(LP64_GCC);
        h.pp.run(source, h::line);
        return h;
    }

    static CHeader read(Path file) throws IOException {
        return parse(Files.readString(file));
    }

    /** The symbol {@code api} stands for in a user's build: the define's target, else the name itself. */
    String symbolFor(String api) {
        return pp.mappings.getOrDefault(api, api);
    }

    /** The API name whose define maps to {@code symbol}, if one does. */
    Optional<String> apiFor(String symbol) {
        return pp.mappings.entrySet().stream().filter(e -> e.getValue().equals(symbol)).map(Map.Entry::getKey).findFirst();
    }

    boolean declares(String symbol) {
        return prototypes.containsKey(symbol);
    }

    /** Every prototype that declares {@code symbol} (after expansion), in header order; empty when none does. */
    List<Prototype> prototypes(String symbol) {
        return prototypes.getOrDefault(symbol, List.of());
    }

    /** The value of an enumerator or of an integer {@code #define}. */
    OptionalLong constant(String name) {
        Long v = enumerators.get(name);
        return v != null ? OptionalLong.of(v) : pp.value(name, enumerators::get);
    }

    List<CType> paramTypes(Prototype p) {
        List<CType> out = new ArrayList<>();
        for (List<String> param : p.params()) {
            out.add(type(param));
        }
        return out;
    }

    CType returnType(Prototype p) {
        return type(p.returns());
    }

    /**
     * The type of a declaration's tokens (a parameter with or without its name, or a return type): any {@code *},
     * {@code []} or function-pointer parentheses make it a pointer; else primitives by their keywords and typedefs
     * through their chain. A struct, union or array by value is an {@link IllegalArgumentException}.
     */
    CType type(List<String> tokens) {
        return type(tokens, 0);
    }

    private CType type(List<String> tokens, int hops) {
        List<String> t = tokens.stream().filter(x -> !QUALIFIERS.contains(x)).toList();
        if (t.isEmpty() || hops > 32) {
            throw new IllegalArgumentException("cannot read the type of '" + String.join(" ", tokens) + "'");
        }
        String spelling = String.join(" ", t);
        if (t.contains("*") || t.contains("[") || t.contains("(")) {
            return new CType(spelling, 8, false);
        }
        if (t.get(0).equals("enum")) {
            return new CType(spelling, 4, false);
        }
        if (t.get(0).equals("struct") || t.get(0).equals("union")) {
            throw new IllegalArgumentException(spelling + " is passed by value: no FFM value layout matches it");
        }
        List<String> words = t.stream().takeWhile(PRIMITIVES::contains).toList();
        if (!words.isEmpty()) {
            String name = String.join(" ", words);
            int longs = (int) words.stream().filter("long"::equals).count();
            int size = words.contains("void") ? 0 : words.contains("char") || words.contains("_Bool") ? 1
                    : words.contains("short") ? 2 : words.contains("float") ? 4
                    : words.contains("double") ? (longs > 0 ? 16 : 8) : longs > 0 ? 8 : 4;
            return new CType(name, size, words.contains("float") || words.contains("double"));
        }
        String name = t.get(0);
        Typedef td = typedefs.get(name);
        if (td == null) {
            Integer size = STANDARD.get(name);
            if (size == null) {
                throw new IllegalArgumentException("unknown type " + name);
            }
            return new CType(name, size, false);
        }
        return switch (td.kind()) {
            case POINTER -> new CType(name + " (pointer)", 8, false);
            case ENUM -> new CType(name + " (enum)", 4, false);
            case BY_VALUE -> throw new IllegalArgumentException(name + " (" + String.join(" ", td.base())
                    + ") is passed by value: no FFM value layout matches it");
            case ALIAS -> {
                try {
                    CType base = type(td.base(), hops + 1);
                    yield new CType(name + " = " + base.spelling(), base.size(), base.floating());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(name + " = " + e.getMessage(), e);
                }
            }
        };
    }

    // ---- reading declarations ----

    private void line(int number, String text, boolean internal) {
        for (String t : CTokens.tokenize(text)) {
            if (decl.isEmpty()) {
                declLine = number;
                declInternal = internal;
            }
            decl.add(t);
            switch (t) {
                case "{" -> {
                    // a function's body (static inline helpers): skipped whole
                    inBody |= depth == 0 && decl.size() > 1 && decl.get(decl.size() - 2).equals(")")
                            && !decl.get(0).equals("typedef");
                    depth++;
                }
                case "}" -> {
                    if (--depth == 0 && inBody) {
                        decl.clear();
                        inBody = false;
                    }
                }
                case ";" -> {
                    if (depth == 0) {
                        declaration(new ArrayList<>(decl.subList(0, decl.size() - 1)));
                        decl.clear();
                    }
                }
                default -> {
                }
            }
        }
    }

    private void declaration(List<String> written) {
        List<String> t = withoutAttributes(pp.expand(written));
        if (t.isEmpty() || t.contains("static") || t.contains("inline")) {
            return;
        }
        if (t.get(0).equals("typedef")) {
            typedef(t.subList(1, t.size()));
        } else if (t.get(0).equals("enum") && t.contains("{")) {
            enumerators(t.subList(t.indexOf("{") + 1, CTokens.close(t, t.indexOf("{"))));
        } else if (!t.contains("{")) { // a struct or union definition declares no function
            prototype(t, written);
        }
    }

    private static List<String> withoutAttributes(List<String> t) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            String x = t.get(i);
            if ((x.equals("__attribute__") || x.equals("__declspec")) && i + 1 < t.size() && t.get(i + 1).equals("(")) {
                i = CTokens.close(t, i + 1);
            } else if (!x.equals("extern") && !x.equals("__extension__")) {
                out.add(x);
            }
        }
        return out;
    }

    private void prototype(List<String> t, List<String> written) {
        int open = 1;
        while (open < t.size() && !(t.get(open).equals("(") && CTokens.isIdentifier(t.get(open - 1)))) {
            open++;
        }
        if (open >= t.size() || open < 2 || CTokens.close(t, open) != t.size() - 1) {
            return; // not a function declaration (a variable, a function pointer)
        }
        List<List<String>> params = CTokens.split(t.subList(open + 1, t.size() - 1));
        if (params.size() == 1 && (params.get(0).isEmpty() || params.get(0).equals(List.of("void")))) {
            params = List.of();
        }
        String text = String.join(" ", written).replaceAll(" ?([(),]) ?", "$1").replace(",", ", ").replace("* ", "*");
        Prototype p = new Prototype(t.get(open - 1), List.copyOf(t.subList(0, open - 1)), params, declLine, declInternal,
                text + ";");
        prototypes.computeIfAbsent(p.symbol(), k -> new ArrayList<>()).add(p);
    }

    private void typedef(List<String> t) {
        if (t.contains("{")) {
            int open = t.indexOf("{");
            int close = CTokens.close(t, open);
            boolean isEnum = t.get(0).equals("enum");
            if (isEnum) {
                enumerators(t.subList(open + 1, close));
            }
            List<String> base = List.of(t.get(0), open > 1 ? t.get(1) : "(anonymous)");
            for (List<String> d : CTokens.split(t.subList(close + 1, t.size()))) {
                declare(d, isEnum ? Kind.ENUM : Kind.BY_VALUE, base);
            }
        } else if (t.contains("(")) {
            int open = t.indexOf("(");
            int close = CTokens.close(t, open);
            List<String> inner = t.subList(open + 1, close);
            if (inner.contains("*")) {
                typedefs.putIfAbsent(inner.getLast(), new Typedef(Kind.POINTER, t)); // (*name)(...): function pointer
            } else {
                typedefs.putIfAbsent(t.get(open - 1), new Typedef(Kind.BY_VALUE, t)); // a function type
            }
        } else {
            List<List<String>> declarators = CTokens.split(t);
            List<String> first = declarators.get(0);
            int name = first.contains("[") ? first.indexOf("[") - 1 : first.size() - 1;
            int end = first.subList(0, Math.max(name, 0)).indexOf("*");
            List<String> base = List.copyOf(first.subList(0, end < 0 ? Math.max(name, 0) : end));
            declare(first.subList(base.size(), first.size()), Kind.ALIAS, base);
            for (List<String> d : declarators.subList(1, declarators.size())) {
                declare(d, Kind.ALIAS, base);
            }
        }
    }

    /** One declarator of a typedef ({@code NAME}, {@code *NAME}, {@code NAME[16]}) over {@code base}. */
    private void declare(List<String> d, Kind kind, List<String> base) {
        if (d.isEmpty()) {
            return;
        }
        boolean array = d.contains("[");
        String name = array ? d.get(d.indexOf("[") - 1) : d.getLast();
        Kind k = d.contains("*") ? Kind.POINTER : array ? Kind.BY_VALUE : kind;
        typedefs.putIfAbsent(name, new Typedef(k, base));
    }

    private void enumerators(List<String> body) {
        long next = 0;
        boolean known = true;
        for (List<String> e : CTokens.split(body)) {
            if (e.isEmpty()) {
                continue;
            }
            if (e.size() > 2 && e.get(1).equals("=")) {
                try {
                    next = new CExpression(e.subList(2, e.size()), enumerators::get).evaluate();
                    known = true;
                } catch (IllegalArgumentException x) {
                    known = false;
                }
            }
            if (known) {
                enumerators.putIfAbsent(e.get(0), next);
            }
            next++;
        }
    }
}
