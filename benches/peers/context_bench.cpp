// context_bench: the floor under every hard switch: a raw Boost.Context switch, ping-pong
// between main and one other context, with nothing else done. Written for this comparison.
//
// Figures (ns per one-way switch; median of BENCH_RUNS >= 5 timed runs of 1,000,000 round
// trips after one warm-up, timed with std::chrono::steady_clock = CLOCK_MONOTONIC):
//   switch_fcontext_ns_per_op      jump_fcontext, the assembly primitive (the same one the
//                                  Rust `context` crate under libstackless uses)
//   switch_continuation_ns_per_op  boost::context::continuation::resume, the public API on top
#include <boost/context/continuation.hpp>
#include <boost/context/detail/fcontext.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace ctx = boost::context;
using ctx::detail::fcontext_t;
using ctx::detail::transfer_t;

static double now_ns() {
    return std::chrono::duration<double, std::nano>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

static void report(const char *name, const std::function<double()> &fn) {
    const char *e = std::getenv("BENCH_RUNS");
    int runs = std::min(std::max(e ? std::atoi(e) : 5, 5), 101);
    fn();
    std::vector<double> v;
    for (int i = 0; i < runs; i++) v.push_back(fn());
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    std::printf("%s %.2f\n", name, n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
    std::fflush(stdout);
}

static const long ROUNDS = 1000000;

static void bounce(transfer_t t) {
    for (;;) t = ctx::detail::jump_fcontext(t.fctx, nullptr);
}

int main() {
    const std::size_t size = 64 * 1024;
    std::vector<char *> stacks;
    report("switch_fcontext_ns_per_op", [&] {
        // A fresh context per run, as continuation/callcc below does: see the note on
        // re-entered contexts in benches/peers/run.sh.
        char *stack = static_cast<char *>(std::malloc(size));
        stacks.push_back(stack);
        fcontext_t other = ctx::detail::make_fcontext(stack + size, size, bounce);
        double t0 = now_ns();
        for (long i = 0; i < ROUNDS; i++) other = ctx::detail::jump_fcontext(other, nullptr).fctx;
        double t1 = now_ns();
        return (t1 - t0) / double(2 * ROUNDS);
    });
    report("switch_continuation_ns_per_op", [] {
        ctx::continuation c = ctx::callcc([](ctx::continuation &&main) {
            for (long i = 0; i <= ROUNDS; i++) main = main.resume();
            return std::move(main);
        });
        double t0 = now_ns();
        for (long i = 0; i < ROUNDS; i++) c = c.resume();
        double t1 = now_ns();
        c = c.resume(); // let it finish
        return (t1 - t0) / double(2 * ROUNDS);
    });
    for (char *s : stacks) std::free(s); // each bounce context stays suspended forever
    return 0;
}
