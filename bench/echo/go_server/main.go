// SPDX-License-Identifier: MIT
// Baseline TCP echo server in Go: a goroutine per connection, standard library only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

// bufSize is the bytes each connection reads at once (as coring-echo-server's default buffer).
const bufSize = 16384

// echo copies what the client sends back to it until its EOF, then half-closes and closes.
func echo(c *net.TCPConn) {
	defer c.Close()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			// Write sends everything or fails; the runtime waits for room.
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			// The client's EOF; everything received was sent: answer with ours.
			c.CloseWrite()
			return
		}
		if err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("port", 7007, "listen on 127.0.0.1:`P`")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(),
			"usage: coring-bench-echo-go [--port P]\n"+
				"Baseline echo server for the echo comparison: a goroutine per connection,\n"+
				"listening on 127.0.0.1:P (default 7007).  Runs until killed.")
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *port})
	if err != nil {
		fmt.Fprintln(os.Stderr, "coring-bench-echo-go:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			continue // a transient error (EMFILE, a connection reset before accept)
		}
		go echo(c) // TCP_NODELAY is Go's default
	}
}
