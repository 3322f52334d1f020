import com.aparapi.Kernel;
import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;

import java.util.List;

/**
 * Aparapi (Java bytecode turned into OpenCL C at run time, through its own JNI library and libOpenCL.so.1): four
 * kernels on the first OpenCL device the environment gives, each checked against plain Java. One line per kernel:
 * NAME ok|WRONG (and whether it ran as OpenCL), so the lines compare across platforms (tools/compat/apps.sh).
 */
public class AparapiCompat {
    public static void main(String[] args) {
        List<OpenCLDevice> devices = OpenCLDevice.listDevices(null);
        if (devices.isEmpty()) {
            System.out.println("aparapi: no OpenCL device");
            System.exit(1);
        }
        OpenCLDevice dev = devices.get(0);
        System.out.println("device " + dev.getOpenCLPlatform().getName() + " / " + dev.getName());
        int failed = hypot(dev) + matmul(dev) + reduce(dev) + explicitPasses(dev);
        System.out.println("aparapi: " + (4 - failed) + " ok, " + failed + " failed");
    }

    static int report(String name, Kernel k, boolean ok) {
        boolean cl = k.isRunningCL();
        System.out.println(name + " " + (ok ? "ok" : "WRONG") + " opencl=" + cl);
        k.dispose();
        return ok && cl ? 0 : 1;
    }

    static int hypot(OpenCLDevice dev) {
        final int n = 1 << 20;
        final float[] a = new float[n], b = new float[n], out = new float[n];
        for (int i = 0; i < n; i++) { a[i] = i * 0.5f; b[i] = (n - i) * 0.25f; }
        Kernel k = new Kernel() {
            @Override public void run() {
                int i = getGlobalId();
                out[i] = sqrt(a[i] * a[i] + b[i] * b[i]);
            }
        };
        k.execute(dev.createRange(n));
        boolean ok = true;
        for (int i = 0; i < n; i++) {
            float want = (float) Math.sqrt(a[i] * a[i] + b[i] * b[i]);
            ok &= Math.abs(out[i] - want) <= 1e-6f * want + 1e-6f;
        }
        return report("hypot-1M", k, ok);
    }

    static int matmul(OpenCLDevice dev) {
        final int n = 256;
        final float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        for (int i = 0; i < n * n; i++) { a[i] = (i % 17) - 8; b[i] = (i % 13) - 6; }
        Kernel k = new Kernel() {
            @Override public void run() {
                int row = getGlobalId(1), col = getGlobalId(0);
                float s = 0;
                for (int i = 0; i < n; i++) s += a[row * n + i] * b[i * n + col];
                c[row * n + col] = s;
            }
        };
        k.execute(dev.createRange2D(n, n, 16, 16));
        boolean ok = true;
        for (int row = 0; row < n; row++)
            for (int col = 0; col < n; col++) {
                float s = 0;
                for (int i = 0; i < n; i++) s += a[row * n + i] * b[i * n + col];
                ok &= s == c[row * n + col]; // small integers: exact in float
            }
        return report("matmul-256-2d", k, ok);
    }

    static int reduce(OpenCLDevice dev) {
        final int n = 1 << 18, group = 256;
        final int[] in = new int[n], partial = new int[n / group];
        for (int i = 0; i < n; i++) in[i] = (i * 7919) % 1000;
        Kernel k = new Kernel() {
            final int[] local_$local$ = new int[group]; // Aparapi's naming for __local memory

            @Override public void run() {
                int lid = getLocalId(), g = getGroupId();
                local_$local$[lid] = in[getGlobalId()];
                localBarrier();
                for (int s = getLocalSize() / 2; s > 0; s >>= 1) {
                    if (lid < s) local_$local$[lid] += local_$local$[lid + s];
                    localBarrier();
                }
                if (lid == 0) partial[g] = local_$local$[0];
            }
        };
        k.execute(dev.createRange(n, group));
        long got = 0, want = 0;
        for (int p : partial) got += p;
        for (int v : in) want += v;
        return report("reduce-local-256k", k, got == want);
    }

    static int explicitPasses(OpenCLDevice dev) {
        final int n = 1 << 16;
        final int[] v = new int[n];
        Kernel k = new Kernel() {
            @Override public void run() {
                int i = getGlobalId();
                v[i] = v[i] * 3 + i % 5;
            }
        };
        k.setExplicit(true);
        k.put(v);
        Range r = dev.createRange(n);
        for (int pass = 0; pass < 10; pass++) k.execute(r);
        k.get(v);
        boolean ok = true;
        for (int i = 0; i < n; i++) {
            int want = 0;
            for (int pass = 0; pass < 10; pass++) want = want * 3 + i % 5;
            ok &= v[i] == want;
        }
        return report("explicit-10-passes", k, ok);
    }
}
