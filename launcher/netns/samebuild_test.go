package netns

import (
	"runtime/debug"
	"strings"
	"testing"
)

// buildInfo is what `go version -m` prints for a binary of the pair.
func buildInfo(t *testing.T, path string, edit func(string) string) *debug.BuildInfo {
	t.Helper()
	text := "go\tgo1.26.8\n" +
		"path\t" + path + "\n" +
		"mod\tgithub.com/bot-bottle/bot-bottle\t(devel)\t\n" +
		"dep\tgolang.org/x/sys\tv0.50.0\th1:dkKZEFTEKaLr1sjhs0WiKqoi8Jj5nHbS3Njmx1UoMJs=\n" +
		"build\t-buildmode=exe\n" +
		"build\t-compiler=gc\n" +
		"build\t-ldflags=\"-X " + buildPairFlag + "=00112233445566778899aabbccddeeff\"\n" +
		"build\tCGO_ENABLED=0\n" +
		"build\tGOARCH=amd64\n" +
		"build\tGOOS=linux\n"
	if edit != nil {
		text = edit(text)
	}
	bi, err := debug.ParseBuildInfo(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	// ParseBuildInfo leaves the Go version to the binary's own header.
	first, _, _ := strings.Cut(text, "\n")
	bi.GoVersion = strings.TrimPrefix(first, "go\t")
	return bi
}

const (
	pair     = "00112233445566778899aabbccddeeff"
	mainPath = "github.com/bot-bottle/bot-bottle"
	initPath = "github.com/bot-bottle/bot-bottle/cmd/bot-bottle-init"
)

func TestSameBuild(t *testing.T) {
	self := buildInfo(t, mainPath, func(s string) string {
		// bot-bottle has more dependencies than its init.
		return strings.Replace(s, "dep\tgolang.org/x/sys", "dep\tgithub.com/mark3labs/mcp-go\tv1.2.1\th1:x=\ndep\tgolang.org/x/sys", 1)
	})
	noPair := func(s string) string {
		return strings.Replace(s, "build\t-ldflags=\"-X "+buildPairFlag+"=00112233445566778899aabbccddeeff\"\n", "", 1)
	}
	for _, tc := range []struct {
		name      string
		self      *debug.BuildInfo
		companion *debug.BuildInfo
		pair      string
		refused   string // "" when the companion is taken
	}{
		{"the pair", self, buildInfo(t, initPath, nil), pair, ""},
		{"another pair", self, buildInfo(t, initPath, func(s string) string { return strings.Replace(s, pair, "ffeeddccbbaa99887766554433221100", 1) }), pair, "-ldflags"},
		{"no pair, no revision", buildInfo(t, mainPath, noPair), buildInfo(t, initPath, noPair), "", "nothing that tells its source apart"},
		{"a pair too short to be a nonce", self, buildInfo(t, initPath, nil), "0011", "nothing that tells its source apart"},
		{"a clean revision", buildInfo(t, mainPath, func(s string) string {
			return noPair(s) + "build\tvcs=git\nbuild\tvcs.revision=83be04bf\nbuild\tvcs.modified=false\n"
		}), buildInfo(t, initPath, func(s string) string {
			return noPair(s) + "build\tvcs=git\nbuild\tvcs.revision=83be04bf\nbuild\tvcs.modified=false\n"
		}), "", ""},
		{"a changed tree", buildInfo(t, mainPath, func(s string) string {
			return noPair(s) + "build\tvcs=git\nbuild\tvcs.revision=83be04bf\nbuild\tvcs.modified=true\n"
		}), buildInfo(t, initPath, func(s string) string {
			return noPair(s) + "build\tvcs=git\nbuild\tvcs.revision=83be04bf\nbuild\tvcs.modified=true\n"
		}), "", "nothing that tells its source apart"},
		{"a released version", buildInfo(t, mainPath, func(s string) string {
			return strings.Replace(noPair(s), "(devel)\t", "v1.4.0\th1:abc=", 1)
		}), buildInfo(t, initPath, func(s string) string {
			return strings.Replace(noPair(s), "(devel)\t", "v1.4.0\th1:abc=", 1)
		}), "", ""},
		{"an older release", buildInfo(t, mainPath, func(s string) string {
			return strings.Replace(noPair(s), "(devel)\t", "v1.4.0\th1:abc=", 1)
		}), buildInfo(t, initPath, func(s string) string {
			return strings.Replace(noPair(s), "(devel)\t", "v1.3.0\th1:def=", 1)
		}), "", "v1.3.0"},
		{"another Go", self, buildInfo(t, initPath, func(s string) string { return strings.Replace(s, "go1.26.8", "go1.26.7", 1) }), pair, "go1.26.7"},
		{"another dependency", self, buildInfo(t, initPath, func(s string) string { return strings.Replace(s, "v0.50.0\th1:dk", "v0.49.0\th1:dk", 1) }), pair, "golang.org/x/sys v0.49.0"},
		{"another setting", self, buildInfo(t, initPath, func(s string) string { return strings.Replace(s, "CGO_ENABLED=0", "CGO_ENABLED=1", 1) }), pair, "CGO_ENABLED"},
		{"not the init binary", self, buildInfo(t, mainPath, nil), pair, "not " + initPath},
		{"no build information", self, nil, pair, "no build information"},
	} {
		err := sameBuild(tc.self, tc.companion, tc.pair)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.refused != "" && err == nil:
			t.Errorf("%s: taken", tc.name)
		case tc.refused != "" && !strings.Contains(err.Error(), tc.refused):
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.refused)
		}
	}
}
