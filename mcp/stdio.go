package mcp

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// maxStdioMessage bounds one message on stdio as maxOperatorBody bounds an
// HTTP body: mcp-go reads a whole line into memory, so without a bound a
// client (or anything that writes to serve's stdin) can make it hold
// gigabytes.
const maxStdioMessage = maxOperatorBody

// lockedWriter serialises whole-message writes to the client: mcp-go
// writes each message with one Write, and so does filterStdin.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// filterStdin passes the lines of in to the returned reader, except a
// message longer than max bytes (discarded as it is read, never held) or
// a batch: each is answered on out with -32600 and the session goes on.
func filterStdin(in io.Reader, out io.Writer, max int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			line, tooLong, err := readLine(br, max)
			switch {
			case tooLong:
				writeError(out, fmt.Sprintf("message larger than %d bytes: refused unread", max))
			case isBatch(line):
				writeError(out, batchRefusal)
			case len(line) > 0:
				if _, werr := pw.Write(line); werr != nil {
					return // the server stopped reading
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// readLine reads one line (with its newline) of at most max bytes; a
// longer one is read to its end and dropped, and tooLong is set.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, tooLong, err
	}
}

// writeError writes a JSON-RPC error without an id (the message that
// caused it was not read as one).
func writeError(out io.Writer, msg string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": codeInvalidRequest, "message": msg}})
	_, _ = out.Write(append(b, '\n'))
}
