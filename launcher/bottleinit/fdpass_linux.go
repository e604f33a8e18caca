package bottleinit

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// receiveFD reads one descriptor sent with SCM_RIGHTS on the unix socket
// sock (the owner's detached mounts arrive this way).
func receiveFD(sock int) (int, error) {
	if sock <= 0 {
		return -1, errors.New("no socket to receive on")
	}
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, err
		}
		if n == 0 && oobn == 0 {
			return -1, errors.New("the owner closed the socket before sending it")
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return -1, err
		}
		for _, m := range msgs {
			fds, err := unix.ParseUnixRights(&m)
			if err == nil && len(fds) == 1 {
				return fds[0], nil
			}
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
		return -1, fmt.Errorf("a message without exactly one descriptor")
	}
}

// SendFD sends fd on the unix socket sock with SCM_RIGHTS: the owner's side
// of receiveFD.
func SendFD(sock, fd int) error {
	return unix.Sendmsg(sock, []byte{0}, unix.UnixRights(fd), nil, 0)
}
