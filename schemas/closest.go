package schemas

import "strings"

// Closest returns the entry of known nearest to got (case-insensitively),
// when it is near enough to be a typo of it: the "did you mean" of the
// manifest decoder, for other callers such as the command line's flags.
func Closest(got string, known []string) (string, bool) {
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := editDistance(strings.ToLower(got), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" || bestDist > max(2, len(got)/3) {
		return "", false
	}
	return best, true
}
