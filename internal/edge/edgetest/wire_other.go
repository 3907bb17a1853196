//go:build !linux

package edgetest

// onlyPort leaves the socket unfiltered: the reader drops the segments
// to other ports.
func onlyPort(int, uint16) error { return nil }
