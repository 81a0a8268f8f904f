package chaos

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy on loopback between clients and one server (heed
// and redis-server, or heed and an upstream API) that makes the network
// between them bad on command: slow (SetDelay), cut (Drop) or refusing
// (SetRefuse). Without a fault it passes every byte both ways at once.
// It is safe for concurrent use; Close it.
type Proxy struct {
	ln     net.Listener
	target string

	// delay is added to every chunk the server sends (nanoseconds).
	delay atomic.Int64
	// refuse makes new connections reset at once.
	refuse atomic.Bool

	accepted, refused, dropped atomic.Int64

	mu     sync.Mutex // guards links and closed
	links  map[*link]struct{}
	closed bool

	wg sync.WaitGroup // the accept loop and every link's goroutines
}

// ProxyStats counts what a Proxy did since it started.
type ProxyStats struct {
	// Accepted counts the connections forwarded to the server.
	Accepted int64
	// Refused counts the connections reset at once (SetRefuse, or a
	// server that could not be reached).
	Refused int64
	// Dropped counts the connections Drop reset.
	Dropped int64
	// Open is how many connections are open now.
	Open int
}

// dialTimeout bounds the proxy's connection to the server.
const dialTimeout = time.Second

// chunkSize is the most bytes one read moves; delayed chunks queue up to
// queuedChunks per connection before the proxy stops reading the server.
const (
	chunkSize    = 32 << 10
	queuedChunks = 64
)

// NewProxy listens on a free port of 127.0.0.1 and forwards every
// connection to target ("host:port"), a new connection to the server for
// each.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("chaos: proxy: %w", err)
	}
	p := &Proxy{ln: ln, target: target, links: make(map[*link]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr returns the address clients connect to, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDelay makes every chunk the server sends reach the client d after it
// reached the proxy, so that every request and reply round trip takes d
// longer; the client's bytes pass at once. Chunks already on their way
// keep the delay they got. 0 removes the delay.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(max(d, 0))) }

// SetRefuse, while on, resets every new connection as soon as it is
// accepted, before a byte passes: a server that is up but refuses service.
// Open connections are left alone; a Drop after SetRefuse(true) leaves
// none.
func (p *Proxy) SetRefuse(on bool) { p.refuse.Store(on) }

// Drop resets every open connection at once, both ways, bytes on their way
// lost: a connection cut mid-stream. New connections are made as usual. It
// returns how many it reset.
func (p *Proxy) Drop() int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close(true)
	}
	p.dropped.Add(int64(len(links)))
	return len(links)
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() ProxyStats {
	p.mu.Lock()
	open := len(p.links)
	p.mu.Unlock()
	return ProxyStats{Accepted: p.accepted.Load(), Refused: p.refused.Load(), Dropped: p.dropped.Load(), Open: open}
}

// Close stops listening, closes every connection and returns once every
// goroutine of the proxy has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range links {
		l.close(false)
	}
	p.wg.Wait()
	return err
}

// accept forwards each connection until the listener is closed.
func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			p.refused.Add(1)
			reset(c)
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, dialTimeout)
		if err != nil {
			p.refused.Add(1)
			reset(c)
			continue
		}
		l := &link{client: c, server: s, done: make(chan struct{})}
		switch p.add(l) {
		case linkClosed:
			l.close(false)
			return
		case linkRefused:
			p.refused.Add(1)
			l.close(true)
			continue
		}
		p.accepted.Add(1)
		p.wg.Go(func() { p.up(l) })
		p.wg.Go(func() { p.down(l) })
	}
}

// What add did with a link.
const (
	linkAdded = iota
	linkRefused
	linkClosed
)

// add registers l, unless the proxy is closed or refusing: a connection
// accepted before SetRefuse(true) and registered after the Drop that
// follows it must not outlive them.
func (p *Proxy) add(l *link) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return linkClosed
	case p.refuse.Load():
		return linkRefused
	}
	p.links[l] = struct{}{}
	return linkAdded
}

// remove forgets l.
func (p *Proxy) remove(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// up copies the client's bytes to the server as they come.
func (p *Proxy) up(l *link) {
	defer p.remove(l)
	defer l.close(false)
	buf := make([]byte, chunkSize)
	for {
		n, err := l.client.Read(buf)
		if n > 0 {
			if _, werr := l.server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// chunk is bytes from the server and when they may go on to the client.
type chunk struct {
	data []byte
	due  time.Time
}

// down copies the server's bytes to the client, each chunk held for the
// delay in force when it arrived: one goroutine reads and stamps, this
// one writes when due.
func (p *Proxy) down(l *link) {
	defer l.close(false)
	queue := make(chan chunk, queuedChunks)
	p.wg.Go(func() {
		defer close(queue)
		for {
			buf := make([]byte, chunkSize)
			n, err := l.server.Read(buf)
			if n > 0 {
				select {
				case queue <- chunk{data: buf[:n], due: time.Now().Add(time.Duration(p.delay.Load()))}:
				case <-l.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	for c := range queue {
		if !l.sleepUntil(c.due) {
			return
		}
		if _, err := l.client.Write(c.data); err != nil {
			return
		}
	}
}

// link is one client connection and its connection to the server.
type link struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{} // closed by close
}

// close closes both connections, once; with rst, each with a TCP reset
// instead of an orderly close, so that the peers see the connection cut.
func (l *link) close(rst bool) {
	l.once.Do(func() {
		close(l.done)
		if rst {
			reset(l.client)
			reset(l.server)
			return
		}
		_ = l.client.Close()
		_ = l.server.Close()
	})
}

// sleepUntil waits until t; false when the link closed first.
func (l *link) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-l.done:
		return false
	}
}

// reset closes c with a TCP RST (SO_LINGER 0) when it is a TCP connection.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
