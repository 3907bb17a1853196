//go:build !linux

package udpbatch

func Supported() bool           { return false }
func putGSO(b []byte, seg int)  {}
func gsoErr(error) (bool, bool) { return false, false }
func SegmentSize([]byte) int    { return 0 }

var gsoOOBLen = 0
