//go:build !linux

package mirror

import "net/netip"

func pathMTU(netip.AddrPort) (int, bool) { return 0, false }
