package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// Digest returns a stable hash of the table: "sha256:" and 64 hex digits.
// Two tables that a proxy would enforce identically have the same digest
// whatever the order of their routes, of their path prefixes and of their
// methods, and whatever the case or trailing dot of their hosts; any change a
// proxy would notice changes it. Review records the digest a decision was
// made against and refuses to apply a decision to a table that has moved on.
// A nil table digests like an empty one.
func (rf *RoutesFile) Digest() string {
	canon := RoutesFile{Version: RoutesVersion}
	if rf != nil {
		canon.Version = rf.Version
		for _, r := range rf.Routes {
			c := RouteRule{
				Host:           NormalizeHost(r.Host),
				Port:           r.Port,
				PathAllowlist:  sortedCopy(r.PathAllowlist),
				Methods:        sortedCopy(upperAll(r.Methods)),
				TLSPassthrough: r.TLSPassthrough,
				WebSocket:      r.WebSocket,
				DLP:            r.DLP,
			}
			if c.DLP == DLPBlock {
				c.DLP = "" // the default: a table that spells it out is enforced identically
			}
			if r.Auth != nil {
				c.Auth = &SlotAuth{Scheme: r.Auth.Scheme, Slot: r.Auth.Slot}
			}
			canon.Routes = append(canon.Routes, c)
		}
	}
	slices.SortFunc(canon.Routes, func(a, b RouteRule) int {
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return a.Port - b.Port
	})
	// json.Marshal of these plain structs cannot fail, and its output is
	// deterministic (struct fields in declaration order).
	b, _ := json.Marshal(canon)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

func upperAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToUpper(v)
	}
	return out
}
