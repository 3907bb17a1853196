package l4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newTestPipeChunk returns a pipeChunk whose data pipe holds p and whose
// dup pipe (made by the first Keep) will have room for dupSize bytes, and
// the data pipe's fds.
func newTestPipeChunk(t *testing.T, p []byte, dupSize int) (*pipeChunk, [2]int) {
	t.Helper()
	var data [2]int
	if err := unix.Pipe2(data[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closePipe(data) })
	pc := &pipeChunk{data: data[0], n: len(p), size: dupSize}
	pc.refs.Store(1)
	pipeSize(data[1], 1<<20)
	if n, err := unix.Write(data[1], p); n != len(p) || err != nil {
		t.Fatalf("write %d: %v", n, err)
	}
	return pc, data
}

// TestPipeChunk: kept chunks are read later, in order and whole; a full
// dup pipe keeps a prefix; a chunk released unread stops keeping; the dup
// pipe closes with the last reference.
func TestPipeChunk(t *testing.T) {
	page := unix.Getpagesize()
	p := bytes.Repeat([]byte("0123456789abcdef"), page/16*3) // Three pages.
	pc, data := newTestPipeChunk(t, p, 2*page)

	pc.n = page
	if pc.made {
		t.Fatal("dup pipe made before anything was kept")
	}
	if k := pc.Keep(pc.n); k != page {
		t.Fatalf("Keep = %d; want the chunk's %d", k, page)
	}
	if got, err := unix.FcntlInt(uintptr(pc.dup[1]), unix.F_GETPIPE_SZ, 0); err != nil || got != 2*page {
		t.Fatalf("dup pipe size %d (%v); want %d", got, err, 2*page)
	}
	// The data path forwards the chunk; what was kept stays readable.
	if _, err := unix.Read(data[0], make([]byte, page)); err != nil {
		t.Fatal(err)
	}
	pc.n = 2 * page
	if k := pc.Keep(pc.n); k != page {
		t.Fatalf("Keep with one page of room = %d; want a prefix of %d", k, page)
	}
	got := make([]byte, 2*page)
	if n := pc.Read(got[:page/2]) + pc.Read(got[page/2:]); n != 2*page || !bytes.Equal(got, p[:2*page]) {
		t.Fatalf("read %d bytes (equal %v); want the two kept pages in order", n, bytes.Equal(got, p[:2*page]))
	}
	pc.Release(0)
	pc.Release(0)

	// A limit keeps a prefix: the data pipe now starts at the second page.
	pc.n = page
	if k := pc.Keep(page / 4); k != page/4 {
		t.Fatalf("Keep(%d) = %d; want the limit", page/4, k)
	}
	if n := pc.Read(got[:page/4]); n != page/4 || !bytes.Equal(got[:page/4], p[page:page+page/4]) {
		t.Fatalf("read %d bytes (equal %v); want the kept quarter page", n, bytes.Equal(got[:page/4], p[page:page+page/4]))
	}
	pc.Release(0)

	if k := pc.Keep(pc.n); k != page {
		t.Fatalf("Keep after reads = %d; want %d", k, page)
	}
	pc.Release(page) // Queued nowhere: the pipe is out of step.
	if k := pc.Keep(pc.n); k != 0 {
		t.Errorf("Keep after a chunk was released unread = %d; want 0", k)
	}

	dup := pc.dup
	pc.unref() // The data path's reference, the last.
	if _, err := unix.FcntlInt(uintptr(dup[0]), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("dup pipe still open after the last reference (%v)", err)
	}
}

// TestCopyChunk: the userspace path's chunk keeps a copy, so its buffer
// can be reused as soon as Data returns.
func TestCopyChunk(t *testing.T) {
	buf := []byte("hello, mirror")
	if k := CopyChunk(buf).Keep(5); k != 5 {
		t.Fatalf("Keep(5) = %d; want a prefix of 5", k)
	}
	c := CopyChunk(buf)
	if k := c.Keep(len(buf)); k != len(buf) {
		t.Fatalf("Keep = %d; want %d", k, len(buf))
	}
	copy(buf, "XXXXXXXXXXXXX")
	got := make([]byte, 13)
	if n := c.Read(got[:5]) + c.Read(got[5:]); n != 13 || string(got) != "hello, mirror" {
		t.Errorf("read %q (%d); want the bytes at Keep", got, n)
	}
	c.Release(0)
}

type nopTap struct{}

func (nopTap) Data(Dir, int, Chunk) {}
func (nopTap) End(Dir)              {}
func (nopTap) Close(bool)           {}

// TestTeePipeFailureReleasesBound: a mirrored direction whose data pipe
// cannot be made (EMFILE, the exhaustion the node's pipe bound is for)
// copies through user space and holds no slot of the bound meanwhile: it
// held two for the connection's whole life, for a pipe that did not exist,
// shrinking every other connection's share.
func TestTeePipeFailureReleasesBound(t *testing.T) {
	made := newPipe
	t.Cleanup(func() { newPipe = made })
	newPipe = func(*[2]int) error { return unix.EMFILE }
	client, src := tcpPair(t)
	dst, origin := tcpPair(t)
	node := &Node{}
	node.Pipes.SetMax(8)
	c := &tcpConn{route: &Route{Proxy: &Proxy{Node: node}}, tap: nopTap{}, ctx: context.Background()}
	done := make(chan error, 1)
	go func() {
		_, err := c.copyTee(dst, src, Ingress)
		done <- err
	}()
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	_ = origin.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(origin, got); err != nil || string(got) != "hello" {
		t.Fatalf("through user space: %q, %v; want hello", got, err)
	}
	held := node.Pipes.Held()
	_ = client.CloseWrite()
	<-done
	if held != 0 {
		t.Errorf("a mirrored direction whose pipe could not be made holds %d slots of the pipe bound while it copies through user space; want 0", held)
	}
}
