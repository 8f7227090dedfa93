// SPDX-License-Identifier: MIT
// Scheduling operations: Gosched between two goroutines, and go + channel receive as spawn + join.
package main

import (
	"runtime"
	"sync"
	"time"
)

// goschedLoop calls runtime.Gosched n times, then marks wg done.
func goschedLoop(n int, wg *sync.WaitGroup) {
	for i := 0; i < n; i++ {
		runtime.Gosched()
	}
	wg.Done()
}

// opYield: two goroutines each call runtime.Gosched n/2 times; ns per Gosched.
// With GOMAXPROCS=2 each goroutine may have a P to itself, and then Gosched does not
// switch to the other one.
func opYield(n int) result {
	each := n / 2
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	go goschedLoop(each, &wg)
	go goschedLoop(each, &wg)
	wg.Wait()
	return result{elapsed: time.Since(t0), ops: 2 * each}
}

// signal sends one value on c: the body of the spawned goroutine.
func signal(c chan struct{}) { c <- struct{}{} }

// opSpawnJoin: go signal(done) then <-done, n times; ns per spawn + join.  This is Go's
// cheapest form: one unbuffered channel reused, no closure, no WaitGroup.
func opSpawnJoin(n int) result {
	done := make(chan struct{})
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go signal(done)
		<-done
	}
	return result{elapsed: time.Since(t0), ops: n}
}
