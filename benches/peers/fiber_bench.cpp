// fiber_bench: libstackless's benchmark workloads on Boost.Fiber (the default round_robin
// scheduler, the default fixedsize_stack allocator, one thread), written for this comparison.
//
// Figures (same names and units as benches/bench_*.c; timing as in benches/bench.h: median of
// BENCH_RUNS >= 5 timed runs after one warm-up, clock_gettime(CLOCK_MONOTONIC) via
// std::chrono::steady_clock, ns per operation; memory: VmHWM growth in a fresh child process):
//   yield_2_hard_ns_per_op        2 fibers, boost::this_fiber::yield() in a loop, 1,000,000
//                                 yields per run (ns per yield)
//   yield_1000_hard_ns_per_op     1000 fibers x 1000 yields
//   channel_hard_ns_per_msg       ping-pong over two unbuffered_channel<long> (ns per one-way
//                                 message: a round trip is two)
//   channel_buffered_ns_per_msg   the same over two buffered_channel<long> of capacity 2 (the
//                                 smallest Boost allows)
//   spawn_complete_ns_per_tasklet 1,000,000 fibers that do nothing, started and joined in
//                                 batches of 1000 (each fiber needs its own stack, so a
//                                 million at once would need ~8 GB of touched stack pages),
//                                 stacks from a pooled_fixedsize_stack (Boost's fastest)
//   spawn_complete_default_stack_ns_per_tasklet
//                                 the same with the default fixedsize_stack (malloc/free of
//                                 128 KiB per fiber, which glibc serves with mmap/munmap)
//   blocked_100k_hard_bytes_per_tasklet
//                                 100,000 detached fibers blocked in unbuffered_channel::pop
#include <boost/context/stack_traits.hpp>
#include <boost/fiber/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace bf = boost::fibers;

static double now_ns() {
    return std::chrono::duration<double, std::nano>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

static int runs() {
    const char *e = std::getenv("BENCH_RUNS");
    int n = e ? std::atoi(e) : 5;
    return std::min(std::max(n, 5), 101);
}

// Prints `name median` of one warm-up and runs() timed runs of fn (ns per op).
static void report(const char *name, const std::function<double()> &fn) {
    fn();
    std::vector<double> v;
    for (int i = 0; i < runs(); i++) v.push_back(fn());
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    std::printf("%s %.2f\n", name, m);
    std::fflush(stdout);
}

static double yield_run(int fibers, long per) {
    std::vector<bf::fiber> v;
    v.reserve(fibers);
    for (int i = 0; i < fibers; i++)
        v.emplace_back([per] {
            for (long j = 0; j < per; j++) boost::this_fiber::yield();
        });
    // The fibers only start when main blocks in join.
    double t0 = now_ns();
    for (auto &f : v) f.join();
    double t1 = now_ns();
    return (t1 - t0) / double(fibers * per);
}

template <class Chan>
static double pingpong_run(long rounds, Chan &c1, Chan &c2) {
    bf::fiber pong([&] {
        long x;
        for (long i = 0; i < rounds; i++) {
            c1.pop(x);
            c2.push(x);
        }
    });
    bf::fiber ping([&] {
        long x;
        for (long i = 0; i < rounds; i++) {
            c1.push(i);
            c2.pop(x);
        }
    });
    double t0 = now_ns();
    ping.join();
    pong.join();
    double t1 = now_ns();
    return (t1 - t0) / double(2 * rounds);
}

static long spawned;

template <class Alloc>
static double spawn_run(long total, int batch, Alloc alloc) {
    std::vector<bf::fiber> v;
    v.reserve(batch);
    spawned = 0;
    double t0 = now_ns();
    for (long done = 0; done < total; done += batch) {
        for (int i = 0; i < batch; i++)
            v.emplace_back(std::allocator_arg, alloc, [] { spawned++; });
        for (auto &f : v) f.join();
        v.clear();
    }
    double t1 = now_ns();
    if (spawned != total) std::fprintf(stderr, "spawn: only %ld fibers ran\n", spawned);
    return (t1 - t0) / double(total);
}

static long peak_rss() {
    FILE *f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static void memory_child(const char *name, long n) {
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        bf::unbuffered_channel<long> ch;
        long started = 0;
        long before = peak_rss();
        for (long i = 0; i < n; i++)
            bf::fiber([&] {
                started++;
                long x;
                ch.pop(x);
            }).detach();
        boost::this_fiber::yield(); // every fiber runs once and blocks; main comes last
        long after = peak_rss();
        if (started != n)
            std::printf("%s unavailable: only %ld fibers blocked\n", name, started);
        else
            std::printf("%s %.0f\n", name, double(after - before) / double(n));
        std::fflush(stdout);
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        std::printf("%s unavailable: the measuring child failed\n", name);
}

int main() {
    std::fprintf(stderr, "Boost.Fiber: default stack size %zu bytes\n",
                 boost::context::stack_traits::default_size());
    report("yield_2_hard_ns_per_op", [] { return yield_run(2, 500000); });
    report("yield_1000_hard_ns_per_op", [] { return yield_run(1000, 1000); });
    report("channel_hard_ns_per_msg", [] {
        bf::unbuffered_channel<long> c1, c2;
        return pingpong_run(500000, c1, c2);
    });
    report("channel_buffered_ns_per_msg", [] {
        bf::buffered_channel<long> c1(2), c2(2);
        return pingpong_run(500000, c1, c2);
    });
    report("spawn_complete_ns_per_tasklet", [] {
        bf::pooled_fixedsize_stack pool;
        return spawn_run(1000000, 1000, pool);
    });
    report("spawn_complete_default_stack_ns_per_tasklet",
           [] { return spawn_run(1000000, 1000, bf::fixedsize_stack()); });
    memory_child("blocked_100k_hard_bytes_per_tasklet", 100000);
    return 0;
}
