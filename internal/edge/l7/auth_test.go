package l7

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/GehirnInc/crypt"
	"golang.org/x/crypto/bcrypt"

	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestCheckHash(t *testing.T) {
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	y := "$2y$" + string(bc[4:]) // htpasswd -B spelling.
	for _, tc := range []struct {
		name, hash, pass string
		want             bool
	}{
		{"bcrypt", string(bc), "pw", true},
		{"bcrypt wrong", string(bc), "px", false},
		{"bcrypt 2y", y, "pw", true},
		{"sha", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password", true},
		{"sha wrong", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "Password", false},
		{"plain", "FSGdT", "FSGdT", true},
		// {SSHA} of "secret" with salt "salt1234"; {PLAIN}; unknown schemes match nothing, not even themselves.
		{"ssha", "{SSHA}Wcm1xEisNjqp921ALcHfuQ7avFdzYWx0MTIzNA==", "secret", true},
		{"ssha wrong", "{SSHA}Wcm1xEisNjqp921ALcHfuQ7avFdzYWx0MTIzNA==", "Secret", false},
		{"ssha as text", "{SSHA}Wcm1xEisNjqp921ALcHfuQ7avFdzYWx0MTIzNA==", "{SSHA}Wcm1xEisNjqp921ALcHfuQ7avFdzYWx0MTIzNA==", false},
		{"plain scheme", "{PLAIN}secret", "secret", true},
		{"unknown scheme", "{SMD5}abcdef", "{SMD5}abcdef", false},
		{"argon2", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", false},
		// openssl passwd -apr1 / -1 / -5 / -6 -salt saltsalt 'pa:ss wörd'.
		{"apr1", "$apr1$saltsalt$57M75mtJHnRrcuily51CO0", "pa:ss wörd", true},
		{"apr1 wrong", "$apr1$saltsalt$57M75mtJHnRrcuily51CO0", "pa:ss word", false},
		{"apr1 empty password", "$apr1$Zx.9/ab$fIPtz2QHJMifx4zRo7Cm20", "", true},
		{"md5-crypt", "$1$saltsalt$u8S/zMcc69bB5O/reTbvT/", "pa:ss wörd", true},
		{"sha256-crypt", "$5$saltsalt$f3/UQ15npnSs4Vv7.Xos27TA1i1CpdMGT34D5fPQuj5", "pa:ss wörd", true},
		{"sha256-crypt wrong", "$5$saltsalt$f3/UQ15npnSs4Vv7.Xos27TA1i1CpdMGT34D5fPQuj5", "pa:ss wörd ", false},
		{"sha512-crypt", "$6$saltsalt$C4RIzsZQIZD5.VEF3opYL3gpxyszQ5ZhzXA6QVzJgu5AFkGPMkRyVj.ao7MicoMK9iVtJ6ezaZhxMP8Sj1Ymr0", "pa:ss wörd", true},
		// openssl passwd -6 -salt saltstringsaltstringX: salts stop at 16 characters.
		{"sha512-crypt long salt", "$6$saltstringsaltst$e.3mR68CqZEpesEX1HlFZT6sEanSOjM/b5UoDyDo00a8syek2cJldMjrbtKP86.FJvzluVR7nc3DNzelAwTxj.", "Hello world!", true},
		// The SHA-crypt specification's examples (explicit rounds).
		{"sha256-crypt rounds", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!", true},
		{"sha512-crypt rounds", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!", true},
		// DES crypt (openssl passwd -crypt -salt xy secret); 13 characters of
		// ./0-9A-Za-z are a DES hash, as crypt(3) reads them, never plain text:
		// such a plain password needs {PLAIN}.
		{"des-crypt", "xy/gRonXQz8UE", "secret", true},
		{"des-crypt wrong", "xy/gRonXQz8UE", "Secret", false},
		{"des-crypt as text", "MyPassword123", "MyPassword123", false},
		{"des-crypt plain scheme", "{PLAIN}MyPassword123", "MyPassword123", true},
		{"plain 12 characters", "MyPassword12", "MyPassword12", true},
		// Malformed crypt strings fail, never match as text, never panic.
		{"apr1 truncated", "$apr1$x$y", "$apr1$x$y", false},
		{"sha512-crypt bad rounds", "$6$rounds=x$salt$hash", "$6$rounds=x$salt$hash", false},
		{"sha256-crypt no hash", "$5$", "$5$", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkHash(tc.hash, tc.pass); got != tc.want {
				t.Errorf("checkHash(%q, %q) = %v; want %v", tc.hash, tc.pass, got, tc.want)
			}
		})
	}
}

// TestCheckHashDESCrypt: the reference's example for basic auth is
// "openssl passwd -crypt 123456", traditional DES crypt(3), which htpasswd -d
// makes and nginx accepts. crypt("123456", "ab") = "ab01FAX.bQRSU" (glibc,
// Perl and Python agree). The hash, which DescribeCertificateDetail shows,
// must not work as the password.
func TestCheckHashDESCrypt(t *testing.T) {
	const hash = "ab01FAX.bQRSU"
	if !checkHash(hash, "123456") {
		t.Errorf("checkHash(%q, %q) = false; want true (DES crypt of the reference's example)", hash, "123456")
	}
	if checkHash(hash, hash) {
		t.Errorf("checkHash(%q, the hash itself) = true; want false (the hash must not work as a password)", hash)
	}
}

// TestCheckHashOpenSSL checks hashes that the reference tool makes now,
// from random salts and passwords.
func TestCheckHashOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	for _, alg := range []string{"-apr1", "-1", "-5", "-6"} {
		t.Run(alg, func(t *testing.T) {
			buf := make([]byte, 12)
			_, _ = rand.Read(buf)
			pass := base64.StdEncoding.EncodeToString(buf) + " :é"
			cmd := exec.Command("openssl", "passwd", alg, "-stdin")
			cmd.Stdin = strings.NewReader(pass + "\n")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl passwd %s: %v", alg, err)
			}
			hash := strings.TrimSpace(string(out))
			if !checkHash(hash, pass) {
				t.Errorf("checkHash(%q, %q) = false; want true", hash, pass)
			}
			if checkHash(hash, pass+"x") {
				t.Errorf("checkHash(%q, wrong password) = true", hash)
			}
		})
	}
}

// TestBasicAuthCommentField: nginx's auth_basic_user_file format, which
// docs/dataplane-l7.md says the user list follows, is
// "name:password:comment": the password ends at the next ':' and a third
// field is a comment. CreateCertificate (type 0) accepts such lines, so the
// edge compares the password with the hash alone, not "hash:comment".
func TestBasicAuthCommentField(t *testing.T) {
	for _, tc := range []struct{ line, pass string }{
		{"alice:{PLAIN}secret:AliceExample", "secret"},
		{"alice:$apr1$saltsalt$57M75mtJHnRrcuily51CO0:ops-team", "pa:ss wörd"},
		{"alice:{PLAIN}secret:", "secret"},
	} {
		a := newBasicAuth([]string{tc.line})
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth("alice", tc.pass)
		if !a.allow(r) {
			t.Errorf("user-list line %q: alice with the right password refused; nginx reads the third field as a comment", tc.line)
		}
	}
	a := newBasicAuth([]string{"alice:{PLAIN}secret:ops"})
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("alice", "secret:ops")
	if a.allow(r) {
		t.Error(`line "alice:{PLAIN}secret:ops": alice let in with password "secret:ops"; the comment is no part of it`)
	}
	// A '#' line is a comment, as nginx skips it: it names no user.
	a = newBasicAuth([]string{"#bob:{PLAIN}secret", "alice:{PLAIN}secret"})
	r.SetBasicAuth("#bob", "secret")
	if a.allow(r) {
		t.Error(`line "#bob:{PLAIN}secret": user "#bob" let in; a line starting with '#' is a comment`)
	}
}

// TestBasicAuthDuplicateUserFirstWins: when a user list names a user
// twice, nginx (auth_basic_user_file) and Apache (mod_authn_file) check
// the password against the first line for that user, so the edge does.
func TestBasicAuthDuplicateUserFirstWins(t *testing.T) {
	a := newBasicAuth([]string{"alice:{PLAIN}first", "alice:{PLAIN}second"})
	for pass, want := range map[string]bool{"first": true, "second": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth("alice", pass)
		if got := a.allow(r); got != want {
			t.Errorf("alice with password %q: allowed %v; want %v (first line for a user wins, as in nginx and Apache)", pass, got, want)
		}
	}
}

// TestBasicAuthHashCostBounded: a basic-auth user list is tenant input
// (CreateCertificate type 0), and the edge checks each hash with the cost
// written in it, failures uncached. A list stored before the API bounded
// costs (bcrypt 31: days of CPU; SHA-crypt rounds=999999999: minutes) must
// not make one request with a wrong password pin a core: such a hash
// never matches and is not computed.
func TestBasicAuthHashCostBounded(t *testing.T) {
	low, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost) // "$2a$04$..."
	for _, huge := range []string{
		string(low[:4]) + "31" + string(low[6:]), // Same hash, cost 31.
		"$6$rounds=999999999$salt$6RyvVaPFXHtD4Mvu9M1.HGwTBbsQZ9Ukr5t3G7TOCvSSZsHn2syKZ4dRQ5QKpEhd7CPdhIHNDZkkcKsxTnpKx.",
	} {
		a := newBasicAuth([]string{"root:" + huge})
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth("root", "wrong")
		done := make(chan bool, 1)
		start := time.Now()
		go func() { done <- a.allow(r) }()
		select {
		case ok := <-done:
			if ok {
				t.Errorf("hash %q: a wrong password let in", huge)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("one request with a wrong password to a user whose hash is %q is still being checked after %v", huge, time.Since(start).Round(time.Second))
		}
	}
}

// TestCheckHashLongPassword: each SHA-crypt round hashes the password, so
// a 64 KiB one (what a request header can hold) makes even a default
// 5000-round check cost seconds. Passwords longer than libxcrypt checks
// (512 bytes) never match a crypt(3) scheme's hash.
func TestCheckHashLongPassword(t *testing.T) {
	for n, want := range map[int]bool{512: true, 513: false} {
		pass := strings.Repeat("p", n)
		hash, err := crypt.SHA512.New().Generate([]byte(pass), []byte("$6$saltsalt$"))
		if err != nil {
			t.Fatal(err)
		}
		if got := checkHash(hash, pass); got != want {
			t.Errorf("SHA-512 crypt, right password of %d bytes: match %v; want %v", n, got, want)
		}
	}
}

// TestBasicAuthCostlyChecksQueued: costly checks (bcrypt, SHA-crypt) run
// at most one per CPU at a time; one queued behind them gives up when its
// client leaves rather than computing the hash for nobody.
func TestBasicAuthCostlyChecksQueued(t *testing.T) {
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	defer func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	}()
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	a := newBasicAuth([]string{"root:" + string(bc), "cheap:{PLAIN}pw"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	r.SetBasicAuth("root", "pw")
	if a.allow(r) {
		t.Error("a bcrypt check ran while every slot was taken; want it queued until the client left")
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("cheap", "pw")
	if !a.allow(r) {
		t.Error("a {PLAIN} check waited for a slot; only costly schemes take one")
	}
}

// FuzzCheckHash: no user-list entry (tenant input, through the API) makes
// the password check panic. Costly checks within the bounds are skipped
// (bcrypt 12 takes a few hundred milliseconds, SHA-crypt milliseconds per
// 100 password bytes, and Go fuzzing has no per-input timeout); hashes
// above the bounds are kept: they must return at once
// (TestBasicAuthHashCostBounded).
func FuzzCheckHash(f *testing.F) {
	for _, h := range []string{"FSGdT", "$apr1$abc$def", "$1$salt$hash", "$5$rounds=1000$salt$h", "$6$salt$h",
		"$2a$04$abcdefghijklmnopqrstuu", "$2a$31$abcdefghijklmnopqrstuu", "$6$rounds=999999999$salt$h",
		"{SHA}x", "{SSHA}eA==", "{PLAIN}p", "abcdefghijklm", "$argon2id$x", "u:$apr1$abc$def"} {
		f.Add(h, "p")
	}
	slow := func(h, pass string) bool {
		return !snapshot.HashTooCostly(h) && (strings.HasPrefix(h, "$2") || strings.Contains(h, "rounds=") ||
			crypt.IsHashSupported(h) && len(pass) > 16) // Rounds × password length.
	}
	f.Fuzz(func(t *testing.T, hash, pass string) {
		if !slow(hash, pass) {
			checkHash(hash, pass)
		}
		if u, h, ok := snapshot.UserEntry(hash); ok && !slow(h, u) {
			checkHash(h, u)
		}
	})
}
