// Package dlptest makes values that gitleaks' rules take for credentials,
// fresh for every call, so that tests never carry a real secret and no
// committed file holds something that looks like one.
package dlptest

import (
	"crypto/rand"
	"math/big"
)

func pick(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

const (
	upperB32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// AWSKeyID returns a value of the shape of an AWS access key id (rule
// aws-access-token): AKIA and 16 base-32 characters.
func AWSKeyID() string { return "AKIA" + pick(upperB32, 16) }

// GitHubPAT returns a value of the shape of a GitHub personal access token
// (rule github-pat): ghp_ and 36 letters and digits.
func GitHubPAT() string { return "ghp_" + pick(alnum, 36) }

// Random returns n letters and digits: a host secret of no known format.
func Random(n int) string { return pick(alnum, n) }
