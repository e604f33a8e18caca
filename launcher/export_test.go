package launcher

import "context"

// HoldWorkdirForTest takes the hold a bottle on dir takes, for a test
// that needs a bottle there without starting one; the func lets go.
func HoldWorkdirForTest(dir string) (func(), error) {
	l, err := lockWorkdir(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}

// GitConfigRacyWindow is how old the host's git config files must be for
// a launch to cache git's answer (gitconfigcache.go).
const GitConfigRacyWindow = racyWindow
