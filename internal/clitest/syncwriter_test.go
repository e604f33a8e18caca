package clitest

import (
	"io"
	"sync"
)

// outMu guards buffers written by a child process's output copiers and
// read by the test.
var outMu sync.Mutex

type syncWriter struct{ w io.Writer }

func (s *syncWriter) Write(p []byte) (int, error) {
	outMu.Lock()
	defer outMu.Unlock()
	return s.w.Write(p)
}
