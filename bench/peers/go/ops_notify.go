// SPDX-License-Identifier: MIT
// Event round trips (on one thread or across two) with an event built on a closed channel, and sync.Cond with a flag.
package main

import (
	"runtime"
	"sync"
	"time"
)

// event is Go's usual asyncio.Event: a channel closed by set and replaced by clear.
type event struct {
	mu    sync.Mutex
	ch    chan struct{} // closed while the event is set
	isSet bool
}

func newEvent() *event { return &event{ch: make(chan struct{})} }

// set wakes every waiter, now and until clear.
func (e *event) set() {
	e.mu.Lock()
	if !e.isSet {
		close(e.ch)
		e.isSet = true
	}
	e.mu.Unlock()
}

// clear makes later waits block again.
func (e *event) clear() {
	e.mu.Lock()
	if e.isSet {
		e.ch = make(chan struct{})
		e.isSet = false
	}
	e.mu.Unlock()
}

// wait returns once the event is set.
func (e *event) wait() {
	e.mu.Lock()
	ch := e.ch
	e.mu.Unlock()
	<-ch
}

// eventPeer is B: answers every ping with a pong, n times.
func eventPeer(ping, pong *event, n int, lockThread bool, done chan struct{}) {
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for i := 0; i < n; i++ {
		ping.wait()
		ping.clear()
		pong.set()
	}
	done <- struct{}{}
}

// eventRoundtrips: A sets ping and waits for pong, B the other way round; each clears
// what it waited for.  With lockThread, A and B are each locked to an OS thread of their
// own.  ns per round trip.
func eventRoundtrips(n int, lockThread bool) result {
	ping, pong := newEvent(), newEvent()
	done := make(chan struct{})
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	go eventPeer(ping, pong, n, lockThread, done)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping.set()
		pong.wait()
		pong.clear()
	}
	<-done
	return result{elapsed: time.Since(t0), ops: n}
}

func opEventRoundtrip(n int) result { return eventRoundtrips(n, false) }

// opXwWake: the event round trip with A and B locked to threads of their own
// (runtime.LockOSThread), so that every wake-up crosses threads, as coring/xw_wake's
// crosses workers.  GOMAXPROCS >= 2.
func opXwWake(n int) result { return eventRoundtrips(n, true) }

// condPP is a sync.Cond with its mutex and the flag it guards: A sets 1, B sets 0, 2 stops.
type condPP struct {
	mu   sync.Mutex
	cond *sync.Cond
	flag int
}

// condPeer is B: waits for the flag to be 1, sets it to 0 and signals, until it is 2.
func condPeer(p *condPP, done chan struct{}) {
	p.mu.Lock()
	for {
		for p.flag == 0 {
			p.cond.Wait()
		}
		if p.flag == 2 {
			break
		}
		p.flag = 0
		p.cond.Signal()
	}
	p.mu.Unlock()
	done <- struct{}{}
}

// opCondRoundtrip: coring's cond_roundtrip with sync.Cond.  ns per round trip.
func opCondRoundtrip(n int) result {
	p := &condPP{}
	p.cond = sync.NewCond(&p.mu)
	done := make(chan struct{})
	go condPeer(p, done)
	t0 := time.Now()
	p.mu.Lock()
	for i := 0; i < n; i++ {
		p.flag = 1
		p.cond.Signal()
		for p.flag != 0 {
			p.cond.Wait()
		}
	}
	p.flag = 2
	p.cond.Signal()
	p.mu.Unlock()
	<-done
	return result{elapsed: time.Since(t0), ops: n}
}
