package limit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListener serves HTTP on loopback behind a cap of two connections: two
// clients that keep their connections open hold both slots, a third is served
// only once one of them hangs up.
func TestListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}), ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}
	go srv.Serve(Listener(ln, 2))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	// Two keep-alive clients, each with an answered request and the connection left open.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, c); got != "ok" {
			t.Fatalf("held client: %q", got)
		}
		held = append(held, c)
	}
	// The third connects (the kernel's backlog takes it) but is not answered.
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	answered := make(chan string, 1)
	go func() { answered <- get(t, third) }()
	select {
	case got := <-answered:
		t.Fatalf("a third connection was served while two were open: %q", got)
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	if got := <-answered; got != "ok" {
		t.Fatalf("third client after a slot freed: %q", got)
	}
	held[1].Close()
}

// get sends one keep-alive GET on c and returns the body.
func get(t *testing.T, c net.Conn) string {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "write: " + err.Error()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "read: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func TestListenerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listener(ln, 1)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// Full: Accept waits, and returns when the listener closes.
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	l.Close()
	if err := <-done; err == nil {
		t.Fatal("Accept on a closed listener succeeded")
	}
	// Closing a connection twice gives its slot back once.
	sc.Close()
	sc.Close()
	if len(l.(*listener).sem) != 0 {
		t.Fatalf("%d slots taken after the only connection closed", len(l.(*listener).sem))
	}
}
