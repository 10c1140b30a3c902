// go_bench: libstackless's benchmark workloads on Go goroutines, written for this comparison.
//
// Runs with GOMAXPROCS=1 (one OS thread runs goroutines, as a libstackless thread runs its
// tasklets) unless told otherwise with -procs. Figures (same names and units as
// benches/bench_*.c; timing as in benches/bench.h: median of BENCH_RUNS >= 5 timed runs after
// one warm-up, time.Now() = CLOCK_MONOTONIC, ns per operation; memory: VmHWM growth in a
// fresh child process):
//
//	yield_2_hard_ns_per_op         2 goroutines, runtime.Gosched() in a loop, 1,000,000 yields
//	yield_1000_hard_ns_per_op      1000 goroutines x 1000 yields
//	channel_hard_ns_per_msg        ping-pong over two unbuffered chan int (ns per one-way
//	                               message: a round trip is two)
//	spawn_complete_ns_per_tasklet  1,000,000 goroutines that do nothing (a WaitGroup.Done),
//	                               all started, then waited for
//	blocked_100k_hard_bytes_per_tasklet
//	                               100,000 goroutines blocked receiving on one unbuffered chan
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func runs() int {
	n, err := strconv.Atoi(os.Getenv("BENCH_RUNS"))
	if err != nil || n < 5 {
		n = 5
	}
	if n > 101 {
		n = 101
	}
	return n
}

func report(name string, fn func() float64) {
	fn()
	v := make([]float64, runs())
	for i := range v {
		v[i] = fn()
	}
	sort.Float64s(v)
	n := len(v)
	m := v[n/2]
	if n%2 == 0 {
		m = (v[n/2-1] + v[n/2]) / 2
	}
	fmt.Printf("%s %.2f\n", name, m)
}

func yieldRun(goroutines int, per int) float64 {
	var wg sync.WaitGroup
	var start sync.WaitGroup
	start.Add(1)
	wg.Add(goroutines)
	for i := 0; i < goroutines; i++ {
		go func() {
			start.Wait()
			for j := 0; j < per; j++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	t0 := time.Now()
	start.Done()
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(goroutines*per)
}

func pingpongRun(rounds int) float64 {
	c1, c2 := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for i := 0; i < rounds; i++ {
			c2 <- <-c1
		}
	}()
	t0 := time.Now()
	go func() {
		for i := 0; i < rounds; i++ {
			c1 <- i
			<-c2
		}
		close(done)
	}()
	<-done
	return float64(time.Since(t0).Nanoseconds()) / float64(2*rounds)
}

func spawnRun(total int) float64 {
	var wg sync.WaitGroup
	wg.Add(total)
	t0 := time.Now()
	for i := 0; i < total; i++ {
		go wg.Done()
	}
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(total)
}

func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(s.Text())[1], 10, 64)
			return kb * 1024
		}
	}
	return -1
}

// memoryChild runs in its own process (see main): n goroutines block on one channel.
func memoryChild(name string, n int) {
	ch := make(chan int)
	var started sync.WaitGroup
	started.Add(n)
	before := peakRSS()
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-ch
		}()
	}
	started.Wait()
	runtime.Gosched() // the last ones reach the receive
	after := peakRSS()
	fmt.Printf("%s %.0f\n", name, float64(after-before)/float64(n))
}

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	child := flag.String("memory-child", "", "internal: measure memory in this process")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	if *child != "" {
		memoryChild(*child, 100000)
		return
	}
	suffix := ""
	if *procs != 1 {
		suffix = "_procs" + strconv.Itoa(*procs)
	}
	report("yield_2_hard_ns_per_op"+suffix, func() float64 { return yieldRun(2, 500000) })
	report("yield_1000_hard_ns_per_op"+suffix, func() float64 { return yieldRun(1000, 1000) })
	report("channel_hard_ns_per_msg"+suffix, func() float64 { return pingpongRun(500000) })
	report("spawn_complete_ns_per_tasklet"+suffix, func() float64 { return spawnRun(1000000) })
	name := "blocked_100k_hard_bytes_per_tasklet" + suffix
	out, err := exec.Command(os.Args[0], "-procs", strconv.Itoa(*procs), "-memory-child", name).Output()
	if err != nil {
		fmt.Printf("%s unavailable: the measuring child failed: %v\n", name, err)
	} else {
		fmt.Print(string(out))
	}
}
