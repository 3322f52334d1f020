package io.ferry.spi;

import io.ferry.protocol.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The build options a guest may give a compiler: an allow-list, because every compiler has options that read host
 * files ({@code -I}, {@code -include}, {@code @file}, {@code -x}, plugins) and a deny-list always misses one. What
 * makes {@code #include "/etc/…"} in the source harmless is where the compiler runs (the worker's sandbox sees no
 * host file); this class keeps the options from reaching anything either.
 *
 * <p>Allowed, for OpenCL C: the {@code -cl-*} options of the OpenCL 3.0 specification (§5.8.6), {@code -cl-std=CL1.0}
 * to {@code CL3.0}, {@code -D NAME[=VALUE]} or {@code -DNAME[=VALUE]} with NAME an identifier, or a function-like
 * macro's {@code NAME(a,b)}, and VALUE any printable ASCII without white space (options are split at white space and
 * handed to the compiler as separate arguments, never to a shell; a value without a line break cannot start a
 * directive: it is only a macro's body, which says nothing the program's source could not say itself, e.g. OpenCV's
 * {@code -D COEFF=DIG(9)DIG(29)}), {@code -w}, {@code -Werror}. For CUDA C (NVRTC): {@code -arch=}/{@code --gpu-architecture=}
 * {@code compute_NN|sm_NN}, {@code -std=}/{@code --std=c++NN}, {@code -D}/{@code --define-macro=} as above,
 * {@code --use_fast_math}, {@code -lineinfo}, {@code --generate-line-info}, {@code -G}, {@code --device-debug},
 * {@code --fmad=}, {@code --ftz=}, {@code --prec-div=}, {@code --prec-sqrt=} (true|false), {@code -w},
 * {@code --disable-warnings}, {@code -maxrregcount=N}, {@code --maxrregcount=N}, {@code -default-device},
 * {@code -dopt=on|off}. Everything else is refused with {@link Status.INVALID_ARGUMENT}, naming the option.
 */
public final class BuildOptions {
    /** Which compiler the options are for; {@link #ANY}: either (the host, which does not know the language). */
    public enum Dialect { OPENCL, NVRTC, ANY }

    /** Longer option strings are refused: nothing legitimate comes near. */
    public static final int MAX_LENGTH = 16384;

    private static final Set<String> CL_FLAGS = Set.of("-cl-single-precision-constant", "-cl-denorms-are-zero",
            "-cl-fp32-correctly-rounded-divide-sqrt", "-cl-opt-disable", "-cl-mad-enable", "-cl-no-signed-zeros",
            "-cl-unsafe-math-optimizations", "-cl-finite-math-only", "-cl-fast-relaxed-math",
            "-cl-uniform-work-group-size", "-cl-no-subgroup-ifp", "-cl-kernel-arg-info", "-cl-strict-aliasing",
            "-w", "-Werror",
            // link options (clLinkProgram): what to make, and whether the compile options of the inputs still apply
            "-create-library", "-enable-link-options");
    private static final Pattern CL_STD = Pattern.compile("-cl-std=CL(1\\.[012]|2\\.0|3\\.0)");
    private static final Set<String> NVRTC_FLAGS = Set.of("--use_fast_math", "-use_fast_math", "-lineinfo",
            "--generate-line-info", "-G", "--device-debug", "-w", "--disable-warnings", "-default-device",
            "--extensible-whole-program", "-ewp");
    private static final Pattern NVRTC_VALUED = Pattern.compile(
            "(-arch=|--gpu-architecture=)(compute|sm)_[0-9]{2,3}[af]?"
                    + "|(-std=|--std=)c\\+\\+(03|11|14|17|20)"
                    + "|--(fmad|ftz|prec-div|prec-sqrt)=(true|false)"
                    + "|-?-maxrregcount=[0-9]{1,3}"
                    + "|-dopt=(on|off)");
    private static final Pattern MACRO = Pattern.compile(
            "[A-Za-z_][A-Za-z0-9_]{0,127}(\\([A-Za-z0-9_,.]{0,256}\\))?(=[\\x21-\\x7e]*)?");

