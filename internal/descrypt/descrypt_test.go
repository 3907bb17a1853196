package descrypt

import (
	"crypto/des"
	"crypto/rand"
	"encoding/binary"
	"os/exec"
	"strings"
	"testing"
)

// TestCrypt checks vectors from glibc's crypt(3) (Perl's crypt, Python's
// crypt.crypt and `openssl passwd -crypt` in OpenSSL 1.x give the same).
func TestCrypt(t *testing.T) {
	for _, tc := range []struct{ pass, salt, want string }{
		{"123456", "ab", "ab01FAX.bQRSU"}, // The GAAP reference's example password.
		{"secret", "xy", "xy/gRonXQz8UE"}, // openssl passwd -crypt -salt xy secret
		{"testtest", "es", "esDRYJnY4VaGM"},
		{"foobar", "SA", "SAEmC5UwrAl2A"},
		{"password", "JQ", "JQMuyS6H.AGMo"},
		{"", "..", "..X8NBuQ4l6uQ"},
		// Only 8 bytes count, and only their low 7 bits.
		{"password123", "JQ", "JQMuyS6H.AGMo"},
		{"p\xe1ssword", "JQ", "JQMuyS6H.AGMo"},
	} {
		got, err := Crypt(tc.pass, tc.salt)
		if err != nil || got != tc.want {
			t.Errorf("Crypt(%q, %q) = %q, %v; want %q", tc.pass, tc.salt, got, err, tc.want)
		}
		if !Verify(tc.want, tc.pass) {
			t.Errorf("Verify(%q, %q) = false", tc.want, tc.pass)
		}
		if Verify(tc.want, tc.pass+"!") && len(tc.pass) < 8 {
			t.Errorf("Verify(%q, %q) = true", tc.want, tc.pass+"!")
		}
		if Verify(tc.want, tc.want) {
			t.Errorf("Verify(%q, the hash itself) = true", tc.want)
		}
	}
}

func TestIsHash(t *testing.T) {
	for s, want := range map[string]bool{
		"ab01FAX.bQRSU":  true,
		"ab01FAX.bQRS":   false,
		"ab01FAX.bQRSUx": false,
		"ab01FAX.bQRS$":  false,
		"ab01FAX bQRSU":  false,
		"":               false,
	} {
		if IsHash(s) != want {
			t.Errorf("IsHash(%q) = %v; want %v", s, !want, want)
		}
	}
	if _, err := Crypt("x", "a"); err == nil {
		t.Error("Crypt with a 1-character salt: no error")
	}
	if _, err := Crypt("x", "a$"); err == nil {
		t.Error("Crypt with a salt outside the alphabet: no error")
	}
	if Verify("a$01FAX.bQRSU", "123456") {
		t.Error("Verify of a hash with a bad salt = true")
	}
}

// TestDESMatchesCryptoDES checks the bitwise DES against crypto/des: with the
// salt "..", which alters nothing, crypt's DES is plain DES.
func TestDESMatchesCryptoDES(t *testing.T) {
	var buf [16]byte
	for range 200 {
		_, _ = rand.Read(buf[:])
		key, block := binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
		c, err := des.NewCipher(buf[:8])
		if err != nil {
			t.Fatal(err)
		}
		var want [8]byte
		c.Encrypt(want[:], buf[8:])
		sub := subkeys(key)
		if got := encrypt(block, &sub, 0); got != binary.BigEndian.Uint64(want[:]) {
			t.Fatalf("key %x block %x: got %x; want %x", key, block, got, want)
		}
	}
}

// TestCryptMatchesPerl checks random passwords and salts against the
// system's crypt(3) through Perl.
func TestCryptMatchesPerl(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	var in, want []string
	var b [10]byte
	for range 50 {
		_, _ = rand.Read(b[:])
		pass := make([]byte, int(b[0])%12)
		for i := range pass {
			pass[i] = alphabet[int(b[(i+1)%len(b)]+byte(i))%64]
		}
		salt := string([]byte{alphabet[b[1]%64], alphabet[b[2]%64]})
		in = append(in, string(pass)+" "+salt)
	}
	cmd := exec.Command("perl", "-ne", `chomp; my ($p, $s) = split / /, $_, -1; print crypt($p, $s), "\n"`)
	cmd.Stdin = strings.NewReader(strings.Join(in, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("perl: %v", err)
	}
	want = strings.Fields(string(out))
	if len(want) != len(in) {
		t.Fatalf("perl gave %d hashes for %d inputs", len(want), len(in))
	}
	for i, l := range in {
		pass, salt, _ := strings.Cut(l, " ")
		if got, _ := Crypt(pass, salt); got != want[i] {
			t.Errorf("Crypt(%q, %q) = %q; crypt(3) says %q", pass, salt, got, want[i])
		}
	}
}
