// Package v20180724 stands in for the monitor SDK of the version the provider
// requires, which the Go module proxy reachable here does not serve (see
// ../../../README.md). The provider's connectivity package only constructs a
// client; nothing in this check sends a request through it.
package v20180724

import (
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// Client is a client without actions.
type Client struct {
	common.Client
}

// NewClient returns a client; it never sends a request.
func NewClient(credential common.CredentialIface, region string, clientProfile *profile.ClientProfile) (client *Client, err error) {
	client = &Client{}
	client.Init(region).WithCredential(credential).WithProfile(clientProfile)
	return
}
