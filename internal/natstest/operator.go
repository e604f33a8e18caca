package natstest

import (
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Operator is a NATS operator with a system account and one account with
// JetStream, minted for a test, whose users log in with creds files (a
// user JWT and its seed), as a deployment in operator mode does.
type Operator struct {
	kp       nkeys.KeyPair
	claims   *jwt.OperatorClaims
	resolver *server.MemAccResolver
	system   string
	account  nkeys.KeyPair
}

// NewOperator mints the operator, its system account and an account with
// unlimited JetStream.
func NewOperator(t testing.TB) *Operator {
	t.Helper()
	op := &Operator{resolver: &server.MemAccResolver{}}
	var err error
	if op.kp, err = nkeys.CreateOperator(); err != nil {
		t.Fatal(err)
	}
	pub, _ := op.kp.PublicKey()
	op.claims = jwt.NewOperatorClaims(pub)
	op.claims.Name = "bb-test-operator"
	sys := op.addAccount(t, "SYS", false)
	op.system, _ = sys.PublicKey()
	op.account = op.addAccount(t, "BB", true)
	return op
}

func (op *Operator) addAccount(t testing.TB, name string, js bool) nkeys.KeyPair {
	t.Helper()
	kp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	ac := jwt.NewAccountClaims(pub)
	ac.Name = name
	if js {
		ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	}
	encoded, err := ac.Encode(op.kp)
	if err != nil {
		t.Fatal(err)
	}
	if err := op.resolver.Store(pub, encoded); err != nil {
		t.Fatal(err)
	}
	return kp
}

// Creds writes a creds file for a new user of the JetStream account and
// returns its path.
func (op *Operator) Creds(t testing.TB) string {
	t.Helper()
	return writeCreds(t, op.account)
}

// StrangerCreds writes a creds file for a user of an account the server
// does not know: a login it must refuse.
func StrangerCreds(t testing.TB) string {
	t.Helper()
	acc, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	return writeCreds(t, acc)
}

func writeCreds(t testing.TB, account nkeys.KeyPair) string {
	t.Helper()
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(pub)
	encoded, err := uc.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(encoded, seed)
	if err != nil {
		t.Fatal(err)
	}
	return WriteFile(t, "user.creds", creds)
}
