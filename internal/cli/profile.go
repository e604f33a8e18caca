package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
)

// ProfileDirEnv names the folder each bot-bottle process writes a CPU
// profile to, from its start to its end, when set: a launch is several
// processes (the CLI that owns the bottle, the init inside it) and a
// profile of one alone hides where its CPU goes. The files are named
// ROLE-PID.pprof, ROLE being the command (launch, serve, ...); read them
// with go tool pprof -top. The in-bottle init starts with an empty
// environment and in its own mount namespace, so it is not profiled here;
// perf record -g follows it (see README, Development).
const ProfileDirEnv = "BOT_BOTTLE_CPUPROFILE_DIR"

// startProfile starts the CPU profile ProfileDirEnv asks for, if any, and
// returns what ends it. A profile that cannot start is said on stderr and
// the command runs anyway: profiling is a diagnosis, never a condition.
func startProfile(args []string, stderr io.Writer) (stop func()) {
	dir := os.Getenv(ProfileDirEnv)
	if dir == "" {
		return func() {}
	}
	role := "bot-bottle"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		role = filepath.Base(args[0]) // a command name; Base keeps a path out of the file name
	}
	path := filepath.Join(dir, role+"-"+strconv.Itoa(os.Getpid())+".pprof")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "bot-bottle: warning: %s: %v (no CPU profile)\n", ProfileDirEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "bot-bottle: warning: %s: start the CPU profile: %v\n", ProfileDirEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "bot-bottle: warning: %s: write %s: %v\n", ProfileDirEnv, path, err)
		}
	}
}
