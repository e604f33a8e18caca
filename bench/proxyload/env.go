package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/schemas"
)

const benchHost = "bench.test"

// env is one upstream and one proxy in front of it, both on loopback.
type env struct {
	upstream *http.Server
	upAddr   string
	proxy    *egressproxy.Proxy
	proxyURL *url.URL
	roots    *x509.CertPool // the client's: the proxy CA and the upstream CA
}

func newEnv(bodySize int, upstreamH2 bool) (*env, error) {
	upCert, upPool, err := upstreamPKI()
	if err != nil {
		return nil, err
	}
	body := bytes.Repeat([]byte("x"), bodySize)
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &env{upAddr: ul.Addr().String()}
	protos := []string{"http/1.1"}
	if upstreamH2 {
		protos = []string{"h2", "http/1.1"}
	}
	e.upstream = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(body)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{upCert}, NextProtos: protos},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	go e.upstream.ServeTLS(ul, "", "")

	ca, err := egressproxy.NewCA()
	if err != nil {
		return nil, err
	}
	e.proxy, err = egressproxy.New(egressproxy.Config{
		Bottle: "bench",
		Routes: &schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{{Host: benchHost, PathAllowlist: []string{"/api/"},
			Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}}}},
		Tokens:        map[string]schemas.Secret{"EGRESS_TOKEN_0": schemas.NewSecret("bench-token-0123456789abcdef")},
		CA:            ca,
		UpstreamRoots: upPool,
		Resolve:       map[string]string{benchHost + ":443": e.upAddr},
	})
	if err != nil {
		return nil, err
	}
	pl, err := egressproxy.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go e.proxy.Serve(pl)
	e.proxyURL = &url.URL{Scheme: "http", Host: pl.Addr().String()}
	e.roots = upPool.Clone()
	e.roots.AppendCertsFromPEM(ca.CertPEM())
	return e, nil
}

func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.proxy.Shutdown(ctx)
	e.upstream.Close()
}

// client returns an HTTP/1.1 client as an agent would have: through the
// proxy or straight to the upstream (bench.test resolved to it).
func (e *env) client(viaProxy, keepAlive bool, conc int) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: e.roots, ClientSessionCache: tls.NewLRUClientSessionCache(64)},
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     0,
		DisableCompression:  true,
	}
	if viaProxy {
		tr.Proxy = http.ProxyURL(e.proxyURL)
	} else {
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, e.upAddr)
		}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// measurePair measures direct and proxy alternately, in rounds slices of
// d/rounds each (after one warm-up of each), so that load from elsewhere on
// the machine weighs on both alike, and reports each path's totals.
func (e *env) measurePair(keepAlive bool, conc int, warmup, d time.Duration, rounds int) ([2]result, error) {
	var out [2]result
	clients := [2]*http.Client{e.client(false, keepAlive, conc), e.client(true, keepAlive, conc)}
	defer clients[0].CloseIdleConnections()
	defer clients[1].CloseIdleConnections()
	for i := range clients {
		if _, err := e.measure(clients[i], i == 1, keepAlive, conc, 0, warmup); err != nil {
			return out, err
		}
	}
	var lat [2][]time.Duration
	for range rounds {
		for i := range clients {
			l, err := e.measure(clients[i], i == 1, keepAlive, conc, 0, d/time.Duration(rounds))
			if err != nil {
				return out, err
			}
			lat[i] = append(lat[i], l...)
		}
	}
	for i := range lat {
		out[i] = summarize(lat[i], d)
	}
	return out, nil
}

func summarize(lat []time.Duration, d time.Duration) result {
	if len(lat) == 0 {
		return result{}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// measure runs conc workers for d after a warm-up and returns the latency
// of every request completed in d.
func (e *env) measure(c *http.Client, viaProxy, keepAlive bool, conc int, warmup, d time.Duration) ([]time.Duration, error) {
	url := "https://" + benchHost + "/api/item"
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if t0.After(measureFrom) {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("%s %s c%d: %w", pathName(viaProxy), modeName(keepAlive), conc, firstErr)
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("%s %s c%d: no requests completed", pathName(viaProxy), modeName(keepAlive), conc)
	}
	return lat, nil
}

// upstreamPKI mints a CA and a certificate for bench.test.
func upstreamPKI() (tls.Certificate, *x509.CertPool, error) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench upstream CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: benchHost}, DNSNames: []string{benchHost},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}
