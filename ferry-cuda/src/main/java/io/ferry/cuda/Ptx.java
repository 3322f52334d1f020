package io.ferry.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What Ferry reads from PTX text: each kernel entry ({@code .entry name(.param ...)}) and the size and alignment of
 * its parameters. NVRTC produces PTX too, so this serves both source languages; the driver's
 * {@code cuFuncGetParamInfo} (CUDA ≥ 12.4) cross-checks the sizes where it exists. Pure Java.
 *
 * <p>Grammar handled (PTX ISA 8/9): optional {@code .visible}/{@code .weak} before {@code .entry}; a parameter list
 * in parentheses (or none); each parameter {@code .param [.align N] .TYPE [.ptr [.space] [.align N]] NAME[\[COUNT\]]},
 * e.g. {@code .param .u64 .ptr .global .align 4 vadd_param_0} or {@code .param .align 8 .b8 s_param_2[16]};
 * comments {@code //} and {@code /* *\/}.
 */
final class Ptx {
    /** One kernel parameter: its PTX name, element type ({@code "u64"}), total size and alignment in bytes. */
    record Param(String name, String type, long size, long align, boolean pointer) {
        /** {@code ".u32, 4 bytes"}. */
        String describe() {
            return "." + type + (size != typeSize(type) ? "[" + size / Math.max(1, typeSize(type)) + "]" : "")
                    + (pointer ? " pointer" : "") + ", " + size + (size == 1 ? " byte" : " bytes");
        }
    }

    /** One kernel: its (possibly mangled) name and parameters in order. */
    record Entry(String name, List<Param> params) {
    }

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+([A-Za-z_$%][\\w$%]*)\\s*(\\(([^)]*)\\))?");
    private static final Pattern ARRAY = Pattern.compile("^(.*?)\\[(\\d+)]$");

    private Ptx() {
    }

    /** Every {@code .entry} of the PTX text, in order. */
    static List<Entry> entries(String ptx) {
        String text = stripComments(ptx);
        List<Entry> out = new ArrayList<>();
        Matcher m = ENTRY.matcher(text);
        while (m.find()) {
            String list = m.group(3);
            List<Param> params = new ArrayList<>();
            if (list != null && !list.isBlank()) {
                for (String p : list.split(",")) {
                    Param param = param(p.strip());
                    if (param != null) {
                        params.add(param);
                    }
                }
            }
            out.add(new Entry(m.group(1), List.copyOf(params)));
        }
        return out;
    }

    /** Parses one {@code .param ...} declaration; null when it is not one. */
    static Param param(String decl) {
        String[] tokens = decl.trim().split("\\s+");
        if (tokens.length < 3 || !tokens[0].equals(".param")) {
            return null;
        }
        String type = null;
        long align = 0;
        boolean pointer = false;
        for (int i = 1; i < tokens.length - 1; i++) {
            String t = tokens[i];
            if (t.equals(".align") && i + 1 < tokens.length - 1) {
                if (type == null) {
                    align = parseLong(tokens[++i]);
                } else {
                    i++; // .ptr .align N: the pointee's alignment, not the parameter's
                }
            } else if (t.equals(".ptr")) {
                pointer = true;
            } else if (type == null && t.startsWith(".") && typeSize(t.substring(1)) > 0) {
                type = t.substring(1);
            }
        }
        if (type == null) {
            return null;
        }
        String name = tokens[tokens.length - 1];
        long count = 1;
        Matcher a = ARRAY.matcher(name);
        if (a.matches()) {
            name = a.group(1);
            count = parseLong(a.group(2));
        }
        long elem = typeSize(type);
        return new Param(name, type, elem * count, align > 0 ? align : elem, pointer);
    }

    /** Bytes of a PTX fundamental type ({@code "u32"} → 4), or 0 when it is not one. */
    static long typeSize(String type) {
        return switch (type.toLowerCase(Locale.ROOT)) {
            case "u8", "s8", "b8", "pred" -> 1;
            case "u16", "s16", "b16", "f16", "bf16" -> 2;
            case "u32", "s32", "b32", "f32", "f16x2", "bf16x2" -> 4;
            case "u64", "s64", "b64", "f64" -> 8;
            case "b128" -> 16;
            default -> 0;
        };
    }

    /**
     * The entry for a kernel name: the exact name (a kernel declared {@code extern "C"}, or PTX), else the single
     * entry whose name is the C++ (Itanium) mangling of a function of that name at global scope
     * ({@code _Z4vaddPKfS0_Pfi} for {@code vadd}). Null when none matches; throws when several overloads do.
     */
    static Entry find(List<Entry> entries, String name) throws AmbiguousNameException {
        for (Entry e : entries) {
            if (e.name.equals(name)) {
                return e;
            }
        }
        String prefix = "_Z" + name.length() + name;
        List<Entry> mangled = new ArrayList<>();
        for (Entry e : entries) {
            if (e.name.startsWith(prefix) && e.name.length() > prefix.length()
                    && !Character.isDigit(e.name.charAt(prefix.length()))) {
                mangled.add(e);
            }
        }
        if (mangled.size() > 1) {
            throw new AmbiguousNameException(mangled.stream().map(Entry::name).toList());
        }
        return mangled.isEmpty() ? null : mangled.getFirst();
    }

    /** Several overloads of a C++ kernel match one name. */
    static final class AmbiguousNameException extends Exception {
        private static final long serialVersionUID = 1L;
        final List<String> names;

        AmbiguousNameException(List<String> names) {
            super("overloads " + names);
            this.names = names;
        }
    }

    /** The text without {@code //} and {@code /* *\/} comments. */
    static String stripComments(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                while (i < n && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                sb.append(' ');
            } else {
                sb.append(c);
                i++;
            }
        }
        return sb.toString();
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.replaceAll("[^0-9]", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
