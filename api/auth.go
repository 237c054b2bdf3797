package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/onegrid/onegrid/auth"
)

// sessionCookie names the web session's cookie: HttpOnly (scripts cannot read
// it), SameSite=Strict (other sites cannot send it) and Secure behind https.
const sessionCookie = "onegrid_session"

// csrfHeader carries the session's anti-forgery token on every state-changing
// request made with the session cookie (API tokens need none: a browser never
// sends them by itself).
const csrfHeader = "X-CSRF-Token"

// authenticate finds the request's principal: an API token (Authorization:
// Bearer ogt_…), else the session cookie, else the public principal when the
// server has a public scope, else nil.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	if s.cfg.Auth == nil {
		return nil, nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, auth.ErrUnauthenticated
		}
		return s.cfg.Auth.Token(r.Context(), strings.TrimSpace(token))
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		p, err := s.cfg.Auth.Session(r.Context(), c.Value)
		if err == nil || s.cfg.Public == nil {
			return p, err
		}
	}
	return s.cfg.Public, nil
}

// guard applies a route's scope rule: the caller must be authenticated (unless
// the route is open), allowed by their roles, past a required password change,
// and, with a session cookie, send the session's anti-forgery token on a
// state-changing request.
func (s *Server) guard(a access, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.open {
			h(w, r)
			return
		}
		p := auth.FromContext(r.Context())
		switch {
		case p == nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="onegrid"`)
			s.fail(w, r, auth.ErrUnauthenticated)
			return
		case p.MustChangePassword && !a.session:
			s.fail(w, r, auth.ErrPasswordChange)
			return
		case a.need != "" && !p.Scope.Can(a.need):
			s.fail(w, r, auth.ErrForbidden)
			return
		}
		if p.Via == "session" && stateChanging(r.Method) {
			c, _ := r.Cookie(sessionCookie)
			if c == nil || !auth.CheckCSRF(c.Value, r.Header.Get(csrfHeader)) {
				s.fail(w, r, &Error{Status: http.StatusForbidden, Code: "csrf", Message: csrfHeader + ": missing or wrong; read it from GET /api/v1/session"})
				return
			}
		}
		h(w, r)
	}
}

func stateChanging(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// principal returns the request's principal (guard has checked there is one).
func principal(r *http.Request) *auth.Principal { return auth.FromContext(r.Context()) }

// sessionInfo is who the session is, for the page.
type sessionInfo struct {
	Name               string   `json:"name"`
	DisplayName        string   `json:"display_name"`
	Roles              []string `json:"roles"`
	Units              []string `json:"units"`
	Capabilities       []string `json:"capabilities"`
	MustChangePassword bool     `json:"must_change_password"`
	Via                string   `json:"via"`
	// CSRF is the token to send in X-CSRF-Token with every state-changing request.
	CSRF    string     `json:"csrf,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

func newSessionInfo(p *auth.Principal, cookie string) sessionInfo {
	info := sessionInfo{Name: p.Name, DisplayName: p.DisplayName, Units: p.Units, Capabilities: p.Scope.Caps,
		MustChangePassword: p.MustChangePassword, Via: p.Via, Roles: []string{}}
	for _, r := range p.Roles {
		info.Roles = append(info.Roles, string(r))
	}
	if info.Units == nil {
		info.Units = []string{}
	}
	if info.Capabilities == nil {
		info.Capabilities = []string{}
	}
	if cookie != "" {
		info.CSRF = auth.CSRFToken(cookie)
	}
	return info
}

// maxLoginBody bounds a login or password change body.
const maxLoginBody = 4 << 10

// readJSONBody decodes a small JSON object body into v, requiring the JSON media
// type (a cross-site HTML form cannot send it without the site's consent).
func readJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return BadRequest("Content-Type", "want application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BadRequest("body", "not the expected JSON object: "+jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a JSON decoding error without echoing input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error"
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed"
}

// handleLogin serves POST /api/v1/session {"name", "password"}: a new web
// session (cookie) and who it is, with its anti-forgery token.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Auth == nil {
		s.fail(w, r, NotFound("login"))
		return
	}
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := readJSONBody(w, r, maxLoginBody, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	p, err := s.cfg.Auth.Authenticate(ctx, auth.Credentials{Name: strings.TrimSpace(body.Name), Password: body.Password})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	token, expires, err := s.cfg.Auth.StartSession(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Max-Age, not Expires: the browser counts it from its own clock, so a
	// server whose clock is set elsewhere (--now a year back, a demo, a test)
	// still gets its cookie kept for the session's life.
	maxAge := int(expires.Sub(s.cfg.Now()).Seconds())
	if maxAge <= 0 {
		maxAge = 1
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	r = r.WithContext(auth.WithPrincipal(r.Context(), p))
	setActor(r, p)
	info := newSessionInfo(p, token)
	info.Expires = &expires
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}

// handleSession serves GET /api/v1/session: who the caller is.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	cookie := ""
	if c, err := r.Cookie(sessionCookie); err == nil && p.Via == "session" {
		cookie = c.Value
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, newSessionInfo(p, cookie))
}

// handleLogout serves DELETE /api/v1/session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ctx, cancel := s.queryContext(r)
		defer cancel()
		if err := s.cfg.Auth.EndSession(ctx, c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// handlePassword serves POST /api/v1/session/password {"old", "new"}.
func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.UserID == 0 {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	var body struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if err := readJSONBody(w, r, maxLoginBody, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	if err := s.cfg.Auth.ChangePassword(ctx, p, body.Old, body.New); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAudit serves GET /api/v1/audit?since=&limit=: the audit log, newest
// first, to auditors only (the database's policy says so too).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "since", "limit")
	since := q.time("since", time.Time{})
	limit := q.int("limit", 100, 1, 1000)
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	var entries []auth.AuditEntry
	err := s.inScope(r, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		entries, err = auth.ReadAudit(ctx, tx, since, limit)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(entries))
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// secure reports whether cookies must be Secure: the public base URL is https.
func (s *Server) secure(r *http.Request) bool {
	return strings.HasPrefix(s.cfg.BaseURL, "https://") || r.TLS != nil
}
