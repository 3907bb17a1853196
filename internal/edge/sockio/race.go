//go:build race

package sockio

// raceBuild: the race detector takes a read(2) of data as synchronising
// with the write(2) that sent it (package syscall annotates both), not a
// recvmsg(2); in-process peers of a raw reader would look racy.
const raceBuild = true
