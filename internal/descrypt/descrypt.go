// Package descrypt implements traditional DES-based crypt(3), the 13-character
// password hash of `openssl passwd -crypt`, `htpasswd -d` and glibc's crypt
// with a two-character salt, which nginx's auth_basic accepts.
//
// The algorithm (Seventh Edition Unix): the first 8 bytes of the password,
// each shifted left by one bit, form a DES key; the 12-bit salt swaps bits i
// and i+24 of DES's expansion E wherever salt bit i is set; a zero block is
// encrypted 25 times; the 64-bit result, padded to 66 bits, is written as
// 11 characters of the alphabet ./0-9A-Za-z after the salt.
//
// No Go module that is maintained implements it (github.com/GehirnInc/crypt,
// github.com/go-crypt/crypt and github.com/tredoe/osutil have only the $…$
// schemes), and crypto/des cannot take the salted expansion, so the DES here
// is a plain bitwise rendering of FIPS 46-3 (checked against crypto/des in
// the tests). A check costs tens of microseconds.
package descrypt

import (
	"crypto/subtle"
	"errors"
)

// alphabet is crypt(3)'s base-64 alphabet, in value order.
const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// HashLen is the length of a DES crypt hash: 2 salt characters and 11 for
// the 64-bit result.
const HashLen = 13

// value returns c's 6-bit value in the alphabet, or -1.
func value(c byte) int {
	switch {
	case c >= '.' && c <= '9':
		return int(c - '.')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 12
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 38
	}
	return -1
}

// IsHash reports whether s has the form of a DES crypt hash: 13 characters
// of the alphabet ./0-9A-Za-z.
func IsHash(s string) bool {
	if len(s) != HashLen {
		return false
	}
	for i := range len(s) {
		if value(s[i]) < 0 {
			return false
		}
	}
	return true
}

// Verify reports, in constant time once the hash is computed, whether
// password hashes to hash. A hash that IsHash refuses matches nothing.
func Verify(hash, password string) bool {
	if !IsHash(hash) {
		return false
	}
	got, err := Crypt(password, hash[:2])
	return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}

// Crypt returns the DES crypt hash of password with the salt's first two
// characters, as crypt(3) does. Only the first 8 bytes of the password
// count, and of each only its low 7 bits.
func Crypt(password, salt string) (string, error) {
	if len(salt) < 2 || value(salt[0]) < 0 || value(salt[1]) < 0 {
		return "", errors.New("descrypt: the salt must be two characters of ./0-9A-Za-z")
	}
	var key uint64
	for i := range 8 {
		key <<= 8
		if i < len(password) {
			key |= uint64(password[i]<<1) & 0xff
		}
	}
	saltBits := uint32(value(salt[0]) | value(salt[1])<<6)
	sub := subkeys(key)
	var block uint64
	for range 25 {
		block = encrypt(block, &sub, saltBits)
	}
	out := make([]byte, HashLen)
	out[0], out[1] = salt[0], salt[1]
	for i := range 10 { // Bits 6i+1..6i+6, most significant first.
		out[2+i] = alphabet[block>>(58-6*i)&0x3f]
	}
	out[12] = alphabet[block&0xf<<2] // The last 4 bits, then 2 zero bits.
	return string(out), nil
}

