package io.ferry.cuda;

import java.util.ArrayList;
import java.util.List;

/** C tokens for {@link CPreprocessor} and {@link CHeader}: comments out, text into tokens, brackets and commas. */
final class CTokens {
    private CTokens() {
    }

    static boolean isIdentifier(String t) {
        return !t.isEmpty() && (Character.isLetter(t.charAt(0)) || t.charAt(0) == '_');
    }

    /** C tokens: identifiers, numbers, string and character literals, punctuators. */
    static List<String> tokenize(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int start = i;
            if (Character.isWhitespace(c)) {
                i++;
                continue;
            }
            if (Character.isLetterOrDigit(c) || c == '_') {
                while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_' || s.charAt(i) == '.'
                        && Character.isDigit(c))) {
                    i++;
                }
            } else if (c == '"' || c == '\'') {
                for (i++; i < s.length() && s.charAt(i) != c; i++) {
                    i += s.charAt(i) == '\\' ? 1 : 0;
                }
                i = Math.min(i + 1, s.length());
            } else if (s.startsWith("...", i)) {
                i += 3;
            } else if (i + 1 < s.length() && List.of("##", "&&", "||", "<<", ">>", "<=", ">=", "==", "!=", "->")
                    .contains(s.substring(i, i + 2))) {
                i += 2;
            } else {
                i++;
            }
            out.add(s.substring(start, i));
        }
        return out;
    }

    /** Replaces comments with a space (newlines kept, so line numbers stay); literals end at their line's end. */
    static String stripComments(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (s.startsWith("//", i)) {
                while (i < s.length() && s.charAt(i) != '\n') {
                    i++;
                }
                out.append(' ');
            } else if (s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                end = end < 0 ? s.length() : end + 2;
                out.append(' ').append(s.substring(i, end).replaceAll("[^\n]", ""));
                i = end;
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < s.length() && s.charAt(j) != c && s.charAt(j) != '\n') {
                    j += s.charAt(j) == '\\' ? 2 : 1;
                }
                j = Math.min(j < s.length() && s.charAt(j) == c ? j + 1 : j, s.length());
                out.append(s, i, j);
                i = j;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** The index of the bracket that closes the one at {@code open}. */
    static int close(List<String> t, int open) {
        String o = t.get(open);
        String c = o.equals("(") ? ")" : o.equals("{") ? "}" : "]";
        int d = 0;
        for (int i = open; i < t.size(); i++) {
            d += t.get(i).equals(o) ? 1 : t.get(i).equals(c) ? -1 : 0;
            if (d == 0) {
                return i;
            }
        }
        throw new IllegalArgumentException("unbalanced " + o + " in " + String.join(" ", t));
    }

    /** Splits at the commas outside brackets. */
    static List<List<String>> split(List<String> t) {
        List<List<String>> out = new ArrayList<>();
        List<String> current = new ArrayList<>();
        int d = 0;
        for (String x : t) {
            d += x.equals("(") || x.equals("{") || x.equals("[") ? 1 : x.equals(")") || x.equals("}") || x.equals("]") ? -1 : 0;
            if (d == 0 && x.equals(",")) {
                out.add(current);
                current = new ArrayList<>();
            } else {
                current.add(x);
            }
        }
        out.add(current);
        return out;
    }
}
