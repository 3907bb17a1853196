//go:build !linux

package l4

// inqReader is plain read(2) where TCP_INQ does not exist.
type inqReader struct{ on, tried bool }

func (r *inqReader) enable(int) { r.tried = true }

func (r *inqReader) read(fd int, b []byte) (int, int, error) {
	n, err := readFD(fd, b)
	return n, -1, err
}
