// Boost.Compute (Debian's libboost-dev; a C++ library over OpenCL nobody here wrote) on the default OpenCL device:
// sort, sort_by_key, reduce, transform with a lambda and with a user function, inclusive and exclusive scan,
// count_if, min_element, a user kernel from source; each result checked against the C++ standard library on the
// CPU. Prints one line per algorithm: NAME ok|FAIL (and the first difference), then "boost.compute: N ok, M failed".
// Build: g++ -O2 -std=c++17 -DCL_TARGET_OPENCL_VERSION=120 boost_compute.cpp -lOpenCL (tools/compat/apps.sh does). The platform is whatever the
// environment gives (OCL_ICD_VENDORS).
#define BOOST_COMPUTE_DEBUG_KERNEL_COMPILATION 0
#include <boost/compute.hpp>
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

namespace bc = boost::compute;

static int ok_count, failed;

template <typename T>
static void check(const char *name, const std::vector<T> &got, const std::vector<T> &want) {
    for (size_t i = 0; i < want.size(); i++) {
        if (i >= got.size() || !(got[i] == want[i])) {
            std::printf("%s FAIL at %zu of %zu\n", name, i, want.size());
            failed++;
            return;
        }
    }
    std::printf("%s ok\n", name);
    ok_count++;
}

BOOST_COMPUTE_FUNCTION(int, collatz_steps, (int x), {
    int n = 0;
    while (x > 1 && n < 1000) { x = (x & 1) ? 3 * x + 1 : x / 2; n++; }
    return n;
});

int main() {
    bc::device dev = bc::system::default_device();
    bc::context ctx(dev);
    bc::command_queue q(ctx, dev);
    std::printf("device %s\n", dev.name().c_str());
    std::mt19937 rng(20261204);
    const size_t n = 1 << 20;

    std::vector<float> f(n);
    for (auto &x : f) x = std::uniform_real_distribution<float>(-1e6f, 1e6f)(rng);
    bc::vector<float> df(f.begin(), f.end(), q);
    bc::sort(df.begin(), df.end(), q);
    std::vector<float> got(n);
    bc::copy(df.begin(), df.end(), got.begin(), q);
    std::vector<float> want = f;
    std::sort(want.begin(), want.end());
    check("sort", got, want);

    std::vector<int> keys(n), vals(n);
    for (size_t i = 0; i < n; i++) { keys[i] = int(rng() % 100000); vals[i] = int(i); }
    bc::vector<int> dk(keys.begin(), keys.end(), q), dv(vals.begin(), vals.end(), q);
    bc::sort_by_key(dk.begin(), dk.end(), dv.begin(), q);
    std::vector<int> gk(n), gv(n);
    bc::copy(dk.begin(), dk.end(), gk.begin(), q);
    bc::copy(dv.begin(), dv.end(), gv.begin(), q);
    std::vector<int> sk = keys;
    std::sort(sk.begin(), sk.end());
    check("sort_by_key.keys", gk, sk);
    bool pairs = true;
    for (size_t i = 0; i < n && pairs; i++) pairs = keys[size_t(gv[i])] == gk[i];
    check("sort_by_key.pairs", std::vector<int>{pairs}, std::vector<int>{1});

    std::vector<int> small(n);
    for (auto &x : small) x = int(rng() % 1000);
    bc::vector<int> ds(small.begin(), small.end(), q);
    cl_long sum = 0;
    bc::reduce(ds.begin(), ds.end(), &sum, q);
    check("reduce", std::vector<cl_long>{sum},
          std::vector<cl_long>{std::accumulate(small.begin(), small.end(), cl_long(0))});

    using bc::lambda::_1;
    bc::vector<int> dt(n, ctx);
    bc::transform(ds.begin(), ds.end(), dt.begin(), _1 * 3 + 7, q);
    std::vector<int> gt(n), wt(n);
    bc::copy(dt.begin(), dt.end(), gt.begin(), q);
    std::transform(small.begin(), small.end(), wt.begin(), [](int x) { return x * 3 + 7; });
    check("transform.lambda", gt, wt);

    bc::transform(ds.begin(), ds.end(), dt.begin(), collatz_steps, q);
    bc::copy(dt.begin(), dt.end(), gt.begin(), q);
    std::transform(small.begin(), small.end(), wt.begin(), [](int x) {
        int s = 0;
        while (x > 1 && s < 1000) { x = (x & 1) ? 3 * x + 1 : x / 2; s++; }
        return s;
    });
    check("transform.function", gt, wt);

    bc::inclusive_scan(ds.begin(), ds.end(), dt.begin(), q);
    bc::copy(dt.begin(), dt.end(), gt.begin(), q);
    std::partial_sum(small.begin(), small.end(), wt.begin());
    check("inclusive_scan", gt, wt);

    bc::exclusive_scan(ds.begin(), ds.end(), dt.begin(), q);
    bc::copy(dt.begin(), dt.end(), gt.begin(), q);
    wt[0] = 0;
    for (size_t i = 1; i < n; i++) wt[i] = wt[i - 1] + small[i - 1];
    check("exclusive_scan", gt, wt);

    size_t c = bc::count_if(ds.begin(), ds.end(), _1 > 500, q);
    check("count_if", std::vector<size_t>{c},
          std::vector<size_t>{size_t(std::count_if(small.begin(), small.end(), [](int x) { return x > 500; }))});

    auto m = bc::min_element(df.begin(), df.end(), q);
    check("min_element", std::vector<long>{long(m - df.begin())}, std::vector<long>{0});

    const char *src = "__kernel void saxpy(float a, __global const float *x, __global float *y) {"
                      "  size_t i = get_global_id(0); y[i] = a * x[i] + y[i]; }";
    bc::program p = bc::program::build_with_source(src, ctx);
    bc::kernel k(p, "saxpy");
    std::vector<float> x(4096), y(4096);
    for (size_t i = 0; i < x.size(); i++) { x[i] = float(i); y[i] = float(2 * i); }
    bc::vector<float> dx(x.begin(), x.end(), q), dy(y.begin(), y.end(), q);
    k.set_args(2.5f, dx.get_buffer(), dy.get_buffer());
    q.enqueue_1d_range_kernel(k, 0, x.size(), 0);
    std::vector<float> gy(x.size()), wy(x.size());
    bc::copy(dy.begin(), dy.end(), gy.begin(), q);
    for (size_t i = 0; i < x.size(); i++) wy[i] = 2.5f * x[i] + y[i];
    check("kernel.saxpy", gy, wy);

    std::printf("boost.compute: %d ok, %d failed\n", ok_count, failed);
    return failed != 0;
}
