package cloudapi

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"sync"

	"github.com/opengaap/opengaap/internal/jsonstrict"
)

// Account is a Tencent Cloud account as the API sees it: a key pair and the
// identifiers resources are owned by.
type Account struct {
	SecretID  string `json:"SecretId"`
	SecretKey string `json:"SecretKey"`
	AppID     int64  `json:"AppId"`
	Uin       string `json:"Uin"`
	// AccessIPQuota caps the access IPs (GAAP and EdgeOne L4 proxies)
	// the account's Uin may hold at once, so that one tenant cannot take
	// the whole --vip-pool from the others: 0 means the pool's default
	// share (vip.Pool.DefaultQuota), NoQuota no cap (the root account's
	// default).
	AccessIPQuota int `json:"AccessIPQuota,omitempty"`
}

// NoQuota is the AccessIPQuota of an account without a cap.
const NoQuota = -1

// Accounts is the set of known keys. It is safe for concurrent use.
type Accounts struct {
	mu   sync.RWMutex
	byID map[string]*Account
}

// secretIDPattern is the shape of a cloud API key id; anything else is not a
// key at all (AuthFailure.InvalidSecretId) rather than an unknown one.
var secretIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,128}$`)

// NewAccounts returns a registry holding accts.
func NewAccounts(accts ...Account) (*Accounts, error) {
	a := &Accounts{byID: map[string]*Account{}}
	for _, acct := range accts {
		if err := a.Add(acct); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// uinPattern is a Tencent Cloud account number. Uins name what accounts
// own in the store and in tag resource names ("uin/<Uin>:..."): one with
// a NUL, a "/" or over the store's key length broke every write of the
// account, blamed on the caller's parameters.
var uinPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

// Check reports what Add refuses in acct on its own (a duplicate aside):
// a malformed SecretId or Uin, a missing SecretKey, a negative quota.
func (acct Account) Check() error {
	if !secretIDPattern.MatchString(acct.SecretID) || acct.SecretKey == "" || acct.Uin == "" {
		return fmt.Errorf("account %q: SecretId (8-128 of A-Z a-z 0-9 _ -), SecretKey and Uin are required", acct.SecretID)
	}
	if !uinPattern.MatchString(acct.Uin) {
		return fmt.Errorf("account %q: Uin %q is not an account number (1-20 decimal digits)", acct.SecretID, acct.Uin)
	}
	if acct.AccessIPQuota < NoQuota {
		return fmt.Errorf("account %q: AccessIPQuota %d: give a count of addresses, 0 for the default or %d for no cap", acct.SecretID, acct.AccessIPQuota, NoQuota)
	}
	return nil
}

// Add registers an account; ids must be well formed and unique, and the
// keys of one Uin agree on its AppId and AccessIPQuota, which are the
// account's: the quota is checked against what the whole Uin holds, so a
// key with a larger one would get past the cap another key sets.
func (a *Accounts) Add(acct Account) error {
	if err := acct.Check(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.byID[acct.SecretID]; dup {
		return fmt.Errorf("account %q is defined twice", acct.SecretID)
	}
	for _, o := range a.byID {
		if o.Uin == acct.Uin && (o.AppID != acct.AppID || o.AccessIPQuota != acct.AccessIPQuota) {
			return fmt.Errorf("accounts %q and %q are keys of Uin %s with different AppId (%d, %d) or AccessIPQuota (%d, %d); "+
				"the keys of one Uin must agree", o.SecretID, acct.SecretID, acct.Uin, o.AppID, acct.AppID, o.AccessIPQuota, acct.AccessIPQuota)
		}
	}
	a.byID[acct.SecretID] = &acct
	return nil
}

// Lookup finds the account owning secretID.
func (a *Accounts) Lookup(secretID string) (*Account, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	acct, ok := a.byID[secretID]
	return acct, ok
}

// LoadAccountsFile reads extra accounts from a JSON array of
// {"SecretId","SecretKey","AppId","Uin","AccessIPQuota"} objects and checks them as
// NewAccounts does, so serve refuses a bad file before it writes anything.
func LoadAccountsFile(path string) ([]Account, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var accts []Account
	// A mistyped AccessIPQuota, or a "Disabled" this file has not, must
	// not be dropped silently.
	if err := jsonstrict.Decode(bytes.NewReader(b), &accts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := NewAccounts(accts...); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return accts, nil
}
