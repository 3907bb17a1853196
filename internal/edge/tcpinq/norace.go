//go:build !race

package tcpinq

const raceBuild = false