    private BuildOptions() {
    }

    /**
     * Checks {@code options} (space-separated, as {@code clBuildProgram} takes them) for {@code dialect}; returns
     * the options split into arguments.
     *
     * @throws BackendException {@link Status.INVALID_ARGUMENT} naming the first option not allowed
     */
    public static List<String> check(String options, Dialect dialect) throws BackendException {
        List<String> out = new ArrayList<>();
        if (options == null || options.isBlank()) {
            return out;
        }
        if (options.length() > MAX_LENGTH) {
            throw refuse("build options of " + options.length() + " characters are over the limit of " + MAX_LENGTH);
        }
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (c < 0x20 && c != '\t' || c > 0x7e) {
                throw refuse("build options hold the character U+" + String.format("%04X", (int) c)
                        + " at position " + i + "; only printable ASCII is allowed");
            }
        }
        String[] args = options.strip().split("[ \t]+");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-D") || a.equals("--define-macro")) {
                if (a.equals("--define-macro") && dialect == Dialect.OPENCL) {
                    throw notAllowed(a, dialect);
                }
                if (i + 1 >= args.length) {
                    throw refuse("build option '" + a + "' needs a macro after it, e.g. -D N=4");
                }
                checkMacro(args[++i]);
                out.add(a);
                out.add(args[i]);
                continue;
            }
            if (a.startsWith("-D") && a.length() > 2) {
                checkMacro(a.substring(2));
            } else if (a.startsWith("--define-macro=") && dialect != Dialect.OPENCL) {
                checkMacro(a.substring("--define-macro=".length()));
            } else if (!allowed(a, dialect)) {
                throw notAllowed(a, dialect);
            }
            out.add(a);
        }
        return out;
    }

    /** {@code options} unchanged when every option is allowed for either compiler; else the refusal. */
    public static String checked(String options) throws BackendException {
        check(options, Dialect.ANY);
        return options;
    }

    private static boolean allowed(String a, Dialect d) {
        boolean cl = CL_FLAGS.contains(a) || CL_STD.matcher(a).matches();
        boolean nv = NVRTC_FLAGS.contains(a) || NVRTC_VALUED.matcher(a).matches();
        return switch (d) {
            case OPENCL -> cl;
            case NVRTC -> nv;
            case ANY -> cl || nv;
        };
    }

    private static void checkMacro(String m) throws BackendException {
        if (!MACRO.matcher(m).matches()) {
            throw refuse("build option -D" + m + " is not allowed: a macro is NAME, NAME=VALUE or NAME(PARAMS)=VALUE, "
                    + "NAME an identifier (at most 128 characters) and VALUE printable ASCII without spaces");
        }
    }

    private static BackendException notAllowed(String a, Dialect d) {
        String hint = a.startsWith("-I") || a.startsWith("-include") || a.startsWith("@") || a.startsWith("-x")
                || a.startsWith("--include") || a.startsWith("--pre-include")
                ? "; options that read files are never allowed: put what you need in the program source" : "";
        String list = d == Dialect.NVRTC ? "-arch=compute_NN, -std=c++NN, -D NAME[=VALUE], --use_fast_math, "
                + "-lineinfo, --fmad=, --ftz=, --prec-div=, --prec-sqrt=, -G, -w"
                : "-cl-* options of the OpenCL specification, -cl-std=CL1.0..CL3.0, -D NAME[=VALUE], -w, -Werror"
                + (d == Dialect.ANY ? "; for CUDA: -arch=compute_NN, -std=c++NN, --use_fast_math, -lineinfo, ..." : "");
        return refuse("build option '" + a + "' is not allowed" + hint + " (allowed: " + list + ")");
    }

    private static BackendException refuse(String message) {
        return new BackendException(Status.INVALID_ARGUMENT, message);
    }
}
