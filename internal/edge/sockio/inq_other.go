//go:build !linux

package sockio

// Reader is plain read(2) where TCP_INQ does not exist: it never reports
// a drained socket.
type Reader struct{}

// Enable reports false: there is no TCP_INQ.
func (r *Reader) Enable(int) bool { return false }

// Read is read(2) on fd, retried on EINTR; left is always -1.
func (r *Reader) Read(fd int, b []byte) (n, left int, err error) {
	n, err = readFD(fd, b)
	return n, -1, err
}
