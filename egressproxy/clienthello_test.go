package egressproxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// captureHello returns the first flight crypto/tls's client sends with cfg.
func captureHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c := &recordConn{}
	_ = tls.Client(c, cfg).Handshake() // fails at the first read: nothing answers
	return c.out.Bytes()
}

// recordConn keeps what is written to it and reads EOF after in (if any).
type recordConn struct {
	net.Conn
	in  io.Reader
	out bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *recordConn) Read(p []byte) (int, error) {
	if c.in == nil {
		return 0, io.EOF
	}
	return c.in.Read(p)
}
func (c *recordConn) Close() error                     { return nil }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// goServerName is crypto/tls's server reading of raw: the server name it
// sees, and whether it parsed the ClientHello at all.
func goServerName(raw []byte) (string, bool) {
	var name string
	parsed := false
	stop := errors.New("stop")
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name, parsed = h.ServerName, true
		return nil, stop
	}}
	_ = tls.Server(&recordConn{in: bytes.NewReader(raw)}, cfg).Handshake()
	return name, parsed
}

func TestClientHelloFromRealClients(t *testing.T) {
	echConfig, _ := makeECHConfig(t, "pass.allowed.test")
	cases := []struct {
		name string
		cfg  *tls.Config
		want helloInfo
	}{
		{"sni", &tls.Config{ServerName: "api.example.test"}, helloInfo{serverName: "api.example.test"}},
		{"tls12 only", &tls.Config{ServerName: "a.test", MaxVersion: tls.VersionTLS12}, helloInfo{serverName: "a.test"}},
		{"no sni", &tls.Config{InsecureSkipVerify: true}, helloInfo{}},
		{"ip: no sni", &tls.Config{ServerName: "192.0.2.1"}, helloInfo{}},
		{"ech", &tls.Config{ServerName: "evil.test", MinVersion: tls.VersionTLS13, EncryptedClientHelloConfigList: echConfigList(echConfig)},
			helloInfo{serverName: "pass.allowed.test", ech: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flight := captureHello(t, c.cfg)
			raw, msg, err := readClientHello(bytes.NewReader(flight))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, flight) {
				t.Fatalf("read %d of the %d bytes of one hello", len(raw), len(flight))
			}
			got, err := parseClientHello(msg)
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
			// Split into one-byte records, the hello still reads whole.
			var frag []byte
			for _, b := range msg {
				frag = append(frag, recordTypeHandshake, 3, 1, 0, 1, b)
			}
			if _, msg2, err := readClientHello(bytes.NewReader(frag)); err != nil || !bytes.Equal(msg2, msg) {
				t.Fatalf("fragmented: %v", err)
			}
		})
	}
}

func TestClientHelloRefusals(t *testing.T) {
	good := captureHello(t, &tls.Config{ServerName: "a.test"})
	for name, data := range map[string][]byte{
		"http":           []byte("GET / HTTP/1.1\r\n\r\n"),
		"sslv2":          {0x80, 0x2e, 0x01, 0x03, 0x01},
		"empty record":   {recordTypeHandshake, 3, 1, 0, 0},
		"huge record":    {recordTypeHandshake, 3, 1, 0x40, 0x01},
		"alert first":    {21, 3, 1, 0, 2, 2, 40},
		"not a hello":    {recordTypeHandshake, 3, 1, 0, 4, 2, 0, 0, 0},
		"huge hello":     {recordTypeHandshake, 3, 1, 0, 4, 1, 1, 0, 1},
		"truncated":      good[:len(good)-1],
		"data after it":  append(append([]byte{}, good[:3]...), append([]byte{byte((len(good) - 4) >> 8), byte(len(good) - 4)}, append(append([]byte{}, good[5:]...), 0)...)...),
		"no record body": good[:5],
	} {
		if _, _, err := readClientHello(bytes.NewReader(data)); !errors.Is(err, errNotClientHello) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzClientHello: the reader never reads past one hello, never panics,
// and whenever both it and crypto/tls's server accept a hello they read
// the same server name: the proxy checks the name the server will serve.
func FuzzClientHello(f *testing.F) {
	echConfig, _ := makeECHConfig(f, "pass.allowed.test")
	for _, cfg := range []*tls.Config{
		{ServerName: "api.example.test"}, {ServerName: "a.test", MaxVersion: tls.VersionTLS12},
		{InsecureSkipVerify: true}, {ServerName: "x.test", MinVersion: tls.VersionTLS13, EncryptedClientHelloConfigList: echConfigList(echConfig)},
	} {
		f.Add(captureHello(f, cfg))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, msg, err := readClientHello(bytes.NewReader(data))
		if !bytes.HasPrefix(data, raw) {
			t.Fatalf("raw is not what was read")
		}
		if err != nil {
			return
		}
		if !bytes.Equal(raw, data[:len(raw)]) || len(msg) > maxClientHello {
			t.Fatalf("bad read")
		}
		info, err := parseClientHello(msg)
		if err != nil {
			return
		}
		name, parsed := goServerName(raw)
		if parsed && !strings.EqualFold(name, info.serverName) {
			t.Fatalf("proxy reads server name %q, crypto/tls %q", info.serverName, name)
		}
	})
}
