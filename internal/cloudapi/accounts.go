package cloudapi

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sync"
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

// Check reports what Add refuses in acct on its own (a duplicate aside):
// a malformed SecretId, a missing SecretKey or Uin, a negative quota.
func (acct Account) Check() error {
	if !secretIDPattern.MatchString(acct.SecretID) || acct.SecretKey == "" || acct.Uin == "" {
		return fmt.Errorf("account %q: SecretId (8-128 of A-Z a-z 0-9 _ -), SecretKey and Uin are required", acct.SecretID)
	}
	if acct.AccessIPQuota < NoQuota {
		return fmt.Errorf("account %q: AccessIPQuota %d: give a count of addresses, 0 for the default or %d for no cap", acct.SecretID, acct.AccessIPQuota, NoQuota)
	}
	return nil
}

// Add registers an account; ids must be well formed and unique.
func (a *Accounts) Add(acct Account) error {
	if err := acct.Check(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.byID[acct.SecretID]; dup {
		return fmt.Errorf("account %q is defined twice", acct.SecretID)
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
	if err := json.Unmarshal(b, &accts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := NewAccounts(accts...); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return accts, nil
}
