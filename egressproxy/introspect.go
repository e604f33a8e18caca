package egressproxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// RoutesView is the body of GET /routes: the live table (token slots,
// never token values) and its digest.
type RoutesView struct {
	Bottle string `json:"bottle"`
	Digest string `json:"digest"`
	*schemas.RoutesFile
}

// introspect answers a request to the proxy itself: GET /routes, GET
// /denials?last=N (default 20) and GET /healthz.
func (p *Proxy) introspect(req *http.Request, onDone func()) *http.Response {
	status, body := p.introspectBody(req)
	b, _ := json.Marshal(body) // the bodies are plain data and always encode
	b = append(b, '\n')
	resp := &http.Response{
		StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Cache-Control": {"no-store"}},
		ContentLength: int64(len(b)),
		Body:          newDoneBody(io.NopCloser(bytes.NewReader(b)), onDone),
		Request:       req,
	}
	return resp
}

type introspectError struct {
	Error string `json:"error"`
}

func (p *Proxy) introspectBody(req *http.Request) (int, any) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return http.StatusMethodNotAllowed, introspectError{"only GET is served here"}
	}
	switch req.URL.Path {
	case "/routes":
		t := p.table.Load()
		return http.StatusOK, RoutesView{Bottle: p.bottle, Digest: t.digest, RoutesFile: cloneRoutes(t.file)}
	case "/denials":
		n := 20
		if v := req.URL.Query().Get("last"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 0 {
				return http.StatusBadRequest, introspectError{"last must be a non-negative integer"}
			}
		}
		return http.StatusOK, p.RecentDenials(n)
	case "/healthz":
		return http.StatusOK, map[string]string{"status": "ok", "bottle": p.bottle}
	}
	return http.StatusNotFound, introspectError{"not found: this is the bottle's egress proxy; try GET /routes or GET /denials?last=N"}
}

// serveDirect answers requests sent to the proxy's own address in origin
// form (GET /routes with the proxy as Host), as the introspection host does.
func (p *Proxy) serveDirect(w http.ResponseWriter, req *http.Request) {
	resp := p.introspect(req, nil)
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if req.Method != http.MethodHead {
		_, _ = io.Copy(w, resp.Body)
	}
}
