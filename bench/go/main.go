// The workloads in Go, the reference every ratio is taken against.
// Usage: gobench <spawn|gosched|sleep> <n>; prints the same report line as
// the Rust programs (see ../src/lib.rs).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func statusKB(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			f := strings.Fields(l)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Keeps the fairness workload's computation from being optimised away.
var sink atomic.Uint64

func main() {
	name := os.Args[1]
	n, _ := strconv.ParseInt(os.Args[2], 10, 64)
	base := statusKB("VmRSS:")
	basePTE := statusKB("VmPTE:")
	parkedPTE := int64(0)
	cpu0 := cpu()
	start := time.Now()
	ops := n
	parked := int64(0)
	var wg sync.WaitGroup
	extra := ""
	switch name {
	case "spawn":
		for i := int64(0); i < n; i++ {
			wg.Add(1)
			go func() { wg.Done() }()
		}
		wg.Wait()
	case "gosched", "gosched10k":
		gs := int64(1000)
		if name == "gosched10k" {
			gs = 10000
		}
		for i := int64(0); i < gs; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := int64(0); j < n; j++ {
					runtime.Gosched()
				}
			}()
		}
		wg.Wait()
		ops = gs * n
	case "sleep":
		// Sleep until a common deadline far enough away that all are
		// parked at once (1 s per 100,000, as in ../src/lib.rs).
		deadline := start.Add(time.Duration((n+99999)/100000) * time.Second)
		for i := int64(0); i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Until(deadline))
			}()
		}
		parked = statusKB("VmRSS:")
		parkedPTE = statusKB("VmPTE:")
		if time.Now().After(deadline) {
			panic("spawning outlasted the sleep window")
		}
		wg.Wait()
	case "pingpong":
		ping, pong := make(chan int64), make(chan int64)
		go func() {
			for v := range ping {
				pong <- v
			}
		}()
		for i := int64(0); i < n; i++ {
			ping <- i
			<-pong
		}
		close(ping)
	case "select-pingpong":
		ping, pong, quit := make(chan int64), make(chan int64), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case v := <-ping:
					pong <- v
				case <-quit:
					return
				}
			}
		}()
		var got int64
		for i := int64(0); i < n; i++ {
			ping <- i
			select {
			case v := <-pong:
				got += v
			case <-quit:
				panic("quit")
			}
		}
		sink.Add(uint64(got))
		close(quit)
		<-done
	case "mpmc":
		ch := make(chan int64, 1024)
		var consumers sync.WaitGroup
		for p := 0; p < 4; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int64(0); i < n/4; i++ {
					ch <- i
				}
			}()
		}
		for c := 0; c < 4; c++ {
			consumers.Add(1)
			go func() {
				defer consumers.Done()
				var sum int64
				for v := range ch {
					sum += v
				}
				_ = sum
			}()
		}
		wg.Wait()
		close(ch)
		consumers.Wait()
		ops = n / 4 * 4
	case "select4", "select4-builder": // Go has one select statement
		var cs [4]chan int64
		for i := range cs {
			cs[i] = make(chan int64, 1)
			cs[i] <- 0
		}
		for j := int64(0); j < n; j++ {
			var i int
			select {
			case <-cs[0]:
				i = 0
			case <-cs[1]:
				i = 1
			case <-cs[2]:
				i = 2
			case <-cs[3]:
				i = 3
			}
			cs[i] <- 0
		}
	case "mutex":
		var mu sync.Mutex
		var counter int64
		for g := 0; g < 1000; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := int64(0); j < n; j++ {
					mu.Lock()
					counter++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		ops = 1000 * n
	case "rwmutex":
		var mu sync.RWMutex
		var data int64
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := int64(0); j < n; j++ {
					mu.RLock()
					_ = data
					mu.RUnlock()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := int64(0); j < n/10; j++ {
				mu.Lock()
				data++
				mu.Unlock()
			}
		}()
		wg.Wait()
		ops = 8*n + n/10
	case "fairness":
		// A goroutine ticking every 1 ms beside 4 goroutines that compute
		// for n ms, with a non-blocking channel operation in their loops:
		// the worst gap between two ticks.
		ch := make(chan int64, 1)
		stop := time.Now().Add(time.Duration(n) * time.Millisecond)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := uint64(1)
				for time.Now().Before(stop) {
					for k := 0; k < 1000; k++ {
						x = x*6364136223846793005 + 1
					}
					sink.Add(x)
					select {
					case <-ch:
					default:
					}
				}
			}()
		}
		last, worst, ticks := time.Now(), time.Duration(0), int64(0)
		for time.Now().Before(stop) {
			time.Sleep(time.Millisecond)
			now := time.Now()
			worst = max(worst, now.Sub(last))
			last = now
			ticks++
		}
		wg.Wait()
		ops = ticks
		extra = fmt.Sprintf(" max_gap_us=%d", worst.Microseconds())
	default:
		panic("unknown workload " + name)
	}
	wall := time.Since(start)
	fmt.Printf("ns_per_op=%.1f wall_ms=%.1f cpu_ms=%d rss_base_kb=%d rss_parked_kb=%d rss_peak_kb=%d pte_base_kb=%d pte_parked_kb=%d%s\n",
		float64(wall.Nanoseconds())/float64(ops), float64(wall.Nanoseconds())/1e6,
		(cpu() - cpu0).Milliseconds(), base, parked, statusKB("VmHWM:"), basePTE, parkedPTE, extra)
}
