// SPDX-License-Identifier: MIT
// Channel ping-pong (unbuffered and capacity 1), and throughput through capacity 1024 on one or two threads.
package main

import (
	"runtime"
	"time"
)

// echo is B of a ping-pong: returns n values from fwd through back.
func echo(fwd <-chan uint64, back chan<- uint64, n int) {
	for i := 0; i < n; i++ {
		back <- <-fwd
	}
}

// pingpong: A sends i on fwd and receives the echo on back, n times, through channels
// of capacity capacity.  ns per round trip.
func pingpong(n, capacity int) result {
	fwd, back := make(chan uint64, capacity), make(chan uint64, capacity)
	go echo(fwd, back, n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		fwd <- uint64(i)
		if v := <-back; v != uint64(i) {
			panic("ping-pong: wrong value")
		}
	}
	return result{elapsed: time.Since(t0), ops: n}
}

func opQueuePingpongUnbuffered(n int) result { return pingpong(n, 0) }
func opQueuePingpongCap1(n int) result       { return pingpong(n, 1) }

// consume is the consumer: receives n values in order, then signals done.
func consume(c <-chan uint64, n int, lockThread bool, done chan<- struct{}) {
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for i := 0; i < n; i++ {
		if v := <-c; v != uint64(i) {
			panic("throughput: out of order")
		}
	}
	done <- struct{}{}
}

// stream: the calling goroutine sends n values through a channel of capacity 1024 to a
// consumer goroutine started inside the timed part.  ns per item.
func stream(n int, lockThread bool) result {
	c, done := make(chan uint64, 1024), make(chan struct{})
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	t0 := time.Now()
	go consume(c, n, lockThread, done)
	for i := 0; i < n; i++ {
		c <- uint64(i)
	}
	<-done
	return result{elapsed: time.Since(t0), ops: n}
}

func opQueueThroughput(n int) result { return stream(n, false) }

// opXwQueue: stream with producer and consumer each locked to its own OS thread
// (runtime.LockOSThread), so that every wake-up crosses threads.  GOMAXPROCS >= 2.
func opXwQueue(n int) result { return stream(n, true) }
