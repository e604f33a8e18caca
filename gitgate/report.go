package gitgate

import (
	"bytes"
	"net/http"
	"strings"
)

// reporter writes a receive-pack result: messages git prints as
// "remote: …" (side-band channel 2, when the client asked for side-band)
// and the report-status git prints per ref ("! [remote rejected] …
// (reason)").
type reporter struct {
	w        http.ResponseWriter
	sideband bool
}

func newReporter(w http.ResponseWriter, sideband bool) *reporter {
	return &reporter{w: w, sideband: sideband}
}

// sidebandMax is the payload a side-band-64k packet carries after its
// band byte.
const sidebandMax = maxPktLen - 4 - 1

// band writes data on a side-band channel, in packets.
func (r *reporter) band(ch byte, data []byte) {
	for len(data) > 0 {
		n := min(len(data), sidebandMax)
		_, _ = r.w.Write(pkt(append([]byte{ch}, data[:n]...)))
		data = data[n:]
	}
	if f, ok := r.w.(http.Flusher); ok {
		f.Flush()
	}
}

// msg sends one line the agent's git prints, when it can show one.
func (r *reporter) msg(line string) {
	if !r.sideband {
		return
	}
	r.band(2, []byte(cleanLine(line)+"\n"))
}

// finish writes the report-status (when asked for) and the final flush.
func (r *reporter) finish(report bool, unpackErr string, cmds []command, status map[string]refOutcome) {
	if report {
		var b bytes.Buffer
		if unpackErr == "" {
			b.Write(pktString("unpack ok\n"))
		} else {
			b.Write(pktString("unpack " + oneLine(unpackErr) + "\n"))
		}
		for _, c := range cmds {
			st := status[c.ref]
			if st.status == refOK {
				b.Write(pktString("ok " + c.ref + "\n"))
			} else {
				b.Write(pktString("ng " + c.ref + " " + oneLine(st.reason) + "\n"))
			}
		}
		b.Write(flushPkt)
		if r.sideband {
			r.band(1, b.Bytes())
		} else {
			_, _ = r.w.Write(b.Bytes())
		}
	}
	if r.sideband {
		_, _ = r.w.Write(flushPkt)
	}
}

// oneLine bounds a reason for a report-status line.
func oneLine(s string) string {
	s = cleanLine(strings.ReplaceAll(s, "\n", "; "))
	if s == "" {
		s = "refused"
	}
	return s
}
