package limit

import (
	"net"
	"sync"
)

// Listener returns a listener that keeps at most n of ln's connections open at
// once: Accept waits while n are open, so further clients wait in the kernel's
// backlog instead of costing the server memory. n <= 0 returns ln unchanged.
func Listener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &listener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type listener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &conn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *listener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// conn gives its slot back when closed (once, however often it is closed).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