// The tables of FIPS 46-3, numbering bits from 1 at the most significant.
var (
	ip = [64]uint8{
		58, 50, 42, 34, 26, 18, 10, 2,
		60, 52, 44, 36, 28, 20, 12, 4,
		62, 54, 46, 38, 30, 22, 14, 6,
		64, 56, 48, 40, 32, 24, 16, 8,
		57, 49, 41, 33, 25, 17, 9, 1,
		59, 51, 43, 35, 27, 19, 11, 3,
		61, 53, 45, 37, 29, 21, 13, 5,
		63, 55, 47, 39, 31, 23, 15, 7,
	}
	expansion = [48]uint8{
		32, 1, 2, 3, 4, 5,
		4, 5, 6, 7, 8, 9,
		8, 9, 10, 11, 12, 13,
		12, 13, 14, 15, 16, 17,
		16, 17, 18, 19, 20, 21,
		20, 21, 22, 23, 24, 25,
		24, 25, 26, 27, 28, 29,
		28, 29, 30, 31, 32, 1,
	}
	pbox = [32]uint8{
		16, 7, 20, 21, 29, 12, 28, 17,
		1, 15, 23, 26, 5, 18, 31, 10,
		2, 8, 24, 14, 32, 27, 3, 9,
		19, 13, 30, 6, 22, 11, 4, 25,
	}
	pc1 = [56]uint8{
		57, 49, 41, 33, 25, 17, 9,
		1, 58, 50, 42, 34, 26, 18,
		10, 2, 59, 51, 43, 35, 27,
		19, 11, 3, 60, 52, 44, 36,
		63, 55, 47, 39, 31, 23, 15,
		7, 62, 54, 46, 38, 30, 22,
		14, 6, 61, 53, 45, 37, 29,
		21, 13, 5, 28, 20, 12, 4,
	}
	pc2 = [48]uint8{
		14, 17, 11, 24, 1, 5,
		3, 28, 15, 6, 21, 10,
		23, 19, 12, 4, 26, 8,
		16, 7, 27, 20, 13, 2,
		41, 52, 31, 37, 47, 55,
		30, 40, 51, 45, 33, 48,
		44, 49, 39, 56, 34, 53,
		46, 42, 50, 36, 29, 32,
	}
	rotations = [16]uint8{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}
	sboxes    = [8][64]uint8{
		{
			14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
			0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
			4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
			15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
		},
		{
			15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
			3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
			0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
			13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
		},
		{
			10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
			13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
			13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
			1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
		},
		{
			7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
			13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
			10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
			3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
		},
		{
			2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
			14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
			4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
			11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
		},
		{
			12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
			10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
			9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
			4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
		},
		{
			4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
			13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
			1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
			6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
		},
		{
			13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
			1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
			7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
			2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
		},
	}
	// fp is IP's inverse.
	fp = func() (t [64]uint8) {
		for i, v := range ip {
			t[v-1] = uint8(i + 1)
		}
		return t
	}()
)

// permute returns the bits of in (width bits wide) that table names, in
// table's order.
func permute(in uint64, width uint, table []uint8) uint64 {
	var out uint64
	for _, b := range table {
		out = out<<1 | in>>(width-uint(b))&1
	}
	return out
}

// subkeys returns DES's 16 48-bit round keys for key.
func subkeys(key uint64) (sub [16]uint64) {
	cd := permute(key, 64, pc1[:])
	c, d := uint32(cd>>28), uint32(cd&0xfffffff)
	for i, r := range rotations {
		c = (c<<r | c>>(28-r)) & 0xfffffff
		d = (d<<r | d>>(28-r)) & 0xfffffff
		sub[i] = permute(uint64(c)<<28|uint64(d), 56, pc2[:])
	}
	return sub
}

// encrypt enciphers block with DES whose expansion the salt alters:
// wherever salt bit i (least significant first) is set, bits i+1 and i+25
// of E's output (FIPS numbering) trade places.
func encrypt(block uint64, sub *[16]uint64, salt uint32) uint64 {
	lr := permute(block, 64, ip[:])
	l, r := uint32(lr>>32), uint32(lr)
	for _, k := range sub {
		e := permute(uint64(r), 32, expansion[:])
		for i := range 12 {
			if salt>>i&1 == 0 {
				continue
			}
			hi, lo := uint(47-i), uint(47-i-24)
			if (e>>hi)&1 != (e>>lo)&1 {
				e ^= 1<<hi | 1<<lo
			}
		}
		e ^= k
		var s uint64
		for j := range 8 {
			six := e >> (42 - 6*j) & 0x3f
			row := six>>4&2 | six&1
			col := six >> 1 & 0xf
			s = s<<4 | uint64(sboxes[j][row*16+col])
		}
		l, r = r, l^uint32(permute(s, 32, pbox[:]))
	}
	return permute(uint64(r)<<32|uint64(l), 64, fp[:])
}
