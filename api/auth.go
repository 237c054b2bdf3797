package api

import (
	"bytes"
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

// guard applies a route's rules: the caller must be authenticated (unless the
// route is open), allowed by their roles, past a required password change,
// and, with a session cookie, send the session's anti-forgery token on a
// state-changing request; the query string and path may hold no NUL or
// non-UTF-8 text; and a heavy route waits for the caller's limits.
func (s *Server) guard(rt route, h http.HandlerFunc) http.HandlerFunc {
	a := rt.access
	names := wildcards(rt.pattern)
	return func(w http.ResponseWriter, r *http.Request) {
		if a.open {
			if err := checkRequestText(r, names); err != nil {
				s.fail(w, r, err)
				return
			}
			h(w, r)
			return
		}
		if i := infoOf(r); i != nil {
			i.private = true
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
		if err := checkRequestText(r, names); err != nil {
			s.fail(w, r, err)
			return
		}
		if rt.cost == heavy {
			release, err := s.limits.Enter(r.Context(), s.identity(r, p))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			defer release()
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

// readJSONBody decodes a small JSON object body into v (parseJSONBody).
func readJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	ct := r.Header.Get("Content-Type")
	if err := checkJSONType(ct); err != nil {
		return err // before reading a body that will be refused
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	return parseJSONBody(ct, body, v)
}

// parseJSONBody decodes body, of media type contentType, into v: the type must
// be JSON (a cross-site HTML form cannot send it without the site's consent),
// every string valid UTF-8 without NUL (checkJSONText), and body exactly one
// object with no member v lacks.
func parseJSONBody(contentType string, body []byte, v any) error {
	if err := checkJSONType(contentType); err != nil {
		return err
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BadRequest("body", "not the expected JSON object: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("body", "not the expected JSON object: data after it")
	}
	return nil
}

func checkJSONType(contentType string) error {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return BadRequest("Content-Type", "want application/json")
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

// loginForm is the body of POST /api/v1/session.
type loginForm struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// handleLogin serves POST /api/v1/session {"name", "password"}: a new web
// session (cookie) and who it is, with its anti-forgery token.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Auth == nil {
		s.fail(w, r, NotFound("login"))
		return
	}
	var body loginForm
	if err := readJSONBody(w, r, maxLoginBody, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	var p *auth.Principal
	err := s.throttled(ctx, r, strings.TrimSpace(body.Name), func(name string) (err error) {
		p, err = s.cfg.Auth.Authenticate(ctx, auth.Credentials{Name: name, Password: body.Password})
		return err
	})
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
	// The old password is checked as a login is, and throttled the same way.
	err := s.throttled(ctx, r, p.Name, func(string) error { return s.cfg.Auth.ChangePassword(ctx, p, body.Old, body.New) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// throttled runs check, a password check of name, throttled against guessing:
// a name or client address with too many recent failures must wait (429, the
// same whether the name exists or not), and only so many checks run at once,
// since each takes 64 MiB. A check that fails with auth.ErrBadCredentials
// counts against the name and the address.
func (s *Server) throttled(ctx context.Context, r *http.Request, name string, check func(name string) error) error {
	key := name
	if len(key) > 64 {
		key = key[:64] // longer names do not exist; bound what is remembered
	}
	addr := s.addrKey(r)
	if err := s.logins.Check(key, addr); err != nil {
		return err
	}
	release, err := s.loginSlots.Enter(ctx, "")
	if err != nil {
		return err
	}
	defer release()
	err = check(name)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		s.logins.Fail(key, addr)
	case err == nil:
		s.logins.Succeed(key)
	}
	return err
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
	return s.https || r.TLS != nil
}
