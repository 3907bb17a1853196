package l7

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/apr1_crypt" // $apr1$: Apache htpasswd's default.
	_ "github.com/GehirnInc/crypt/md5_crypt"  // $1$
	_ "github.com/GehirnInc/crypt/sha256_crypt"
	_ "github.com/GehirnInc/crypt/sha512_crypt"
	"golang.org/x/crypto/bcrypt"

	"github.com/opengaap/opengaap/internal/descrypt"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// basicAuth checks HTTP basic credentials against htpasswd-style lines.
// Hash formats are those of Apache htpasswd and nginx's auth_basic_user_file:
// bcrypt ($2a$, $2b$, $2y$), Apache MD5 ($apr1$, htpasswd's default),
// crypt(3) MD5, SHA-256 and SHA-512 ($1$, $5$, $6$), traditional DES crypt
// (13 characters of ./0-9A-Za-z: openssl passwd -crypt, the GAAP reference's
// example, and htpasswd -d), {SHA} + base64(SHA-1) (htpasswd -s), and
// otherwise the text itself as a plain password (the GAAP reference's
// example "root:FSGdT" is no known crypt format).
type basicAuth struct {
	users map[string]string // user → hash

	// ok caches verified credentials (user → SHA-256 of user:password),
	// because a bcrypt comparison costs tens of milliseconds and browsers
	// send the credentials on every request.
	mu sync.Mutex
	ok map[string][sha256.Size]byte
}

// maxAuthCache bounds the cache; past it, entries are dropped wholesale.
const maxAuthCache = 1024

// maxCryptPassword is the longest password checked against a crypt(3)
// scheme's hash, as libxcrypt's crypt (CRYPT_MAX_PASSPHRASE_SIZE), and so
// nginx on most Linux systems, refuses longer ones; see
// snapshot.MaxCryptRounds.
const maxCryptPassword = 512

func newBasicAuth(lines []string) *basicAuth {
	if len(lines) == 0 {
		return nil
	}
	a := &basicAuth{users: map[string]string{}, ok: map[string][sha256.Size]byte{}}
	for _, l := range lines {
		// The first line for a user wins, as nginx and Apache's
		// mod_authn_file stop at the first line naming the user.
		u, h, ok := snapshot.UserEntry(strings.TrimSpace(l))
		if _, seen := a.users[u]; ok && !seen {
			a.users[u] = h
			if snapshot.HashTooCostly(h) { // Stored before the API refused it.
				slog.Warn("basic auth: the user's hash costs more than the bounds, so the user never matches",
					"user", u, "max_bcrypt_cost", snapshot.MaxBcryptCost, "max_crypt_rounds", snapshot.MaxCryptRounds)
			}
		}
	}
	return a
}

// hashSlots bounds the costly hash checks (bcrypt, SHA-crypt: up to a few
// hundred milliseconds each) running at once across the node to one per
// CPU: failures are not cached, so a flood of wrong passwords on one
// domain would otherwise hold every core and starve all other traffic.
var hashSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// costly reports whether checking hash takes a slot of hashSlots.
func costly(hash string) bool {
	for _, p := range [...]string{"$2a$", "$2b$", "$2y$", "$5$", "$6$"} {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}

// allow reports whether r carries valid credentials.
func (a *basicAuth) allow(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hash, known := a.users[user]
	if !known {
		return false
	}
	sum := sha256.Sum256([]byte(user + ":" + pass))
	a.mu.Lock()
	cached, hit := a.ok[user]
	a.mu.Unlock()
	if hit && cached == sum {
		return true
	}
	if costly(hash) {
		select {
		case hashSlots <- struct{}{}:
			defer func() { <-hashSlots }()
		case <-r.Context().Done():
			return false // The client left while queued.
		}
	}
	if !checkHash(hash, pass) {
		return false
	}
	a.mu.Lock()
	if len(a.ok) >= maxAuthCache {
		clear(a.ok)
	}
	a.ok[user] = sum
	a.mu.Unlock()
	return true
}

// checkHash checks pass against an htpasswd entry's hash: bcrypt, the
// crypt(3) schemes imported above, DES crypt, RFC 2307 {SHA}, {SSHA} and
// {PLAIN} (nginx's set), or else a plain password. A hash in a scheme it
// does not know ("{SMD5}", "$argon2id$", ...) matches nothing: taken as a plain
// password, it would let in whoever has seen the hash, and not the user.
// Nor does a hash whose cost is above snapshot.HashTooCostly's bounds: it
// is not computed.
func checkHash(hash, pass string) bool {
	switch {
	case snapshot.HashTooCostly(hash):
		return false
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(pass))
		want := base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(hash[len("{SHA}"):]), []byte(want)) == 1
	case strings.HasPrefix(hash, "{SSHA}"): // base64(SHA-1(pass + salt) + salt)
		raw, err := base64.StdEncoding.DecodeString(hash[len("{SSHA}"):])
		if err != nil || len(raw) <= sha1.Size {
			return false
		}
		sum := sha1.Sum(append([]byte(pass), raw[sha1.Size:]...))
		return subtle.ConstantTimeCompare(raw[:sha1.Size], sum[:]) == 1
	case strings.HasPrefix(hash, "{PLAIN}"):
		return subtle.ConstantTimeCompare([]byte(hash[len("{PLAIN}"):]), []byte(pass)) == 1
	case crypt.IsHashSupported(hash): // The $apr1$, $1$, $5$ and $6$ imported above.
		// Each round hashes the password: a 64 KiB one would make even a
		// default 5000-round SHA-crypt check cost seconds.
		return len(pass) <= maxCryptPassword && crypt.NewFromHash(hash).Verify(hash, []byte(pass)) == nil
	case descrypt.IsHash(hash): // What crypt(3), so nginx, reads as DES crypt.
		return descrypt.Verify(hash, pass)
	case strings.HasPrefix(hash, "{") && strings.Contains(hash, "}"),
		strings.HasPrefix(hash, "$") && strings.Count(hash, "$") >= 2:
		return false // A scheme this does not know.
	}
	return subtle.ConstantTimeCompare([]byte(hash), []byte(pass)) == 1
}

// challenge answers a request without valid credentials.
func challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="restricted", charset="UTF-8"`)
}
