// SPDX-License-Identifier: MIT
// sync.Mutex uncontended and handed between two goroutines, and a channel of capacity 1 as a semaphore.
package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// opLockUncontended: sync.Mutex Lock + Unlock by one goroutine, never contended.
func opLockUncontended(n int) result {
	var mu sync.Mutex
	t0 := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		mu.Unlock()
	}
	return result{elapsed: time.Since(t0), ops: n}
}

// opSemUncontended: a buffered channel of capacity 1 used as a semaphore of value 1:
// send to acquire, receive to release, by one goroutine.
func opSemUncontended(n int) result {
	sem := make(chan struct{}, 1)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		<-sem
	}
	return result{elapsed: time.Since(t0), ops: n}
}

// handoff is one mutex two goroutines take turns on, as in coring's lock_handoff.
type handoff struct {
	mu       sync.Mutex
	rounds   int   // Unlock + Lock pairs each goroutine makes
	last     int   // guarded by mu: 0 if A held it last, 1 if B
	handoffs int   // guarded by mu: times the holder changed
	started  int32 // B is about to call Lock
}

// take notes that goroutine me now holds the mutex.
func (h *handoff) take(me int) {
	if h.last != me {
		h.handoffs++
	}
	h.last = me
}

// turns releases and re-acquires the held mutex h.rounds times, then releases it.
func (h *handoff) turns(me int) {
	for i := 0; i < h.rounds; i++ {
		h.mu.Unlock()
		h.mu.Lock()
		h.take(me)
	}
	h.mu.Unlock()
}

// peer is goroutine B: waits for the mutex, then takes turns with A.
func (h *handoff) peer(done chan struct{}) {
	atomic.StoreInt32(&h.started, 1)
	h.mu.Lock()
	h.take(1)
	h.turns(1)
	done <- struct{}{}
}

// opLockHandoff: A holds the mutex, starts B, lets it block on it, then both run coring's
// loop (Unlock, Lock) n/2 times.  ns per change of holder.  sync.Mutex is not FIFO: the
// goroutine that unlocks usually locks again before the woken one runs, so the holder
// changes far less often than once per Unlock; "handoffs_per_release" says how often, and
// "ns_per_release" is the time per Unlock + Lock pair.
func opLockHandoff(n int) result {
	h := &handoff{rounds: n / 2}
	done := make(chan struct{})
	h.mu.Lock()
	go h.peer(done)
	for atomic.LoadInt32(&h.started) == 0 {
		runtime.Gosched()
	}
	time.Sleep(time.Millisecond) // B is blocked in Lock by now
	t0 := time.Now()
	h.turns(0)
	<-done
	elapsed := time.Since(t0)
	releases := float64(2 * h.rounds)
	return result{elapsed: elapsed, ops: h.handoffs, extra: map[string]float64{
		"handoffs_per_release": float64(h.handoffs) / releases,
		"ns_per_release":       float64(elapsed.Nanoseconds()) / releases,
	}}
}
