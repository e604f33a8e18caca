package egressproxy

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInitAndLoadCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := InitCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{CAKeyFile: 0o600, CACertFile: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v mode %v, want %v", name, err, st.Mode().Perm(), mode)
		}
	}
	certPEM, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	if !bytes.Equal(certPEM, ca.CertPEM()) || bytes.Contains(certPEM, []byte("PRIVATE")) {
		t.Fatalf("ca.pem is not the certificate alone")
	}
	c := ca.Certificate()
	if !c.IsCA || !c.MaxPathLenZero || c.PublicKeyAlgorithm != x509.ECDSA || c.NotAfter.Before(time.Now().Add(365*24*time.Hour)) {
		t.Fatalf("CA certificate: IsCA=%v pathlen0=%v alg=%v until %v", c.IsCA, c.MaxPathLenZero, c.PublicKeyAlgorithm, c.NotAfter)
	}
	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Certificate().Equal(c) {
		t.Fatal("LoadCA returned another certificate")
	}
	// A leaf from the loaded CA verifies against the written certificate.
	leaf, err := loaded.sign("api.example.test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "api.example.test", Roots: pool}); err != nil {
		t.Fatalf("leaf does not verify: %v", err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "other.example.test", Roots: pool}); err == nil {
		t.Fatal("leaf verifies for another host")
	}
	// Never replaced.
	if _, err := InitCA(dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("InitCA over an existing CA: %v", err)
	}
}

func TestLoadCARefusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := InitCA(dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, CAKeyFile), 0o644)
	if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: %v", err)
	}
	os.Chmod(filepath.Join(dir, CAKeyFile), 0o600)
	other := t.TempDir()
	if _, err := InitCA(other); err != nil {
		t.Fatal(err)
	}
	cert, _ := os.ReadFile(filepath.Join(other, CACertFile))
	os.WriteFile(filepath.Join(dir, CACertFile), cert, 0o644)
	if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched key and certificate: %v", err)
	}
	if _, err := LoadCA(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestCertStoreMintsOncePerHost(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newCertStore(ca)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			if _, err := s.tlsConfig("a.test"); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 16 {
		<-done
	}
	if s.mintedCount() != 1 {
		t.Fatalf("minted %d for one host", s.mintedCount())
	}
	for i := range leafCacheSize + 10 {
		if _, err := s.tlsConfig(strings.Repeat("x", i%7+1) + "." + string(rune('a'+i%26)) + ".test" + string(rune('a'+i/26%26))); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	n := s.lru.Len()
	s.mu.Unlock()
	if n > leafCacheSize {
		t.Fatalf("cache holds %d > %d", n, leafCacheSize)
	}
}
