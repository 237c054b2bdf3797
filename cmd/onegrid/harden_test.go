package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestConfigHardening(t *testing.T) {
	var c Config
	err := c.parse(c.flagSet("onegrid", io.Discard), []string{"--base-url", "https://grid.example.org/", "--trusted-proxies", "10.0.0.0/8, 192.0.2.7,::1",
		"--max-conns", "50", "--body-timeout", "5s", "--rate-limit", "2.5", "--rate-burst", "7", "--concurrency-limit", "3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128")}
	if c.BaseURL != "https://grid.example.org" || fmt.Sprint(c.proxies) != fmt.Sprint(want) || c.MaxConns != 50 ||
		c.BodyTimeout != 5*time.Second || c.RateLimit != 2.5 || c.RateBurst != 7 || c.Concurrency != 3 {
		t.Errorf("parsed %+v", c)
	}
	var d Config
	if err := d.parse(d.flagSet("onegrid", io.Discard), nil); err != nil {
		t.Fatal(err)
	}
	if d.BaseURL != "" || d.MaxConns != 1000 || d.BodyTimeout != 30*time.Second || d.RateLimit != 10 || d.RateBurst != 100 || d.Concurrency != 4 || d.proxies != nil {
		t.Errorf("defaults %+v", d)
	}
	for _, args := range [][]string{
		{"--base-url", "grid.example.org"}, {"--base-url", "ftp://grid.example.org"}, {"--base-url", "https://grid.example.org/onegrid"},
		{"--base-url", "https://u:p@grid.example.org"}, {"--base-url", "https://grid.example.org/?a=1"}, {"--base-url", "https:///x"},
		{"--trusted-proxies", "10.0.0.0/33"}, {"--trusted-proxies", "proxy.local"}, {"--max-conns", "-1"}, {"--body-timeout", "0s"},
		{"--rate-limit", "-1"}, {"--rate-limit", "NaN"}, {"--rate-burst", "0"}, {"--concurrency-limit", "-2"},
	} {
		var c Config
		err := c.parse(c.flagSet("onegrid", io.Discard), args)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v, want an error naming %s", args, err, args[0])
		}
	}
}

func TestDefaultBaseURL(t *testing.T) {
	ln := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8123}
	for addr, want := range map[string]string{
		"localhost:8080": "http://localhost:8123", "127.0.0.1:0": "http://127.0.0.1:8123", ":8080": "http://localhost:8123",
		"0.0.0.0:8080": "http://localhost:8123", "[::]:8080": "http://localhost:8123", "[::1]:0": "http://[::1]:8123",
		"grid.example.org:80": "http://grid.example.org:8123",
	} {
		if got, _ := defaultBaseURL(addr, ln); got != want {
			t.Errorf("defaultBaseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestServeHardening: serve wires the base URL (links, HSTS), the connection
// cap and the per-identity limits from their flags.
func TestServeHardening(t *testing.T) {
	url, token := opsDatabase(t)
	_, addr, stop := startServe(t, "serve", "--database-url", url, "--app-database-url", pgtest.AppConnString(t, url),
		"--base-url", "https://grid.example.org", "--max-conns", "3", "--rate-limit", "0.001", "--rate-burst", "1")
	defer stop()

	var landing struct{ Links []struct{ Href string } }
	req, _ := http.NewRequest("GET", "http://"+addr+"/ogc", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no Strict-Transport-Security behind an https base URL")
	}
	resp.Body.Close()
	if code := getJSONAs(t, token, "http://"+addr+"/ogc", &landing); code != 200 || len(landing.Links) == 0 {
		t.Fatalf("/ogc: %d %+v", code, landing)
	}
	for _, l := range landing.Links {
		if !strings.HasPrefix(l.Href, "https://grid.example.org/") {
			t.Errorf("link %s not under the base URL", l.Href)
		}
	}
	// One expensive request in the bucket, then 429.
	var stats map[string]any
	if code := getJSONAs(t, token, "http://"+addr+"/api/v1/stats", &stats); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	if code := getJSONAs(t, token, "http://"+addr+"/api/v1/stats", &stats); code != 429 {
		t.Fatalf("stats again: %d, want 429", code)
	}

	// The default client's idle connections count too: close them first.
	http.DefaultClient.CloseIdleConnections()
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a broken cap fails, not hangs
		if code := healthOn(c); code != 200 {
			t.Fatalf("held connection: %d", code)
		}
		held = append(held, c)
	}
	fourth, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fourth.Close()
	_ = fourth.SetDeadline(time.Now().Add(30 * time.Second))
	got := make(chan int, 1)
	go func() { got <- healthOn(fourth) }()
	select {
	case code := <-got:
		t.Fatalf("a fourth connection was served (%d) with --max-conns 3", code)
	case <-time.After(500 * time.Millisecond):
	}
	held[0].Close()
	if code := <-got; code != 200 {
		t.Fatalf("the fourth connection once one closed: %d", code)
	}
}

// healthOn sends GET /healthz on c, keeping it open, and returns the status.
func healthOn(c net.Conn) int {
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
