package egressproxy

import (
	"container/list"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/elazarl/goproxy"
)

const (
	leafValidity    = 24 * time.Hour
	leafRenewBefore = time.Hour
	leafCacheSize   = 1024
)

// certStore caches the leaf certificate, and the server TLS config built
// around it, of each host the proxy decrypts. It is bounded (least recently
// used entries go first) and mints each host's leaf once however many
// connections ask for it at the same time. It implements goproxy's
// CertStorage.
type certStore struct {
	ca         *CA
	ticketKeys [][32]byte // shared by every config, so TLS sessions resume across connections

	mu       sync.Mutex
	entries  map[string]*list.Element // host -> *certEntry
	lru      *list.List
	inflight map[string]*certCall
	minted   int // how many leaves were signed (tests read it)
}

type certEntry struct {
	host string
	cert *tls.Certificate
	cfg  *tls.Config
}

type certCall struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

var _ goproxy.CertStorage = (*certStore)(nil)

func newCertStore(ca *CA) (*certStore, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("session ticket key: %w", err)
	}
	return &certStore{ca: ca, ticketKeys: [][32]byte{key}, entries: map[string]*list.Element{},
		lru: list.New(), inflight: map[string]*certCall{}}, nil
}

// Fetch returns the cached certificate for hostname, calling gen (once, for
// all concurrent callers) when there is none or it is about to expire.
func (s *certStore) Fetch(hostname string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	e, err := s.entry(hostname, gen)
	if err != nil {
		return nil, err
	}
	return e.cert, nil
}

// tlsConfig returns the server config for a MITM'd connection to host.
func (s *certStore) tlsConfig(host string) (*tls.Config, error) {
	e, err := s.entry(host, func() (*tls.Certificate, error) { return s.ca.sign(host, leafValidity) })
	if err != nil {
		return nil, err
	}
	return e.cfg, nil
}

func (s *certStore) entry(host string, gen func() (*tls.Certificate, error)) (*certEntry, error) {
	for {
		s.mu.Lock()
		if el, ok := s.entries[host]; ok {
			e := el.Value.(*certEntry)
			if e.cert.Leaf == nil || time.Until(e.cert.Leaf.NotAfter) > leafRenewBefore {
				s.lru.MoveToFront(el)
				s.mu.Unlock()
				return e, nil
			}
			s.lru.Remove(el)
			delete(s.entries, host)
		}
		if call, ok := s.inflight[host]; ok {
			s.mu.Unlock()
			<-call.done
			if call.err != nil {
				return nil, call.err
			}
			continue // the entry is in the cache now
		}
		call := &certCall{done: make(chan struct{})}
		s.inflight[host] = call
		s.mu.Unlock()

		call.cert, call.err = gen()
		s.mu.Lock()
		delete(s.inflight, host)
		var e *certEntry
		if call.err == nil {
			s.minted++
			e = &certEntry{host: host, cert: call.cert, cfg: s.serverConfig(call.cert)}
			s.entries[host] = s.lru.PushFront(e)
			for s.lru.Len() > leafCacheSize {
				old := s.lru.Remove(s.lru.Back()).(*certEntry)
				delete(s.entries, old.host)
			}
		}
		s.mu.Unlock()
		close(call.done)
		return e, call.err
	}
}

func (s *certStore) serverConfig(cert *tls.Certificate) *tls.Config {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // no h2 towards the agent: one request path to check
	}
	cfg.SetSessionTicketKeys(s.ticketKeys)
	return cfg
}

func (s *certStore) mintedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}
