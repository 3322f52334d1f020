package io.ferry.cuda;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Evaluates a C integer constant expression (of {@code #if} conditions, enumerator values and numeric macros) over
 * tokens whose macros are already expanded: literals (decimal, hex, octal, with {@code u}/{@code l} suffixes),
 * unary {@code ! ~ - +}, the binary operators from {@code *} to {@code ||}, {@code ?:} and parentheses. Any other
 * identifier is looked up in {@code identifiers} (enumerators); null there, a cast or a string is an
 * {@link IllegalArgumentException}.
 */
final class CExpression {
    private static final Map<String, Integer> PRECEDENCE = Map.ofEntries(Map.entry("||", 1), Map.entry("&&", 2),
            Map.entry("|", 3), Map.entry("^", 4), Map.entry("&", 5), Map.entry("==", 6), Map.entry("!=", 6),
            Map.entry("<", 7), Map.entry(">", 7), Map.entry("<=", 7), Map.entry(">=", 7), Map.entry("<<", 8),
            Map.entry(">>", 8), Map.entry("+", 9), Map.entry("-", 9), Map.entry("*", 10), Map.entry("/", 10),
            Map.entry("%", 10));

    private final List<String> tokens;
    private final Function<String, Long> identifiers;
    private int pos;

    CExpression(List<String> tokens, Function<String, Long> identifiers) {
        this.tokens = tokens;
        this.identifiers = identifiers;
    }

    long evaluate() {
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("empty expression");
        }
        long v = conditional();
        if (pos != tokens.size()) {
            throw new IllegalArgumentException("unexpected '" + tokens.get(pos) + "' in " + String.join(" ", tokens));
        }
        return v;
    }

    private String peek() {
        return pos < tokens.size() ? tokens.get(pos) : "";
    }

    private String next() {
        if (pos >= tokens.size()) {
            throw new IllegalArgumentException("unexpected end of " + String.join(" ", tokens));
        }
        return tokens.get(pos++);
    }

    private void expect(String t) {
        if (!next().equals(t)) {
            throw new IllegalArgumentException("expected '" + t + "' in " + String.join(" ", tokens));
        }
    }

    private long conditional() {
        long c = binary(1);
        if (!peek().equals("?")) {
            return c;
        }
        next();
        long a = conditional();
        expect(":");
        long b = conditional();
        return c != 0 ? a : b;
    }

    private long binary(int min) {
        long left = unary();
        for (Integer p = PRECEDENCE.get(peek()); p != null && p >= min; p = PRECEDENCE.get(peek())) {
            String op = next();
            long right = binary(p + 1);
            left = switch (op) {
                case "||" -> left != 0 || right != 0 ? 1 : 0;
                case "&&" -> left != 0 && right != 0 ? 1 : 0;
                case "|" -> left | right;
                case "^" -> left ^ right;
                case "&" -> left & right;
                case "==" -> left == right ? 1 : 0;
                case "!=" -> left != right ? 1 : 0;
                case "<" -> left < right ? 1 : 0;
                case ">" -> left > right ? 1 : 0;
                case "<=" -> left <= right ? 1 : 0;
                case ">=" -> left >= right ? 1 : 0;
                case "<<" -> left << right;
                case ">>" -> left >> right;
                case "+" -> left + right;
                case "-" -> left - right;
                case "*" -> left * right;
                case "/" -> left / right;
                default -> left % right;
            };
        }
        return left;
    }

    private long unary() {
        String t = next();
        switch (t) {
            case "!":
                return unary() == 0 ? 1 : 0;
            case "~":
                return ~unary();
            case "-":
                return -unary();
            case "+":
                return unary();
            case "(":
                long v = conditional();
                expect(")");
                return v;
            default:
                break;
        }
        if (Character.isDigit(t.charAt(0))) {
            return literal(t);
        }
        Long v = CTokens.isIdentifier(t) ? identifiers.apply(t) : null;
        if (v == null) {
            throw new IllegalArgumentException("'" + t + "' is not an integer constant");
        }
        return v;
    }

    static long literal(String t) {
        String digits = t.replaceAll("[uUlL]+$", "");
        if (digits.startsWith("0x") || digits.startsWith("0X")) {
            return Long.parseUnsignedLong(digits.substring(2), 16);
        }
        if (digits.length() > 1 && digits.startsWith("0")) {
            return Long.parseLong(digits.substring(1), 8);
        }
        return Long.parseLong(digits);
    }
}
