//go:build !linux

package l4

func gsoSupported() bool        { return false }
func putGSO(b []byte, seg int)  {}
func gsoErr(error) (bool, bool) { return false, false }

var gsoOOBLen = 0
