// Package termguard filters what a bottle writes before it reaches the
// operator's terminal. A bottle's output is relayed raw so that the
// agents' terminal interfaces work (cursor moves, colours, the alternate
// screen, titles, hyperlinks), but a terminal also obeys sequences that
// reach beyond its window:
//
//   - OSC 52 writes the operator's clipboard (a command waiting to be
//     pasted into a host shell) and, where allowed, reads it back into the
//     bottle's input;
//   - DCS passthrough (tmux's, screen's) hands any sequence to the outer
//     terminal, unfiltered;
//   - terminal-specific OSCs run or fetch things: iTerm2's 1337, kitty's
//     file transfer (5113), Emacs vterm's 51 (evaluates Lisp), VS Code's
//     633;
//   - reports (CSI 20/21 t) type the window title, which the bottle set,
//     back into the terminal's input, where the host shell may read it
//     once the bottle has gone.
//
// Writer passes text and CSI sequences (but those reports), the OSCs an
// interface uses (titles 0-2, colours 4/10-12/104/110-112, the working
// folder 7, hyperlinks 8, notifications 9 and 777, shell marks 133), and
// the DCS queries whose answers are the terminal's own state (XTGETTCAP,
// DECRQSS, synchronised updates). It drops every other OSC, DCS, APC, PM
// and SOS string whole, and C1 controls written as UTF-8 (U+0080-U+009F),
// which some terminals obey as their ESC forms. It works on a stream:
// a sequence split across writes is judged whole, and memory stays
// bounded whatever the bottle writes.
package termguard
