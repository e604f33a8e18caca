// Command gitwrapper stands in for the host's git in the launcher's tests
// of the git config cache. It is a real executable, as the cache trusts
// only those (a script's behaviour can depend on files the cache does not
// watch): it counts its runs in the file beside it named <its name>.runs,
// then runs the real git, with GIT_CONFIG_GLOBAL set when it was built
// with one (a replacement git that reads another config).
package main

import (
	"fmt"
	"os"
	"syscall"
)

// Set at build with -ldflags -X.
var realGit, global string

func main() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitwrapper:", err)
		os.Exit(2)
	}
	f, err := os.OpenFile(exe+".runs", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitwrapper:", err)
		os.Exit(2)
	}
	fmt.Fprintln(f, "run")
	f.Close()
	env := os.Environ()
	if global != "" {
		env = append(env, "GIT_CONFIG_GLOBAL="+global)
	}
	err = syscall.Exec(realGit, append([]string{"git"}, os.Args[1:]...), env)
	fmt.Fprintln(os.Stderr, "gitwrapper:", err)
	os.Exit(2)
}
