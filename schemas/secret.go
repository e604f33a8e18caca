package schemas

import "fmt"

// Secret holds a credential value. Every way of printing or encoding it
// yields "[redacted]", so a secret that strays into a log line, an error, a
// JSON document or a test failure does not leak; Reveal is the one way to
// the value, and its callers are the few places that inject it.
type Secret struct{ v string }

const redacted = "[redacted]"

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the credential value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String redacts.
func (s Secret) String() string { return redacted }

// GoString redacts, for %#v.
func (s Secret) GoString() string { return redacted }

// Format redacts for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts (and so covers YAML and other text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
