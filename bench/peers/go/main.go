// SPDX-License-Identifier: MIT
// Command peers times goroutines, channels and sync primitives on the operations of coring's micro-benchmarks.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// result is what one timed run of an operation measured.
type result struct {
	elapsed time.Duration      // wall time of the timed part
	ops     int                // operations done in it (the divisor)
	extra   map[string]float64 // further figures, printed as they are
}

// op is one benchmark: run(n) does n iterations of its loop and times them.
type op struct {
	name     string             // the part after "go/", as in coring's row "coring/<name>"
	unit     string             // what one operation is
	minProcs int                // skipped below this GOMAXPROCS
	run      func(n int) result // n >= 2
}

// ops lists every operation in the order they are printed.
var ops = []op{
	{"yield", "ns/Gosched", 1, opYield},
	{"spawn_join", "ns/spawn+join", 1, opSpawnJoin},
	{"lock_uncontended", "ns/Lock+Unlock", 1, opLockUncontended},
	{"lock_handoff", "ns/hand-off", 1, opLockHandoff},
	{"event_rt", "ns/round trip", 1, opEventRoundtrip},
	{"cond_rt", "ns/round trip", 1, opCondRoundtrip},
	{"sem_acquire_release", "ns/acquire+release", 1, opSemUncontended},
	{"queue_pingpong", "ns/round trip", 1, opQueuePingpongUnbuffered},
	{"queue_pingpong_cap1", "ns/round trip", 1, opQueuePingpongCap1},
	{"queue_throughput", "ns/item", 1, opQueueThroughput},
	{"xw_wake", "ns/round trip", 2, opXwWake},
	{"xw_queue_throughput", "ns/item", 2, opXwQueue},
}

// measure calibrates n so that one run takes about target, then returns the best of
// runs runs (lowest ns per operation), the iteration count and the runs' figures.
func measure(o op, target time.Duration, runs int) (best result, n int, all []float64) {
	n = 2
	for {
		r := o.run(n)
		if r.elapsed >= target/10 || n >= 1<<40 {
			scaled := float64(n) * float64(target) / float64(r.elapsed+1)
			n = int(scaled)
			if n < 2 {
				n = 2
			}
			break
		}
		n *= 4
	}
	bestNs := -1.0
	for i := 0; i < runs; i++ {
		r := o.run(n)
		ns := nsPerOp(r)
		all = append(all, ns)
		if bestNs < 0 || ns < bestNs {
			bestNs, best = ns, r
		}
	}
	return best, n, all
}

// nsPerOp returns the run's wall time per operation in ns (+Inf if it did none).
func nsPerOp(r result) float64 {
	if r.ops <= 0 {
		return float64(r.elapsed.Nanoseconds()) * 1e30
	}
	return float64(r.elapsed.Nanoseconds()) / float64(r.ops)
}

func main() {
	sel := flag.String("op", "all", "comma-separated operations to run, or all")
	list := flag.Bool("list", false, "print the operation names and exit")
	runs := flag.Int("runs", 3, "timed runs per operation; the best is reported")
	target := flag.Duration("target", 300*time.Millisecond, "wall time of one run")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-op a,b|all] [-runs N] [-target 300ms] [-list]\n", os.Args[0])
		fmt.Fprintln(os.Stderr, "Prints one JSON line per operation: "+
			`{"name": "go/<op>", "gomaxprocs": N, "ns_per_op": X, ...}.`)
		fmt.Fprintln(os.Stderr, "Set GOMAXPROCS in the environment; xw_* need GOMAXPROCS >= 2.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *list {
		for _, o := range ops {
			fmt.Printf("%s\t%s\n", o.name, o.unit)
		}
		return
	}
	want := map[string]bool{}
	if *sel != "all" {
		for _, s := range strings.Split(*sel, ",") {
			want[strings.TrimSpace(s)] = true
		}
	}
	for name := range want {
		if !known(name) {
			fmt.Fprintf(os.Stderr, "unknown operation %q (see -list)\n", name)
			os.Exit(2)
		}
	}
	procs := runtime.GOMAXPROCS(0)
	enc := json.NewEncoder(os.Stdout)
	for _, o := range ops {
		if len(want) > 0 && !want[o.name] {
			continue
		}
		if procs < o.minProcs {
			fmt.Fprintf(os.Stderr, "go/%s: skipped, needs GOMAXPROCS >= %d\n", o.name, o.minProcs)
			continue
		}
		best, n, all := measure(o, *target, *runs)
		line := map[string]interface{}{
			"name":       "go/" + o.name,
			"gomaxprocs": procs,
			"ns_per_op":  round3(nsPerOp(best)),
			"unit":       o.unit,
			"iterations": n,
			"ops":        best.ops,
			"runs_ns":    roundAll(all),
		}
		for k, v := range best.extra {
			line[k] = v // unrounded: a rate such as 0.0001 must not become 0
		}
		if err := enc.Encode(line); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// known reports whether name is one of ops.
func known(name string) bool {
	for _, o := range ops {
		if o.name == name {
			return true
		}
	}
	return false
}

// round3 keeps 3 decimals, enough for ns figures.
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// roundAll applies round3 to every element.
func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = round3(x)
	}
	return out
}
