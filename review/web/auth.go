package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// CookieName holds the token in the operator's browser after login.
const CookieName = "bot_bottle_token"

// RequireToken lets a request through when it carries token as a bearer
// header or in the login cookie; otherwise it answers 401. Comparison is
// constant-time.
func RequireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bot-bottle"`)
			http.Error(w, "401 unauthorized: open /review/login?token=<the serve token> once, or send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func authorized(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") && equal(strings.TrimPrefix(h, "Bearer "), token) {
		return true
	}
	c, err := r.Cookie(CookieName)
	return err == nil && equal(c.Value, token)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// login trades ?token= for an HttpOnly, SameSite=Strict cookie and sends the
// browser to the page, so the token leaves the address bar and history.
func login(token, base string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !equal(r.URL.Query().Get("token"), token) {
			http.Error(w, "401 unauthorized: wrong or missing token", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: base, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		http.Redirect(w, r, base, http.StatusSeeOther)
	}
}

// sameOrigin reports whether a state-changing request comes from the page
// itself: the browser's Origin (or Referer) names this host. Together with
// the SameSite cookie it stops other sites from deciding for the operator.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		// Not a browser (curl with the bearer header): no ambient
		// credentials to abuse.
		return r.Header.Get("Authorization") != ""
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}
