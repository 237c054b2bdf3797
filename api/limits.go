package api

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/onegrid/onegrid/auth"
)

// Who a limit counts against. A user is their account, whichever session or
// token they come with; the anonymous public is its client address, an IPv6
// client its /64 (one host usually holds a whole /64).

// identity is the key the per-identity limits count p's requests under.
func (s *Server) identity(r *http.Request, p *auth.Principal) string {
	if p == nil || p.Via == "public" {
		return "ip:" + s.addrKey(r)
	}
	return "user:" + p.Name
}

// addrKey is the client address as a limit key: IPv4 whole, IPv6 its /64.
func (s *Server) addrKey(r *http.Request) string {
	a := s.clientAddr(r)
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// clientAddr is the address of the client: the connection's peer, or, when the
// peer is a trusted reverse proxy (Config.TrustedProxies), the address that
// proxy says it forwarded for (forwardedClient).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer := ap.Addr().Unmap()
	if len(s.cfg.TrustedProxies) == 0 {
		return peer
	}
	return forwardedClient(peer, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies)
}

// forwardedClient finds the client behind a chain of trusted proxies. Each
// proxy appends the address it received the request from to X-Forwarded-For,
// so, read from the right, the entries are the hops nearest the server; the
// first that is not a trusted proxy is the client. Entries further left were
// written by whoever sent the request and are not believed. peer is the
// connection's address; a peer that is not trusted is the client itself. An
// entry that is not an address ends the walk at the last trusted hop.
func forwardedClient(peer netip.Addr, xff []string, trusted []netip.Prefix) netip.Addr {
	client := peer
	if !isTrusted(client, trusted) {
		return client
	}
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHop(hops[j])
			if !ok {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return client
			}
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, an IPv6 address in
// brackets, either with a port.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
