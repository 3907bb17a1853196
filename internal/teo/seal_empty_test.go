package teo_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/opengaap/opengaap/internal/seal"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// TestEmptySecretIsNotASealedSecret: a record whose SecretAccessKey
// is given empty (the call's checks allow it) holds nothing sealed, so a
// data directory whose key file is missing may start with a new key: the
// record was once counted as sealed and the start refused ("restore that
// file"), as Certificate.Sealed counts only a non-empty KeySealed.
func TestEmptySecretIsNotASealedSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Name: new("cos"), Type: new("HTTP"),
		Records: []teoapi.OriginRecord{{Record: new("bucket-1250000000.cos.ap-guangzhou.myqcloud.com"), Type: new("COS"),
			Private: new(true), PrivateParameters: []teoapi.PrivateParameter{{Name: new("AccessKeyId"), Value: new("AKIDaccesskeyid")},
				{Name: new("SecretAccessKey"), Value: new("")}}}}})
	must(t, err)
	// The key file lost: a new one is fine, as nothing is sealed.
	if _, err := seal.Load(ctx, f.st, filepath.Join(t.TempDir(), "certificate-keys.key"), slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("a new key refused while no secret is sealed: %v", err)
	}
}
