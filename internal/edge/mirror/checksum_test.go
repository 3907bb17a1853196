package mirror

import (
	"bytes"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestSumMatchesGopacket compares the word-wise sum with gopacket's
// byte-wise one on every length up to 3000, random and all-ones data (the
// carry-heavy case).
func TestSumMatchesGopacket(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 3000 {
		for _, fillByte := range []int{-1, 0xff} {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(fillByte)
				if fillByte < 0 {
					b[i] = byte(r.Uint32())
				}
			}
			init := r.Uint32() & 0xfffff
			want := gopacket.FoldChecksum(gopacket.ComputeChecksum(b, init))
			if got := fold(sum(b, uint64(init))); got != want {
				t.Fatalf("len %d: %#04x; want %#04x", n, got, want)
			}
		}
	}
}

// TestFillChecksumsMatchesGopacket: a frame serialized without checksums
// and completed by fillChecksums equals gopacket's own checksummed frame,
// for TCP and UDP, including short frames that carry Ethernet padding.
func TestFillChecksumsMatchesGopacket(t *testing.T) {
	for _, proto := range []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP} {
		for _, n := range []int{0, 1, 5, 14, 801, 1400} {
			frame := func(opts gopacket.SerializeOptions) []byte {
				ip := layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, Id: 7, Protocol: proto,
					SrcIP: net.IP{198, 51, 100, 9}, DstIP: net.IP{203, 0, 113, 1}}
				var l4 gopacket.SerializableLayer
				if proto == layers.IPProtocolTCP {
					tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 0xfffffff0, Ack: 999, Window: 65535, ACK: true, PSH: true}
					_ = tcp.SetNetworkLayerForChecksum(&ip)
					l4 = tcp
				} else {
					udp := &layers.UDP{SrcPort: 40000, DstPort: 53}
					_ = udp.SetNetworkLayerForChecksum(&ip)
					l4 = udp
				}
				p := make([]byte, n)
				for i := range p {
					p[i] = byte(0xff - i)
				}
				buf := gopacket.NewSerializeBuffer()
				err := gopacket.SerializeLayers(buf, opts, &layers.VXLAN{ValidIDFlag: true, VNI: 1},
					&layers.Ethernet{EthernetType: layers.EthernetTypeIPv4, SrcMAC: clientMAC, DstMAC: proxyMAC}, &ip, l4, gopacket.Payload(p))
				if err != nil {
					t.Fatal(err)
				}
				return buf.Bytes()
			}
			want := frame(gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true})
			got := frame(gopacket.SerializeOptions{FixLengths: true})
			fillChecksums(got, byte(proto))
			if !bytes.Equal(got, want) {
				t.Errorf("%v with %d payload bytes: frame differs from gopacket's", proto, n)
			}
		}
	}
}
